// Response encoders that write exactly the bytes etcd 3.4's gateway writes: proto field names in proto field order,
// int64 and uint64 as JSON strings (uint32 such as `hash` as a bare number), bytes as standard base64, enums by name,
// every zero or empty field left out, and an empty but present message as {} (a nested txn's header is exactly that).
// Member and cluster ids travel inside tetcd as 16-digit hex and are written as etcd's decimal uint64.
//
// One function per message, string concatenation only: no reflection, no intermediate objects. Two caches keep the
// hot paths cheap: decimal forms of hex ids (a member has one cluster id and one member id), and the JSON of an
// events array by identity, so a batch fanned out to many watchers is encoded once.
import type {
  CompactionResponse,
  DeleteRangeResponse,
  Event,
  HashKVResponse,
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
  ResponseOp,
  StatusResponse,
  TxnResponse,
  WatchResponse,
} from '../../api/types.js';
import type {
  AlarmResponse,
  DefragmentResponse,
  HashResponse,
  MemberAddResponse,
  MoveLeaderResponse,
  SnapshotResponse,
  VersionResponse,
} from '../api.js';
import { gatewayLimits } from '../limits.js';
import { encodeBase64 } from './base64.js';
import { goJsonString } from './gotext.js';

// ---- ids ----

const decimalIds = new Map<string, string>();

/** The decimal uint64 of a hex id, or '' for zero (which etcd leaves out). */
export function decimalId(hex: string): string {
  let decimal = decimalIds.get(hex);
  if (decimal !== undefined) return decimal;
  decimal = hex === '' ? '' : BigInt('0x' + hex).toString();
  if (decimal === '0') decimal = '';
  if (decimalIds.size >= gatewayLimits.idCacheEntriesMax) decimalIds.clear();
  decimalIds.set(hex, decimal);
  return decimal;
}

// ---- building blocks ----

/** Appends `"name":value` to an object body, with a comma when something came before. */
function field(body: string, name: string, value: string): string {
  return body.length === 0 ? `"${name}":${value}` : `${body},"${name}":${value}`;
}

function int64Field(body: string, name: string, value: number | bigint | undefined): string {
  if (value === undefined || value == 0) return body;
  return field(body, name, `"${value}"`);
}

function bytesField(body: string, name: string, value: Uint8Array | undefined): string {
  if (value === undefined || value.length === 0) return body;
  return field(body, name, `"${encodeBase64(value)}"`);
}

function stringField(body: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '') return body;
  return field(body, name, goJsonString(value));
}

function boolField(body: string, name: string, value: boolean | undefined): string {
  return value === true ? field(body, name, 'true') : body;
}

function idField(body: string, name: string, hex: string | undefined): string {
  if (hex === undefined) return body;
  const decimal = decimalId(hex);
  return decimal === '' ? body : field(body, name, `"${decimal}"`);
}

function listField<T>(body: string, name: string, items: readonly T[] | undefined, encode: (item: T) => string): string {
  if (items === undefined || items.length === 0) return body;
  let out = encode(items[0]!);
  for (let i = 1; i < items.length; i++) out += ',' + encode(items[i]!);
  return field(body, name, `[${out}]`);
}

function enumName(value: number, names: readonly string[]): string {
  const name = names[value];
  return name === undefined ? String(value) : `"${name}"`;
}

// ---- messages ----

let lastHeaderCluster = '';
let lastHeaderMember = '';
let lastHeaderPrefix = '';

export function encodeHeader(h: ResponseHeader): string {
  let body: string;
  if (h.clusterId === lastHeaderCluster && h.memberId === lastHeaderMember) body = lastHeaderPrefix;
  else {
    body = idField(idField('', 'cluster_id', h.clusterId), 'member_id', h.memberId);
    lastHeaderCluster = h.clusterId;
    lastHeaderMember = h.memberId;
    lastHeaderPrefix = body;
  }
  body = int64Field(body, 'revision', h.revision);
  body = int64Field(body, 'raft_term', h.raftTerm);
  return `{${body}}`;
}

function headerField(h: ResponseHeader | undefined): string {
  return h === undefined ? '' : `"header":${encodeHeader(h)}`;
}

