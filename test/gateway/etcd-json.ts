// Test-side readers of etcd's response JSON into the API's types: the inverse of the gateway's encoders, used to
// check that decoding what the real etcd wrote and encoding it again gives back exactly its bytes. Every reader
// refuses a field it does not know, so a field etcd writes and the encoder ignores cannot slip through.
import type {
  DeleteRangeResponse,
  Event,
  KeyValue,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseTimeToLiveResponse,
  Member,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  ResponseOp,
  StatusResponse,
  TxnResponse,
  WatchResponse,
} from '../../actors/api/types.js';
import type { AlarmResponse, HashResponse, MemberAddResponse, SnapshotResponse } from '../../actors/gateway/api.js';

type Json = Record<string, unknown>;

export class UnknownFieldError extends Error {
  override name = 'UnknownFieldError';
}

function known(obj: Json, fields: readonly string[]): Json {
  for (const k of Object.keys(obj)) if (!fields.includes(k)) throw new UnknownFieldError(`unexpected field ${k} in ${JSON.stringify(obj).slice(0, 200)}`);
  return obj;
}

const int = (v: unknown): number => (v === undefined ? 0 : Number(v as string));
const big = (v: unknown): bigint => (v === undefined ? 0n : BigInt(v as string));
const hex = (v: unknown): string => (v === undefined ? '0000000000000000' : BigInt(v as string).toString(16).padStart(16, '0'));
const bytes = (v: unknown): Uint8Array => (v === undefined ? new Uint8Array(0) : new Uint8Array(Buffer.from(v as string, 'base64')));
const list = (v: unknown): Json[] => (v === undefined ? [] : (v as Json[]));

export function header(h: unknown): ResponseHeader {
  const o = known(h as Json, ['cluster_id', 'member_id', 'revision', 'raft_term']);
  return { clusterId: hex(o.cluster_id), memberId: hex(o.member_id), revision: int(o.revision), raftTerm: int(o.raft_term) };
}

export function keyValue(v: unknown): KeyValue {
  const o = known(v as Json, ['key', 'create_revision', 'mod_revision', 'version', 'value', 'lease']);
  return { key: bytes(o.key), createRevision: int(o.create_revision), modRevision: int(o.mod_revision), version: int(o.version), value: bytes(o.value), lease: big(o.lease) };
}

export function range(v: unknown): RangeResponse {
  const o = known(v as Json, ['header', 'kvs', 'more', 'count']);
  return { header: header(o.header), kvs: list(o.kvs).map(keyValue), more: o.more === true, count: int(o.count) };
}

export function put(v: unknown): PutResponse {
  const o = known(v as Json, ['header', 'prev_kv']);
  return o.prev_kv === undefined ? { header: header(o.header) } : { header: header(o.header), prevKv: keyValue(o.prev_kv) };
}

export function deleteRange(v: unknown): DeleteRangeResponse {
  const o = known(v as Json, ['header', 'deleted', 'prev_kvs']);
  return { header: header(o.header), deleted: int(o.deleted), prevKvs: list(o.prev_kvs).map(keyValue) };
}

function responseOp(v: unknown): ResponseOp {
  const o = known(v as Json, ['response_range', 'response_put', 'response_delete_range', 'response_txn']);
  if (o.response_range !== undefined) return { responseRange: range(o.response_range) };
  if (o.response_put !== undefined) return { responsePut: put(o.response_put) };
  if (o.response_delete_range !== undefined) return { responseDeleteRange: deleteRange(o.response_delete_range) };
  return { responseTxn: txn(o.response_txn) };
}

export function txn(v: unknown): TxnResponse {
  const o = known(v as Json, ['header', 'succeeded', 'responses']);
  return { header: header(o.header), succeeded: o.succeeded === true, responses: list(o.responses).map(responseOp) };
}

export function headerOnly(v: unknown): { header: ResponseHeader } {
  const o = known(v as Json, ['header']);
  return { header: header(o.header) };
}

function event(v: unknown): Event {
  const o = known(v as Json, ['type', 'kv', 'prev_kv']);
  const e: Event = { type: o.type === 'DELETE' ? 1 : 0, kv: keyValue(o.kv) };
  if (o.prev_kv !== undefined) e.prevKv = keyValue(o.prev_kv);
  return e;
}

