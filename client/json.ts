// etcd's JSON gateway encoding, both ways, for the messages the client speaks. The gateway (etcd 3.4's grpc-gateway,
// and tetcd's, which matches it byte for byte) writes proto field names, 64-bit integers as decimal strings, bytes as
// standard base64, enums as names, and leaves out every zero field. Requests are written the same way; the gateway
// also accepts numbers and enum ints, but names and strings are what it documents.
//
// Decoding is lenient in the gateway's own ways (a 64-bit field may come as a string or a number, an enum as a name
// or an int, any zero field may be missing) and strict about shape: a field of the wrong type is a ProtocolError.
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KeyValue,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  Member,
  MemberListResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
  WatchResponse,
  HashKVResponse,
} from '../actors/api/types.js';
import { ProtocolError } from './errors.js';
import type {
  AlarmMember,
  AlarmResponse,
  AlarmType,
  HashResponse,
  HeaderOnlyResponse,
  MemberAddResponse,
  MemberChangeResponse,
  SnapshotChunk,
} from './types.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

// ---- scalars ----

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(text: string): Uint8Array {
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A 16-digit lowercase hex ID from the gateway's decimal uint64. */
export function decimalToHexId(decimal: string): string {
  return BigInt(decimal).toString(16).padStart(16, '0');
}

/** The gateway's decimal uint64 from a hex ID (with or without leading zeros). */
export function hexIdToDecimal(hex: string): string {
  return BigInt('0x' + hex).toString(10);
}

const empty = new Uint8Array(0);

function fail(what: string, value: unknown): never {
  throw new ProtocolError(`unexpected ${what} in server answer: ${JSON.stringify(value)?.slice(0, 200)}`);
}

function obj(value: Json | undefined, what: string): JsonObject {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) fail(what, value);
  return value;
}

function arr(value: Json | undefined, what: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(what, value);
  return value;
}

function int(value: Json | undefined, what: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  return fail(what, value);
}

function big(value: Json | undefined, what: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  return fail(what, value);
}

function hexId(value: Json | undefined, what: string): string {
  const id = big(value, what);
  return BigInt.asUintN(64, id).toString(16).padStart(16, '0');
}

function str(value: Json | undefined, what: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') fail(what, value);
  return value;
}

function bool(value: Json | undefined, what: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') fail(what, value);
  return value;
}

function bytes(value: Json | undefined, what: string): Uint8Array {
  if (value === undefined || value === null || value === '') return empty;
  if (typeof value !== 'string') fail(what, value);
  return fromBase64(value);
}

function enumValue(value: Json | undefined, names: readonly string[], what: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < names.length) return value;
  if (typeof value === 'string') {
    const index = names.indexOf(value);
    if (index >= 0) return index;
  }
  return fail(what, value);
}

// ---- requests ----

const sortOrderNames = ['NONE', 'ASCEND', 'DESCEND'] as const;
const sortTargetNames = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'] as const;
const compareResultNames = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'] as const;
const compareTargetNames = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const;
const filterNames = ['NOPUT', 'NODELETE'] as const;
const eventTypeNames = ['PUT', 'DELETE'] as const;
const alarmNames = ['NONE', 'NOSPACE', 'CORRUPT'] as const;

export function encodeRange(r: RangeRequest): JsonObject {
  const out: JsonObject = { key: toBase64(r.key) };
  if (r.rangeEnd && r.rangeEnd.length > 0) out.range_end = toBase64(r.rangeEnd);
  if (r.limit) out.limit = String(r.limit);
  if (r.revision) out.revision = String(r.revision);
  if (r.sortOrder) out.sort_order = sortOrderNames[r.sortOrder];
  if (r.sortTarget) out.sort_target = sortTargetNames[r.sortTarget];
  if (r.serializable) out.serializable = true;
  if (r.keysOnly) out.keys_only = true;
  if (r.countOnly) out.count_only = true;
  if (r.minModRevision) out.min_mod_revision = String(r.minModRevision);
  if (r.maxModRevision) out.max_mod_revision = String(r.maxModRevision);
  if (r.minCreateRevision) out.min_create_revision = String(r.minCreateRevision);
  if (r.maxCreateRevision) out.max_create_revision = String(r.maxCreateRevision);
  return out;
}

