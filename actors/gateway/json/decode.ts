// Request decoders for etcd's JSON gateway, one per message, following the rules of the jsonpb reader etcd 3.4 uses:
//   - a field is found by its proto name or its camelCase JSON name; when both are present the camelCase one wins;
//   - unknown fields are ignored; a repeated key keeps its last value; null means "not set";
//   - fields are decoded in proto field order (oneof members last), so the first bad field in that order is the one
//     named in the error;
//   - int64/uint64/int32 accept a number or a string holding one (the string's raw text is read again as JSON, which
//     is why `"limit":"5 6"` fails with "after top-level value"); bytes accept standard base64 or, through Go's
//     generic rules, an array of byte values; enums accept their name or any int32.
// Every refusal throws RequestDecodeError with Go's message; the adapter answers code 3 (HTTP 400) for a unary call.
import { AlarmAction, AlarmType, type AlarmRequest, type EmptyRequest, type MemberAddRequest, type MemberPromoteRequest, type MemberRemoveRequest, type MemberUpdateRequest, type MoveLeaderRequest } from '../api.js';
import {
  CompareResult,
  CompareTarget,
  SortOrder,
  SortTarget,
  WatchFilter,
  type Bytes,
  type CompactionRequest,
  type Compare,
  type DeleteRangeRequest,
  type HashKVRequest,
  type LeaseGrantRequest,
  type LeaseKeepAliveRequest,
  type LeaseRevokeRequest,
  type LeaseTimeToLiveRequest,
  type PutRequest,
  type RangeRequest,
  type RequestOp,
  type TxnRequest,
  type WatchCreateRequest,
  type WatchRequest,
} from '../../api/types.js';
import { Base64Error, decodeBase64 } from './base64.js';
import { goQuote } from './gotext.js';
import {
  JsonEndOfInputError,
  JsonSyntaxError,
  rawText,
  readFirstValue,
  readWholeValue,
  stringValue,
  unescapeBytes,
  type JsonNode,
  type JsonObject,
  type JsonString,
} from './reader.js';

/** A request body etcd's gateway would refuse; `message` is the text etcd puts in the error body. */
export class RequestDecodeError extends Error {
  override name = 'RequestDecodeError';
}

const EMPTY_BYTES = new Uint8Array(0);
const MAP_TYPE = 'map[string]json.RawMessage';
const LIST_TYPE = '[]json.RawMessage';

function kindName(node: JsonNode): string {
  switch (node.kind) {
    case 'true':
    case 'false':
      return 'bool';
    default:
      return node.kind;
  }
}

function typeError(value: string, goType: string): never {
  throw new RequestDecodeError(`json: cannot unmarshal ${value} into Go value of type ${goType}`);
}

/** Looks a field up as jsonpb does: camelCase name first, then the proto name; null counts as absent. */
function get(obj: JsonObject, proto: string, camel: string = proto): JsonNode | undefined {
  let node = proto === camel ? obj.fields.get(proto) : (obj.fields.get(camel) ?? obj.fields.get(proto));
  if (node !== undefined && node.kind === 'null') node = undefined;
  return node;
}

/** A nested message: must be an object (or null for "unset"). */
function asObject(node: JsonNode): JsonObject {
  if (node.kind === 'object') return node;
  return typeError(kindName(node), MAP_TYPE);
}

function asList(node: JsonNode): JsonNode[] {
  if (node.kind === 'array') return node.items;
  return typeError(kindName(node), LIST_TYPE);
}

// ---- scalars ----

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;
const integerText = /^-?\d+$/;

/** The number literal a numeric field holds: itself, or the JSON text inside its string (read by json.Unmarshal rules). */
function numericLiteral(node: JsonNode, goType: string): string | undefined {
  let inner: JsonNode = node;
  if (node.kind === 'string') {
    try {
      inner = readWholeValue(node.src, node.start, node.end);
    } catch (error) {
      throw asDecodeError(error);
    }
  }
  switch (inner.kind) {
    case 'number':
      return inner.text;
    case 'null':
      return undefined;
    default:
      return typeError(kindName(inner), goType);
  }
}

function integer(node: JsonNode, goType: string, min: bigint, max: bigint): bigint | undefined {
  const text = numericLiteral(node, goType);
  if (text === undefined) return undefined;
  if (!integerText.test(text)) return typeError(`number ${text}`, goType);
  const value = BigInt(text);
  if (value < min || value > max) return typeError(`number ${text}`, goType);
  return value;
}