export function watch(v: unknown): WatchResponse {
  const o = known(v as Json, ['header', 'watch_id', 'created', 'canceled', 'compact_revision', 'cancel_reason', 'fragment', 'events']);
  const r: WatchResponse = { header: header(o.header), watchId: int(o.watch_id), events: list(o.events).map(event) };
  if (o.created === true) r.created = true;
  if (o.canceled === true) r.canceled = true;
  if (o.compact_revision !== undefined) r.compactRevision = int(o.compact_revision);
  if (o.cancel_reason !== undefined) r.cancelReason = o.cancel_reason as string;
  if (o.fragment === true) r.fragment = true;
  return r;
}

export function leaseGrant(v: unknown): LeaseGrantResponse {
  const o = known(v as Json, ['header', 'ID', 'TTL', 'error']);
  const r: LeaseGrantResponse = { header: header(o.header), ID: big(o.ID), TTL: int(o.TTL) };
  if (o.error !== undefined) r.error = o.error as string;
  return r;
}

export function leaseKeepAlive(v: unknown): LeaseKeepAliveResponse {
  const o = known(v as Json, ['header', 'ID', 'TTL']);
  return { header: header(o.header), ID: big(o.ID), TTL: int(o.TTL) };
}

export function leaseTimeToLive(v: unknown): LeaseTimeToLiveResponse {
  const o = known(v as Json, ['header', 'ID', 'TTL', 'grantedTTL', 'keys']);
  const r: LeaseTimeToLiveResponse = { header: header(o.header), ID: big(o.ID), TTL: int(o.TTL), grantedTTL: int(o.grantedTTL) };
  if (o.keys !== undefined) r.keys = (o.keys as string[]).map(bytes);
  return r;
}

export function leaseLeases(v: unknown): LeaseLeasesResponse {
  const o = known(v as Json, ['header', 'leases']);
  return { header: header(o.header), leases: list(o.leases).map((l) => ({ ID: big(known(l, ['ID']).ID) })) };
}

export function member(v: unknown): Member {
  const o = known(v as Json, ['ID', 'name', 'peerURLs', 'clientURLs', 'isLearner']);
  const m: Member = { ID: hex(o.ID), name: (o.name as string) ?? '', peerURLs: (o.peerURLs as string[]) ?? [], clientURLs: (o.clientURLs as string[]) ?? [] };
  if (o.isLearner === true) m.isLearner = true;
  return m;
}

export function members(v: unknown): MemberListResponse {
  const o = known(v as Json, ['header', 'members']);
  return { header: header(o.header), members: list(o.members).map(member) };
}

export function memberAdd(v: unknown): MemberAddResponse {
  const o = known(v as Json, ['header', 'member', 'members']);
  return { header: header(o.header), member: member(o.member), members: list(o.members).map(member) };
}

export function status(v: unknown): StatusResponse {
  const o = known(v as Json, ['header', 'version', 'dbSize', 'leader', 'raftIndex', 'raftTerm', 'raftAppliedIndex', 'errors', 'dbSizeInUse', 'isLearner']);
  const r: StatusResponse = {
    header: header(o.header),
    version: (o.version as string) ?? '',
    dbSize: int(o.dbSize),
    leader: hex(o.leader),
    raftIndex: int(o.raftIndex),
    raftTerm: int(o.raftTerm),
    raftAppliedIndex: int(o.raftAppliedIndex),
    dbSizeInUse: int(o.dbSizeInUse),
  };
  if (o.errors !== undefined) r.errors = o.errors as string[];
  if (o.isLearner === true) r.isLearner = true;
  return r;
}

export function alarm(v: unknown): AlarmResponse {
  const o = known(v as Json, ['header', 'alarms']);
  const names: Record<string, 0 | 1 | 2> = { NONE: 0, NOSPACE: 1, CORRUPT: 2 };
  const r: AlarmResponse = {
    alarms: list(o.alarms).map((a) => {
      const k = known(a, ['memberID', 'alarm']);
      return { memberID: hex(k.memberID), alarm: names[(k.alarm as string) ?? 'NONE']! };
    }),
  };
  if (o.header !== undefined) r.header = header(o.header);
  return r;
}

export function defragment(v: unknown): { header?: ResponseHeader } {
  const o = known(v as Json, ['header']);
  return o.header === undefined ? {} : { header: header(o.header) };
}

export function hash(v: unknown): HashResponse {
  const o = known(v as Json, ['header', 'hash']);
  return { header: header(o.header), hash: (o.hash as number) ?? 0 };
}

export function snapshot(v: unknown): SnapshotResponse {
  const o = known(v as Json, ['header', 'remaining_bytes', 'blob']);
  const r: SnapshotResponse = { remainingBytes: int(o.remaining_bytes), blob: bytes(o.blob) };
  if (o.header !== undefined) r.header = header(o.header);
  return r;
}
