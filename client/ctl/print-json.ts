// etcdctl's "json" output: Go's encoding/json of the response structs etcdctl holds. That means numbers as JSON
// numbers (uint64 member and cluster IDs too, written from bigint so no digit is lost), bytes as base64, enums as
// ints, and each field left out when zero (omitempty) unless the Go struct has no json tag, in which case it is always
// written under its Go name ("Header", "Events", "CompactRevision" of a watch response). Field order is struct order.
import type {
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
  PutResponse,
  RangeResponse,
  ResponseHeader,
  StatusResponse,
  TxnResponse,
  WatchResponse,
  HashKVResponse,
} from '../../actors/api/types.js';
import { toBase64 } from '../json.js';
import type { AlarmResponse, HeaderOnlyResponse, MemberAddResponse, MemberChangeResponse } from '../types.js';
import { goJsonString, hexIdToUint } from './go.js';
import type { EndpointHashKV, EndpointHealth, EndpointStatus, Printer, Sink, SnapshotStatus } from './printer.js';

type Field = [string, string | undefined];

/** A Go struct: fields in order, the undefined ones left out. */
function struct(fields: Field[]): string {
  return '{' + fields.filter((f) => f[1] !== undefined).map(([k, v]) => `${goJsonString(k)}:${v}`).join(',') + '}';
}

const omitNum = (n: number | bigint): string | undefined => (n === 0 || n === 0n ? undefined : String(n));
const omitU64 = (hexId: string): string | undefined => omitNum(BigInt('0x' + hexId));
const omitBool = (b: boolean | undefined): string | undefined => (b ? 'true' : undefined);
const omitBytes = (b: Uint8Array | undefined): string | undefined => (b && b.length > 0 ? `"${toBase64(b)}"` : undefined);
const omitString = (s: string | undefined): string | undefined => (s ? goJsonString(s) : undefined);
const omitArray = (items: string[]): string | undefined => (items.length > 0 ? `[${items.join(',')}]` : undefined);
const array = (items: string[]): string => `[${items.join(',')}]`;

function headerFields(h: ResponseHeader): Field[] {
  return [
    ['cluster_id', omitU64(h.clusterId)],
    ['member_id', omitU64(h.memberId)],
    ['revision', omitNum(h.revision)],
    ['raft_term', omitNum(h.raftTerm)],
  ];
}

const header = (h: ResponseHeader | undefined): string | undefined => (h ? struct(headerFields(h)) : undefined);

export function kvJson(kv: KeyValue): string {
  return struct([
    ['key', omitBytes(kv.key)],
    ['create_revision', omitNum(kv.createRevision)],
    ['mod_revision', omitNum(kv.modRevision)],
    ['version', omitNum(kv.version)],
    ['value', omitBytes(kv.value)],
    ['lease', omitNum(kv.lease)],
  ]);
}

export function rangeJson(r: RangeResponse): string {
  return struct([
    ['header', header(r.header)],
    ['kvs', omitArray(r.kvs.map(kvJson))],
    ['more', omitBool(r.more)],
    ['count', omitNum(r.count)],
  ]);
}

function putJson(r: PutResponse): string {
  return struct([['header', header(r.header)], ['prev_kv', r.prevKv ? kvJson(r.prevKv) : undefined]]);
}

function deleteJson(r: DeleteRangeResponse): string {
  return struct([['header', header(r.header)], ['deleted', omitNum(r.deleted)], ['prev_kvs', omitArray(r.prevKvs.map(kvJson))]]);
}

/** A oneof inside ResponseOp marshals as {"Response":{"ResponseRange":{…}}}: Go's field and wrapper names. */
function txnJson(r: TxnResponse): string {
  const ops = r.responses.map((op) => {
    let inner: string;
    if ('responseRange' in op) inner = struct([['ResponseRange', rangeJson(op.responseRange)]]);
    else if ('responsePut' in op) inner = struct([['ResponsePut', putJson(op.responsePut)]]);
    else if ('responseDeleteRange' in op) inner = struct([['ResponseDeleteRange', deleteJson(op.responseDeleteRange)]]);
    else inner = struct([['ResponseTxn', txnJson(op.responseTxn)]]);
    return struct([['Response', inner]]);
  });
  return struct([['header', header(r.header)], ['succeeded', omitBool(r.succeeded)], ['responses', omitArray(ops)]]);
}

function eventJson(e: Event): string {
  return struct([['type', omitNum(e.type)], ['kv', kvJson(e.kv)], ['prev_kv', e.prevKv ? kvJson(e.prevKv) : undefined]]);
}

/** clientv3.WatchResponse: untagged fields, always written. */
export function watchJson(r: WatchResponse): string {
  return struct([
    ['Header', struct(headerFields(r.header))],
    ['Events', array(r.events.map(eventJson))],
    ['CompactRevision', String(r.compactRevision ?? 0)],
    ['Canceled', String(r.canceled ?? false)],
    ['Created', String(r.created ?? false)],
  ]);
}

function memberJson(m: Member): string {
  return struct([
    ['ID', omitU64(m.ID)],
    ['name', omitString(m.name)],
    ['peerURLs', omitArray(m.peerURLs.map(goJsonString))],
    ['clientURLs', omitArray(m.clientURLs.map(goJsonString))],
    ['isLearner', omitBool(m.isLearner)],
  ]);
}