function int64(obj: JsonObject, proto: string, camel?: string): number | undefined {
  const node = get(obj, proto, camel);
  if (node === undefined) return undefined;
  if (node.kind === 'number' && node.text.length < 16 && integerText.test(node.text)) return Number(node.text);
  const value = integer(node, 'int64', INT64_MIN, INT64_MAX);
  return value === undefined ? undefined : Number(value);
}

function int64Big(obj: JsonObject, proto: string, camel?: string): bigint | undefined {
  const node = get(obj, proto, camel);
  return node === undefined ? undefined : integer(node, 'int64', INT64_MIN, INT64_MAX);
}

/** uint64 member ids, returned as the 16-digit hex the API uses. */
function uint64Hex(obj: JsonObject, proto: string, camel?: string): string | undefined {
  const node = get(obj, proto, camel);
  if (node === undefined) return undefined;
  const value = integer(node, 'uint64', 0n, UINT64_MAX);
  return value === undefined ? undefined : value.toString(16).padStart(16, '0');
}

function bool(obj: JsonObject, proto: string, camel?: string): boolean | undefined {
  const node = get(obj, proto, camel);
  if (node === undefined) return undefined;
  if (node.kind === 'true') return true;
  if (node.kind === 'false') return false;
  return typeError(kindName(node), 'bool');
}

function bytesOf(node: JsonNode): Bytes {
  switch (node.kind) {
    case 'string': {
      try {
        if (node.plain) return decodeBase64(node.src, node.start, node.end);
        const raw = unescapeBytes(node);
        return decodeBase64(raw, 0, raw.length);
      } catch (error) {
        if (error instanceof Base64Error) throw new RequestDecodeError(error.message);
        throw error;
      }
    }
    case 'array': {
      // Go's generic rule for []byte: an array of numbers, each one a uint8.
      const out = new Uint8Array(node.items.length);
      node.items.forEach((item, i) => {
        if (item.kind === 'null') return;
        if (item.kind !== 'number') typeError(kindName(item), 'uint8');
        if (!integerText.test(item.text)) typeError(`number ${item.text}`, 'uint8');
        const value = Number(item.text);
        if (value < 0 || value > 255) typeError(`number ${item.text}`, 'uint8');
        out[i] = value;
      });
      return out;
    }
    case 'null':
      return EMPTY_BYTES;
    default:
      return typeError(kindName(node), '[]uint8');
  }
}

function bytes(obj: JsonObject, proto: string, camel?: string): Bytes | undefined {
  const node = get(obj, proto, camel);
  return node === undefined ? undefined : bytesOf(node);
}

function stringOf(node: JsonNode): string {
  if (node.kind === 'string') return stringValue(node);
  if (node.kind === 'null') return '';
  return typeError(kindName(node), 'string');
}

function strings(obj: JsonObject, proto: string, camel?: string): string[] | undefined {
  const node = get(obj, proto, camel);
  return node === undefined ? undefined : asList(node).map(stringOf);
}

/** An enum by name (raw text, as jsonpb looks it up) or by any int32; unknown numbers pass through as etcd's do. */
function enumOf<T extends number>(node: JsonNode, names: Readonly<Record<string, number>>, protoName: string): T {
  if (node.kind === 'string') {
    const raw = rawText(node as JsonString);
    const value = Object.prototype.hasOwnProperty.call(names, raw) ? names[raw] : undefined;
    if (value === undefined) throw new RequestDecodeError(`unknown value ${goQuote(raw)} for enum ${protoName}`);
    return value as T;
  }
  if (node.kind === 'null') return 0 as T;
  return Number(integer(node, protoName, INT32_MIN, INT32_MAX)) as T;
}

function enumField<T extends number>(obj: JsonObject, proto: string, camel: string, names: Readonly<Record<string, number>>, protoName: string): T | undefined {
  const node = get(obj, proto, camel);
  return node === undefined ? undefined : enumOf<T>(node, names, protoName);
}

function asDecodeError(error: unknown): RequestDecodeError {
  if (error instanceof RequestDecodeError) return error;
  if (error instanceof RangeError) return new RequestDecodeError('exceeded max depth'); // see guardDepth
  if (error instanceof JsonSyntaxError || error instanceof JsonEndOfInputError) return new RequestDecodeError(error.message);
  throw error;
}

// ---- messages ----