/** The hottest encoder (ranges, watch events, prev_kv), so written out by hand. */
export function encodeKeyValue(kv: KeyValue): string {
  let out = '{';
  let sep = '';
  if (kv.key.length > 0) {
    out += '"key":"' + encodeBase64(kv.key) + '"';
    sep = ',';
  }
  if (kv.createRevision !== 0) {
    out += sep + '"create_revision":"' + kv.createRevision + '"';
    sep = ',';
  }
  if (kv.modRevision !== 0) {
    out += sep + '"mod_revision":"' + kv.modRevision + '"';
    sep = ',';
  }
  if (kv.version !== 0) {
    out += sep + '"version":"' + kv.version + '"';
    sep = ',';
  }
  if (kv.value.length > 0) {
    out += sep + '"value":"' + encodeBase64(kv.value) + '"';
    sep = ',';
  }
  // A lease may arrive as a number after a trip through CBOR; both zeros are left out.
  if ((kv.lease as bigint | number) !== 0n && (kv.lease as bigint | number) !== 0) out += sep + '"lease":"' + kv.lease + '"';
  return out + '}';
}

export function encodeRange(r: RangeResponse): string {
  let body = headerField(r.header);
  body = listField(body, 'kvs', r.kvs, encodeKeyValue);
  body = boolField(body, 'more', r.more);
  body = int64Field(body, 'count', r.count);
  return `{${body}}`;
}

export function encodePut(r: PutResponse): string {
  let body = headerField(r.header);
  if (r.prevKv !== undefined) body = field(body, 'prev_kv', encodeKeyValue(r.prevKv));
  return `{${body}}`;
}

export function encodeDeleteRange(r: DeleteRangeResponse): string {
  let body = headerField(r.header);
  body = int64Field(body, 'deleted', r.deleted);
  body = listField(body, 'prev_kvs', r.prevKvs, encodeKeyValue);
  return `{${body}}`;
}

function encodeResponseOp(op: ResponseOp): string {
  if ('responseRange' in op) return `{"response_range":${encodeRange(op.responseRange)}}`;
  if ('responsePut' in op) return `{"response_put":${encodePut(op.responsePut)}}`;
  if ('responseDeleteRange' in op) return `{"response_delete_range":${encodeDeleteRange(op.responseDeleteRange)}}`;
  return `{"response_txn":${encodeTxn(op.responseTxn)}}`;
}

export function encodeTxn(r: TxnResponse): string {
  let body = headerField(r.header);
  body = boolField(body, 'succeeded', r.succeeded);
  body = listField(body, 'responses', r.responses, encodeResponseOp);
  return `{${body}}`;
}

export function encodeHeaderOnly(r: CompactionResponse | LeaseRevokeResponse | DefragmentResponse | MoveLeaderResponse): string {
  return `{${headerField(r.header)}}`;
}

const eventTypeNames = ['PUT', 'DELETE'];

export function encodeEvent(e: Event): string {
  let body = e.type === 0 ? '' : field('', 'type', enumName(e.type, eventTypeNames));
  if (e.kv !== undefined) body = field(body, 'kv', encodeKeyValue(e.kv));
  if (e.prevKv !== undefined) body = field(body, 'prev_kv', encodeKeyValue(e.prevKv));
  return `{${body}}`;
}

const encodedEvents = new WeakMap<readonly Event[], string>();

/** The JSON array of a batch of events, encoded once per array object however many watchers receive it. */
export function encodeEvents(events: readonly Event[]): string {
  let json = encodedEvents.get(events);
  if (json === undefined) {
    json = '[' + events.map(encodeEvent).join(',') + ']';
    encodedEvents.set(events, json);
  }
  return json;
}

export function encodeWatch(r: WatchResponse): string {
  let body = headerField(r.header);
  body = int64Field(body, 'watch_id', r.watchId);
  body = boolField(body, 'created', r.created);
  body = boolField(body, 'canceled', r.canceled);
  body = int64Field(body, 'compact_revision', r.compactRevision);
  body = stringField(body, 'cancel_reason', r.cancelReason);
  body = boolField(body, 'fragment', r.fragment);
  if (r.events !== undefined && r.events.length > 0) body = field(body, 'events', encodeEvents(r.events));
  return `{${body}}`;
}

export function encodeLeaseGrant(r: LeaseGrantResponse): string {
  let body = headerField(r.header);
  body = int64Field(body, 'ID', r.ID);
  body = int64Field(body, 'TTL', r.TTL);
  body = stringField(body, 'error', r.error);
  return `{${body}}`;
}

export function encodeLeaseKeepAlive(r: LeaseKeepAliveResponse): string {
  let body = headerField(r.header);
  body = int64Field(body, 'ID', r.ID);
  body = int64Field(body, 'TTL', r.TTL);
  return `{${body}}`;
}