function statusJson(s: StatusResponse): string {
  return struct([
    ['header', header(s.header)],
    ['version', omitString(s.version)],
    ['dbSize', omitNum(s.dbSize)],
    ['leader', omitU64(s.leader)],
    ['raftIndex', omitNum(s.raftIndex)],
    ['raftTerm', omitNum(s.raftTerm)],
    ['raftAppliedIndex', omitNum(s.raftAppliedIndex)],
    ['errors', omitArray((s.errors ?? []).map(goJsonString))],
    ['dbSizeInUse', omitNum(s.dbSizeInUse)],
    ['isLearner', omitBool(s.isLearner)],
  ]);
}

function hashKVJson(h: HashKVResponse): string {
  return struct([['header', header(h.header)], ['hash', omitNum(h.hash)], ['compact_revision', omitNum(h.compactRevision)]]);
}

export class JsonPrinter implements Printer {
  constructor(private readonly sink: Sink) {}

  private print(json: string): void {
    this.sink.out(json + '\n');
  }

  get(r: RangeResponse): void {
    this.print(rangeJson(r));
  }

  put(r: PutResponse): void {
    this.print(putJson(r));
  }

  del(r: DeleteRangeResponse): void {
    this.print(deleteJson(r));
  }

  txn(r: TxnResponse): void {
    this.print(txnJson(r));
  }

  watch(r: WatchResponse): void {
    this.print(watchJson(r));
  }

  /** clientv3.LeaseGrantResponse embeds the header (its fields inline) and has untagged ID, TTL, Error. */
  leaseGrant(r: LeaseGrantResponse): void {
    this.print(struct([...headerFields(r.header), ['ID', String(r.ID)], ['TTL', String(r.TTL)], ['Error', goJsonString(r.error ?? '')]]));
  }

  leaseRevoke(_id: bigint, r: LeaseRevokeResponse): void {
    this.print(struct([['header', header(r.header)]]));
  }

  timeToLive(r: LeaseTimeToLiveResponse): void {
    const keys = r.keys && r.keys.length > 0 ? array(r.keys.map((k) => `"${toBase64(k)}"`)) : 'null';
    this.print(struct([
      ...headerFields(r.header),
      ['id', String(r.ID)],
      ['ttl', String(r.TTL)],
      ['granted-ttl', String(r.grantedTTL)],
      ['keys', keys],
    ]));
  }

  leases(r: LeaseLeasesResponse): void {
    this.print(struct([...headerFields(r.header), ['leases', array(r.leases.map((l) => struct([['id', String(l.ID)]])))]]));
  }

  keepAlive(r: LeaseKeepAliveResponse): void {
    this.print(struct([...headerFields(r.header), ['ID', String(r.ID)], ['TTL', String(r.TTL)]]));
  }

  memberAdd(r: MemberAddResponse): void {
    this.print(struct([['header', header(r.header)], ['member', memberJson(r.member)], ['members', omitArray(r.members.map(memberJson))]]));
  }

  private memberChange(r: MemberChangeResponse): void {
    this.print(struct([['header', header(r.header)], ['members', omitArray(r.members.map(memberJson))]]));
  }

  memberRemove(_id: string, r: MemberChangeResponse): void {
    this.memberChange(r);
  }

  memberUpdate(_id: string, r: MemberChangeResponse): void {
    this.memberChange(r);
  }

  memberPromote(_id: string, r: MemberChangeResponse): void {
    this.memberChange(r);
  }

  memberList(r: MemberListResponse): void {
    this.memberChange(r);
  }

  endpointHealth(list: EndpointHealth[]): void {
    this.print(array(list.map((h) => struct([
      ['endpoint', goJsonString(h.endpoint)],
      ['health', String(h.health)],
      ['took', goJsonString(h.took)],
      ['error', omitString(h.error)],
    ]))));
  }

  endpointStatus(list: EndpointStatus[]): void {
    this.print(array(list.map((s) => struct([['Endpoint', goJsonString(s.endpoint)], ['Status', statusJson(s.status)]]))));
  }

  endpointHashKV(list: EndpointHashKV[]): void {
    this.print(array(list.map((h) => struct([['Endpoint', goJsonString(h.endpoint)], ['HashKV', hashKVJson(h.hashKV)]]))));
  }

  moveLeader(_leader: string, _target: string, r: HeaderOnlyResponse): void {
    this.print(struct([['header', header(r.header)]]));
  }

  alarm(r: AlarmResponse): void {
    const alarms = r.alarms.map((a) => struct([['memberID', omitNum(BigInt(hexIdToUint(a.memberID)))], ['alarm', omitNum(a.alarm)]]));
    this.print(struct([['header', header(r.header)], ['alarms', omitArray(alarms)]]));
  }

  snapshotStatus(s: SnapshotStatus): void {
    this.print(struct([
      ['hash', String(s.hash)],
      ['revision', String(s.revision)],
      ['totalKey', String(s.totalKey)],
      ['totalSize', String(s.totalSize)],
    ]));
  }
}