function rangeRequest(obj: JsonObject): RangeRequest {
  const r: RangeRequest = { key: bytes(obj, 'key') ?? EMPTY_BYTES };
  const rangeEnd = bytes(obj, 'range_end', 'rangeEnd');
  if (rangeEnd !== undefined) r.rangeEnd = rangeEnd;
  const limit = int64(obj, 'limit');
  if (limit !== undefined) r.limit = limit;
  const revision = int64(obj, 'revision');
  if (revision !== undefined) r.revision = revision;
  const sortOrder = enumField<SortOrder>(obj, 'sort_order', 'sortOrder', SortOrder, 'etcdserverpb.RangeRequest_SortOrder');
  if (sortOrder !== undefined) r.sortOrder = sortOrder;
  const sortTarget = enumField<SortTarget>(obj, 'sort_target', 'sortTarget', SortTarget, 'etcdserverpb.RangeRequest_SortTarget');
  if (sortTarget !== undefined) r.sortTarget = sortTarget;
  const serializable = bool(obj, 'serializable');
  if (serializable !== undefined) r.serializable = serializable;
  const keysOnly = bool(obj, 'keys_only', 'keysOnly');
  if (keysOnly !== undefined) r.keysOnly = keysOnly;
  const countOnly = bool(obj, 'count_only', 'countOnly');
  if (countOnly !== undefined) r.countOnly = countOnly;
  const minMod = int64(obj, 'min_mod_revision', 'minModRevision');
  if (minMod !== undefined) r.minModRevision = minMod;
  const maxMod = int64(obj, 'max_mod_revision', 'maxModRevision');
  if (maxMod !== undefined) r.maxModRevision = maxMod;
  const minCreate = int64(obj, 'min_create_revision', 'minCreateRevision');
  if (minCreate !== undefined) r.minCreateRevision = minCreate;
  const maxCreate = int64(obj, 'max_create_revision', 'maxCreateRevision');
  if (maxCreate !== undefined) r.maxCreateRevision = maxCreate;
  return r;
}

function putRequest(obj: JsonObject): PutRequest {
  const r: PutRequest = { key: bytes(obj, 'key') ?? EMPTY_BYTES, value: bytes(obj, 'value') ?? EMPTY_BYTES };
  const lease = int64Big(obj, 'lease');
  if (lease !== undefined) r.lease = lease;
  const prevKv = bool(obj, 'prev_kv', 'prevKv');
  if (prevKv !== undefined) r.prevKv = prevKv;
  const ignoreValue = bool(obj, 'ignore_value', 'ignoreValue');
  if (ignoreValue !== undefined) r.ignoreValue = ignoreValue;
  const ignoreLease = bool(obj, 'ignore_lease', 'ignoreLease');
  if (ignoreLease !== undefined) r.ignoreLease = ignoreLease;
  return r;
}

function deleteRangeRequest(obj: JsonObject): DeleteRangeRequest {
  const r: DeleteRangeRequest = { key: bytes(obj, 'key') ?? EMPTY_BYTES };
  const rangeEnd = bytes(obj, 'range_end', 'rangeEnd');
  if (rangeEnd !== undefined) r.rangeEnd = rangeEnd;
  const prevKv = bool(obj, 'prev_kv', 'prevKv');
  if (prevKv !== undefined) r.prevKv = prevKv;
  return r;
}

function compare(obj: JsonObject): Compare {
  const c: Compare = {
    result: enumField<CompareResult>(obj, 'result', 'result', CompareResult, 'etcdserverpb.Compare_CompareResult') ?? CompareResult.EQUAL,
    target: enumField<CompareTarget>(obj, 'target', 'target', CompareTarget, 'etcdserverpb.Compare_CompareTarget') ?? CompareTarget.VERSION,
    key: bytes(obj, 'key') ?? EMPTY_BYTES,
  };
  const rangeEnd = bytes(obj, 'range_end', 'rangeEnd');
  if (rangeEnd !== undefined) c.rangeEnd = rangeEnd;
  // target_union: etcd keeps one member (chosen in map order when several are given); the store reads the one its
  // target names, so keeping every given member is equivalent whenever the request is unambiguous.
  const version = int64(obj, 'version');
  if (version !== undefined) c.version = version;
  const createRevision = int64(obj, 'create_revision', 'createRevision');
  if (createRevision !== undefined) c.createRevision = createRevision;
  const modRevision = int64(obj, 'mod_revision', 'modRevision');
  if (modRevision !== undefined) c.modRevision = modRevision;
  const value = bytes(obj, 'value');
  if (value !== undefined) c.value = value;
  const lease = int64Big(obj, 'lease');
  if (lease !== undefined) c.lease = lease;
  return c;
}