export function encodePut(r: PutRequest): JsonObject {
  const out: JsonObject = { key: toBase64(r.key) };
  if (r.value.length > 0) out.value = toBase64(r.value);
  if (r.lease) out.lease = r.lease.toString();
  if (r.prevKv) out.prev_kv = true;
  if (r.ignoreValue) out.ignore_value = true;
  if (r.ignoreLease) out.ignore_lease = true;
  return out;
}

export function encodeDeleteRange(r: DeleteRangeRequest): JsonObject {
  const out: JsonObject = { key: toBase64(r.key) };
  if (r.rangeEnd && r.rangeEnd.length > 0) out.range_end = toBase64(r.rangeEnd);
  if (r.prevKv) out.prev_kv = true;
  return out;
}

function encodeCompare(c: Compare): JsonObject {
  const out: JsonObject = {
    result: compareResultNames[c.result],
    target: compareTargetNames[c.target],
    key: toBase64(c.key),
  };
  if (c.rangeEnd && c.rangeEnd.length > 0) out.range_end = toBase64(c.rangeEnd);
  switch (c.target) {
    case 0:
      out.version = String(c.version ?? 0);
      break;
    case 1:
      out.create_revision = String(c.createRevision ?? 0);
      break;
    case 2:
      out.mod_revision = String(c.modRevision ?? 0);
      break;
    case 3:
      out.value = toBase64(c.value ?? empty);
      break;
    case 4:
      out.lease = (c.lease ?? 0n).toString();
      break;
  }
  return out;
}

function encodeOp(op: RequestOp): JsonObject {
  if ('requestRange' in op) return { request_range: encodeRange(op.requestRange) };
  if ('requestPut' in op) return { request_put: encodePut(op.requestPut) };
  if ('requestDeleteRange' in op) return { request_delete_range: encodeDeleteRange(op.requestDeleteRange) };
  return { request_txn: encodeTxn(op.requestTxn) };
}

export function encodeTxn(t: TxnRequest): JsonObject {
  const out: JsonObject = {};
  if (t.compare.length > 0) out.compare = t.compare.map(encodeCompare);
  if (t.success.length > 0) out.success = t.success.map(encodeOp);
  if (t.failure.length > 0) out.failure = t.failure.map(encodeOp);
  return out;
}

export function encodeWatchCreate(c: WatchCreateRequest): JsonObject {
  const create: JsonObject = { key: toBase64(c.key) };
  if (c.rangeEnd && c.rangeEnd.length > 0) create.range_end = toBase64(c.rangeEnd);
  if (c.startRevision) create.start_revision = String(c.startRevision);
  if (c.progressNotify) create.progress_notify = true;
  if (c.filters && c.filters.length > 0) create.filters = c.filters.map((f) => filterNames[f]);
  if (c.prevKv) create.prev_kv = true;
  if (c.watchId) create.watch_id = String(c.watchId);
  if (c.fragment) create.fragment = true;
  return { create_request: create };
}

// ---- responses ----

export function decodeHeader(value: Json | undefined): ResponseHeader {
  const h = obj(value, 'header');
  return {
    clusterId: hexId(h.cluster_id, 'cluster_id'),
    memberId: hexId(h.member_id, 'member_id'),
    revision: int(h.revision, 'revision'),
    raftTerm: int(h.raft_term, 'raft_term'),
  };
}

export function decodeKv(value: Json | undefined): KeyValue {
  const kv = obj(value, 'kv');
  return {
    key: bytes(kv.key, 'key'),
    createRevision: int(kv.create_revision, 'create_revision'),
    modRevision: int(kv.mod_revision, 'mod_revision'),
    version: int(kv.version, 'version'),
    value: bytes(kv.value, 'value'),
    lease: big(kv.lease, 'lease'),
  };
}

export function decodeRange(value: Json | undefined): RangeResponse {
  const r = obj(value, 'range response');
  return {
    header: decodeHeader(r.header),
    kvs: arr(r.kvs, 'kvs').map(decodeKv),
    more: bool(r.more, 'more'),
    count: int(r.count, 'count'),
  };
}