export function encodeLeaseTimeToLive(r: LeaseTimeToLiveResponse): string {
  let body = headerField(r.header);
  body = int64Field(body, 'ID', r.ID);
  body = int64Field(body, 'TTL', r.TTL);
  body = int64Field(body, 'grantedTTL', r.grantedTTL);
  body = listField(body, 'keys', r.keys, (k) => `"${encodeBase64(k)}"`);
  return `{${body}}`;
}

export function encodeLeaseLeases(r: LeaseLeasesResponse): string {
  let body = headerField(r.header);
  body = listField(body, 'leases', r.leases, (l) => `{${int64Field('', 'ID', l.ID)}}`);
  return `{${body}}`;
}

export function encodeMember(m: Member): string {
  let body = idField('', 'ID', m.ID);
  body = stringField(body, 'name', m.name);
  body = listField(body, 'peerURLs', m.peerURLs, goJsonString);
  body = listField(body, 'clientURLs', m.clientURLs, goJsonString);
  body = boolField(body, 'isLearner', m.isLearner);
  return `{${body}}`;
}

export function encodeMembers(r: MemberListResponse): string {
  let body = headerField(r.header);
  body = listField(body, 'members', r.members, encodeMember);
  return `{${body}}`;
}

export function encodeMemberAdd(r: MemberAddResponse): string {
  let body = headerField(r.header);
  if (r.member !== undefined) body = field(body, 'member', encodeMember(r.member));
  body = listField(body, 'members', r.members, encodeMember);
  return `{${body}}`;
}

const alarmTypeNames = ['NONE', 'NOSPACE', 'CORRUPT'];

export function encodeAlarm(r: AlarmResponse): string {
  let body = headerField(r.header);
  body = listField(body, 'alarms', r.alarms, (a) => {
    let inner = idField('', 'memberID', a.memberID);
    if (a.alarm !== 0) inner = field(inner, 'alarm', enumName(a.alarm, alarmTypeNames));
    return `{${inner}}`;
  });
  return `{${body}}`;
}

export function encodeStatus(r: StatusResponse): string {
  let body = headerField(r.header);
  body = stringField(body, 'version', r.version);
  body = int64Field(body, 'dbSize', r.dbSize);
  body = idField(body, 'leader', r.leader);
  body = int64Field(body, 'raftIndex', r.raftIndex);
  body = int64Field(body, 'raftTerm', r.raftTerm);
  body = int64Field(body, 'raftAppliedIndex', r.raftAppliedIndex);
  body = listField(body, 'errors', r.errors, goJsonString);
  body = int64Field(body, 'dbSizeInUse', r.dbSizeInUse);
  body = boolField(body, 'isLearner', r.isLearner);
  return `{${body}}`;
}

export function encodeHash(r: HashResponse): string {
  let body = headerField(r.header);
  if (r.hash !== 0) body = field(body, 'hash', String(r.hash));
  return `{${body}}`;
}

export function encodeHashKV(r: HashKVResponse): string {
  let body = headerField(r.header);
  if (r.hash !== 0) body = field(body, 'hash', String(r.hash));
  body = int64Field(body, 'compact_revision', r.compactRevision);
  return `{${body}}`;
}

export function encodeSnapshot(r: SnapshotResponse): string {
  let body = headerField(r.header);
  body = int64Field(body, 'remaining_bytes', r.remainingBytes);
  body = bytesField(body, 'blob', r.blob);
  return `{${body}}`;
}

/** /version: Go's encoding/json of a struct, every field present. */
export function encodeVersion(v: VersionResponse): string {
  return `{"etcdserver":${goJsonString(v.etcdserver)},"etcdcluster":${goJsonString(v.etcdcluster)}}`;
}

// ---- errors ----

/** The body of a unary error: etcd 3.4 writes error, message, code in that order. */
export function encodeUnaryError(code: number, message: string): string {
  const text = goJsonString(message);
  if (message === '') return code === 0 ? '{}' : `{"code":${code}}`;
  return code === 0 ? `{"error":${text},"message":${text}}` : `{"error":${text},"message":${text},"code":${code}}`;
}

/** One stream chunk carrying a message: {"result":…} and the newline etcd's gateway writes after each. */
export function streamResult(json: string): string {
  return `{"result":${json}}\n`;
}

/** The chunk that ends a stream with an error. */
export function streamError(grpcCode: number, httpCode: number, message: string, httpStatus: string): string {
  let body = grpcCode === 0 ? '' : `"grpc_code":${grpcCode}`;
  body = field(body, 'http_code', String(httpCode));
  body = stringField(body, 'message', message);
  body = stringField(body, 'http_status', httpStatus);
  return `{"error":{${body}}}\n`;
}