function requestOp(node: JsonNode): RequestOp {
  if (node.kind === 'null') return { requestRange: { key: EMPTY_BYTES } };
  const obj = asObject(node);
  // A oneof: when several members are given, etcd keeps one of them in map order; we keep the first in field order.
  let op: RequestOp | undefined;
  const range = get(obj, 'request_range', 'requestRange');
  if (range !== undefined) op = { requestRange: rangeRequest(asObject(range)) };
  const put = get(obj, 'request_put', 'requestPut');
  if (put !== undefined) {
    const decoded = putRequest(asObject(put));
    op ??= { requestPut: decoded };
  }
  const del = get(obj, 'request_delete_range', 'requestDeleteRange');
  if (del !== undefined) {
    const decoded = deleteRangeRequest(asObject(del));
    op ??= { requestDeleteRange: decoded };
  }
  const txn = get(obj, 'request_txn', 'requestTxn');
  if (txn !== undefined) {
    const decoded = txnRequest(asObject(txn));
    op ??= { requestTxn: decoded };
  }
  // An empty op: etcd applies it as a range over the empty key, which the API refuses as it should.
  return op ?? { requestRange: { key: EMPTY_BYTES } };
}

function txnRequest(obj: JsonObject): TxnRequest {
  const compareNode = get(obj, 'compare');
  const successNode = get(obj, 'success');
  const failureNode = get(obj, 'failure');
  return {
    compare: compareNode === undefined ? [] : asList(compareNode).map((n) => compare(n.kind === 'null' ? EMPTY_OBJECT : asObject(n))),
    success: successNode === undefined ? [] : asList(successNode).map(requestOp),
    failure: failureNode === undefined ? [] : asList(failureNode).map(requestOp),
  };
}

const EMPTY_OBJECT: JsonObject = { kind: 'object', fields: new Map() };

function compactionRequest(obj: JsonObject): CompactionRequest {
  const r: CompactionRequest = { revision: int64(obj, 'revision') ?? 0 };
  const physical = bool(obj, 'physical');
  if (physical !== undefined) r.physical = physical;
  return r;
}

function leaseGrantRequest(obj: JsonObject): LeaseGrantRequest {
  const r: LeaseGrantRequest = { TTL: int64(obj, 'TTL') ?? 0 };
  const id = int64Big(obj, 'ID');
  if (id !== undefined) r.ID = id;
  return r;
}

function leaseIdRequest(obj: JsonObject): LeaseRevokeRequest & LeaseKeepAliveRequest {
  return { ID: int64Big(obj, 'ID') ?? 0n };
}

function leaseTimeToLiveRequest(obj: JsonObject): LeaseTimeToLiveRequest {
  const r: LeaseTimeToLiveRequest = { ID: int64Big(obj, 'ID') ?? 0n };
  const keys = bool(obj, 'keys');
  if (keys !== undefined) r.keys = keys;
  return r;
}

function watchCreateRequest(obj: JsonObject): WatchCreateRequest {
  const r: WatchCreateRequest = { key: bytes(obj, 'key') ?? EMPTY_BYTES };
  const rangeEnd = bytes(obj, 'range_end', 'rangeEnd');
  if (rangeEnd !== undefined) r.rangeEnd = rangeEnd;
  const startRevision = int64(obj, 'start_revision', 'startRevision');
  if (startRevision !== undefined) r.startRevision = startRevision;
  const progressNotify = bool(obj, 'progress_notify', 'progressNotify');
  if (progressNotify !== undefined) r.progressNotify = progressNotify;
  const filters = get(obj, 'filters');
  if (filters !== undefined) r.filters = asList(filters).map((n) => enumOf<WatchFilter>(n, WatchFilter, 'etcdserverpb.WatchCreateRequest_FilterType'));
  const prevKv = bool(obj, 'prev_kv', 'prevKv');
  if (prevKv !== undefined) r.prevKv = prevKv;
  const watchId = int64(obj, 'watch_id', 'watchId');
  if (watchId !== undefined) r.watchId = watchId;
  const fragment = bool(obj, 'fragment');
  if (fragment !== undefined) r.fragment = fragment;
  return r;
}