export function decodePut(value: Json | undefined): PutResponse {
  const r = obj(value, 'put response');
  const out: PutResponse = { header: decodeHeader(r.header) };
  if (r.prev_kv !== undefined && r.prev_kv !== null) out.prevKv = decodeKv(r.prev_kv);
  return out;
}

export function decodeDeleteRange(value: Json | undefined): DeleteRangeResponse {
  const r = obj(value, 'delete response');
  return {
    header: decodeHeader(r.header),
    deleted: int(r.deleted, 'deleted'),
    prevKvs: arr(r.prev_kvs, 'prev_kvs').map(decodeKv),
  };
}

function decodeResponseOp(value: Json): ResponseOp {
  const op = obj(value, 'txn response op');
  if (op.response_range !== undefined) return { responseRange: decodeRange(op.response_range) };
  if (op.response_put !== undefined) return { responsePut: decodePut(op.response_put) };
  if (op.response_delete_range !== undefined) return { responseDeleteRange: decodeDeleteRange(op.response_delete_range) };
  if (op.response_txn !== undefined) return { responseTxn: decodeTxn(op.response_txn) };
  return fail('txn response op', value);
}

export function decodeTxn(value: Json | undefined): TxnResponse {
  const r = obj(value, 'txn response');
  return {
    header: decodeHeader(r.header),
    succeeded: bool(r.succeeded, 'succeeded'),
    responses: arr(r.responses, 'responses').map(decodeResponseOp),
  };
}

export function decodeHeaderOnly(value: Json | undefined): HeaderOnlyResponse {
  const r = obj(value, 'response');
  return r.header === undefined ? {} : { header: decodeHeader(r.header) };
}

export function decodeWithHeader(value: Json | undefined): { header: ResponseHeader } {
  return { header: decodeHeader(obj(value, 'response').header) };
}

function decodeEvent(value: Json): Event {
  const e = obj(value, 'event');
  const out: Event = { type: enumValue(e.type, eventTypeNames, 'event type') as Event['type'], kv: decodeKv(e.kv) };
  if (e.prev_kv !== undefined && e.prev_kv !== null) out.prevKv = decodeKv(e.prev_kv);
  return out;
}

export function decodeWatch(value: Json | undefined): WatchResponse {
  const r = obj(value, 'watch response');
  const out: WatchResponse = {
    header: decodeHeader(r.header),
    watchId: int(r.watch_id, 'watch_id'),
    events: arr(r.events, 'events').map(decodeEvent),
  };
  if (r.created !== undefined) out.created = bool(r.created, 'created');
  if (r.canceled !== undefined) out.canceled = bool(r.canceled, 'canceled');
  if (r.compact_revision !== undefined) out.compactRevision = int(r.compact_revision, 'compact_revision');
  if (r.cancel_reason !== undefined) out.cancelReason = str(r.cancel_reason, 'cancel_reason');
  if (r.fragment !== undefined) out.fragment = bool(r.fragment, 'fragment');
  return out;
}

export function decodeLeaseGrant(value: Json | undefined): LeaseGrantResponse {
  const r = obj(value, 'lease grant response');
  const out: LeaseGrantResponse = { header: decodeHeader(r.header), ID: big(r.ID, 'ID'), TTL: int(r.TTL, 'TTL') };
  if (r.error !== undefined) out.error = str(r.error, 'error');
  return out;
}

export function decodeLeaseRevoke(value: Json | undefined): LeaseRevokeResponse {
  return decodeWithHeader(value);
}

export function decodeLeaseKeepAlive(value: Json | undefined): LeaseKeepAliveResponse {
  const r = obj(value, 'lease keepalive response');
  return { header: decodeHeader(r.header), ID: big(r.ID, 'ID'), TTL: int(r.TTL, 'TTL') };
}

export function decodeLeaseTimeToLive(value: Json | undefined): LeaseTimeToLiveResponse {
  const r = obj(value, 'lease timetolive response');
  return {
    header: decodeHeader(r.header),
    ID: big(r.ID, 'ID'),
    TTL: int(r.TTL, 'TTL'),
    grantedTTL: int(r.grantedTTL, 'grantedTTL'),
    keys: arr(r.keys, 'keys').map((k) => bytes(k, 'key')),
  };
}