/** undefined for a message with none of the three members (etcd ignores it). */
function watchRequest(obj: JsonObject): WatchRequest | undefined {
  let request: WatchRequest | undefined;
  const create = get(obj, 'create_request', 'createRequest');
  if (create !== undefined) request = { createRequest: watchCreateRequest(asObject(create)) };
  const cancel = get(obj, 'cancel_request', 'cancelRequest');
  if (cancel !== undefined) {
    const decoded = { watchId: int64(asObject(cancel), 'watch_id', 'watchId') ?? 0 };
    request ??= { cancelRequest: decoded };
  }
  const progress = get(obj, 'progress_request', 'progressRequest');
  if (progress !== undefined) {
    asObject(progress);
    request ??= { progressRequest: {} };
  }
  return request;
}

function memberAddRequest(obj: JsonObject): MemberAddRequest {
  const r: MemberAddRequest = { peerURLs: strings(obj, 'peerURLs') ?? [] };
  const isLearner = bool(obj, 'isLearner');
  if (isLearner !== undefined) r.isLearner = isLearner;
  return r;
}

const ZERO_ID = '0000000000000000';

function memberIdRequest(obj: JsonObject): MemberRemoveRequest & MemberPromoteRequest {
  return { ID: uint64Hex(obj, 'ID') ?? ZERO_ID };
}

function memberUpdateRequest(obj: JsonObject): MemberUpdateRequest {
  return { ID: uint64Hex(obj, 'ID') ?? ZERO_ID, peerURLs: strings(obj, 'peerURLs') ?? [] };
}

function alarmRequest(obj: JsonObject): AlarmRequest {
  return {
    action: enumField<AlarmAction>(obj, 'action', 'action', AlarmAction, 'etcdserverpb.AlarmRequest_AlarmAction') ?? AlarmAction.GET,
    memberID: uint64Hex(obj, 'memberID') ?? ZERO_ID,
    alarm: enumField<AlarmType>(obj, 'alarm', 'alarm', AlarmType, 'etcdserverpb.AlarmType') ?? AlarmType.NONE,
  };
}

function moveLeaderRequest(obj: JsonObject): MoveLeaderRequest {
  return { targetID: uint64Hex(obj, 'targetID') ?? ZERO_ID };
}

function hashKVRequest(obj: JsonObject): HashKVRequest {
  const revision = int64(obj, 'revision');
  return revision === undefined ? {} : { revision };
}

function emptyRequest(_obj: JsonObject): EmptyRequest {
  return {};
}

// ---- entry points ----

/** Decoders by message, each taking the top-level object of a body. */
export const decoders = {
  range: rangeRequest,
  put: putRequest,
  deleteRange: deleteRangeRequest,
  txn: txnRequest,
  compaction: compactionRequest,
  leaseGrant: leaseGrantRequest,
  leaseRevoke: leaseIdRequest,
  leaseKeepAlive: leaseIdRequest,
  leaseTimeToLive: leaseTimeToLiveRequest,
  watch: watchRequest,
  memberAdd: memberAddRequest,
  memberRemove: memberIdRequest,
  memberUpdate: memberUpdateRequest,
  memberPromote: memberIdRequest,
  alarm: alarmRequest,
  moveLeader: moveLeaderRequest,
  hashKV: hashKVRequest,
  empty: emptyRequest,
} as const;

/** Turns a top-level JSON value into the object a decoder takes: null and an empty body are the empty message. */
export function topLevelObject(node: JsonNode | undefined): JsonObject {
  if (node === undefined || node.kind === 'null') return EMPTY_OBJECT;
  return asObject(node);
}

/**
 * Decodes a whole unary body: its first JSON value (anything after it is ignored, as json.Decoder does), then the
 * message. Throws RequestDecodeError with etcd's message.
 */
export function decodeBody<T>(body: Uint8Array, decode: (obj: JsonObject) => T): T {
  try {
    const { node } = readFirstValue(body, 0, body.length);
    return decode(topLevelObject(node));
  } catch (error) {
    throw asDecodeError(error);
  }
}

/** Decodes one JSON value already cut out of a stream (or one WebSocket message). */
export function decodeValue<T>(node: JsonNode | undefined, decode: (obj: JsonObject) => T): T {
  try {
    return decode(topLevelObject(node));
  } catch (error) {
    throw asDecodeError(error);
  }
}