export function decodeLeaseLeases(value: Json | undefined): LeaseLeasesResponse {
  const r = obj(value, 'lease leases response');
  return {
    header: decodeHeader(r.header),
    leases: arr(r.leases, 'leases').map((l) => ({ ID: big(obj(l, 'lease').ID, 'ID') })),
  };
}

function decodeMember(value: Json | undefined): Member {
  const m = obj(value, 'member');
  const out: Member = {
    ID: hexId(m.ID, 'member ID'),
    name: str(m.name, 'name'),
    peerURLs: arr(m.peerURLs, 'peerURLs').map((u) => str(u, 'peer URL')),
    clientURLs: arr(m.clientURLs, 'clientURLs').map((u) => str(u, 'client URL')),
  };
  if (m.isLearner !== undefined) out.isLearner = bool(m.isLearner, 'isLearner');
  return out;
}

export function decodeMemberList(value: Json | undefined): MemberListResponse {
  const r = obj(value, 'member list response');
  return { header: decodeHeader(r.header), members: arr(r.members, 'members').map(decodeMember) };
}

export function decodeMemberAdd(value: Json | undefined): MemberAddResponse {
  const r = obj(value, 'member add response');
  return {
    header: decodeHeader(r.header),
    member: decodeMember(r.member),
    members: arr(r.members, 'members').map(decodeMember),
  };
}

export function decodeMemberChange(value: Json | undefined): MemberChangeResponse {
  const r = obj(value, 'member response');
  return { header: decodeHeader(r.header), members: arr(r.members, 'members').map(decodeMember) };
}

export function decodeStatus(value: Json | undefined): StatusResponse {
  const r = obj(value, 'status response');
  const out: StatusResponse = {
    header: decodeHeader(r.header),
    version: str(r.version, 'version'),
    dbSize: int(r.dbSize, 'dbSize'),
    leader: hexId(r.leader, 'leader'),
    raftIndex: int(r.raftIndex, 'raftIndex'),
    raftTerm: int(r.raftTerm, 'raftTerm'),
    raftAppliedIndex: int(r.raftAppliedIndex, 'raftAppliedIndex'),
    dbSizeInUse: int(r.dbSizeInUse, 'dbSizeInUse'),
  };
  if (r.errors !== undefined) out.errors = arr(r.errors, 'errors').map((e) => str(e, 'error'));
  if (r.isLearner !== undefined) out.isLearner = bool(r.isLearner, 'isLearner');
  return out;
}

export function decodeAlarm(value: Json | undefined): AlarmResponse {
  const r = obj(value, 'alarm response');
  const alarms = arr(r.alarms, 'alarms').map((a): AlarmMember => {
    const m = obj(a, 'alarm member');
    return { memberID: hexId(m.memberID, 'memberID'), alarm: enumValue(m.alarm, alarmNames, 'alarm') as AlarmType };
  });
  return r.header === undefined ? { alarms } : { header: decodeHeader(r.header), alarms };
}

export function decodeHash(value: Json | undefined): HashResponse {
  const r = obj(value, 'hash response');
  return { header: decodeHeader(r.header), hash: int(r.hash, 'hash') };
}

export function decodeHashKV(value: Json | undefined): HashKVResponse {
  const r = obj(value, 'hashkv response');
  return { header: decodeHeader(r.header), hash: int(r.hash, 'hash'), compactRevision: int(r.compact_revision, 'compact_revision') };
}

export function decodeSnapshotChunk(value: Json | undefined): SnapshotChunk {
  const r = obj(value, 'snapshot chunk');
  const out: SnapshotChunk = { remainingBytes: int(r.remaining_bytes, 'remaining_bytes'), blob: bytes(r.blob, 'blob') };
  if (r.header !== undefined) out.header = decodeHeader(r.header);
  return out;
}

export const alarmName = (alarm: AlarmType): string => alarmNames[alarm];

/** Parses one JSON text from the server, as a ProtocolError when it is not JSON. */
export function parseJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw new ProtocolError(`server answered with text that is not JSON: ${JSON.stringify(text.slice(0, 200))}`, { cause: error });
  }
}

export function asObject(value: Json, what: string): JsonObject {
  return obj(value, what);
}
