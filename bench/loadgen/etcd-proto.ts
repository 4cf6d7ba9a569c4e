// The etcd v3 messages the gRPC driver needs, encoded and decoded by hand (see proto.ts for why). Encoders take plain
// objects; decoders return only the fields a benchmark looks at (revision, counts, ids, event values), so reading a
// response allocates little. Field numbers: rpc.proto / kv.proto of etcd 3.4.
import { key, ProtoReader, ProtoWriter, WireType } from './proto.js';

export const grpcPaths = {
  put: '/etcdserverpb.KV/Put',
  range: '/etcdserverpb.KV/Range',
  txn: '/etcdserverpb.KV/Txn',
  watch: '/etcdserverpb.Watch/Watch',
  leaseGrant: '/etcdserverpb.Lease/LeaseGrant',
  leaseKeepAlive: '/etcdserverpb.Lease/LeaseKeepAlive',
} as const;

export interface PutRequest {
  key: Uint8Array;
  value: Uint8Array;
  lease?: bigint;
  prevKv?: boolean;
}

export interface RangeRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  limit?: number;
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
}

export interface TxnRequest {
  /** Only puts in the success branch, no compares: the shape etcd's own txn-put benchmark sends. */
  success: PutRequest[];
}

export interface WatchCreateRequest {
  key: Uint8Array;
  rangeEnd?: Uint8Array;
  startRevision?: number;
  prevKv?: boolean;
  progressNotify?: boolean;
}

export interface ResponseHeader {
  revision: number;
}

export interface RangeSummary {
  revision: number;
  kvs: number;
  count: number;
  more: boolean;
}

export interface TxnSummary {
  revision: number;
  succeeded: boolean;
  responses: number;
}

export interface WatchEvent {
  /** 0 = PUT, 1 = DELETE */
  type: number;
  modRevision: number;
  /** The event's value, as a view into the response bytes (copy it to keep it). */
  value: Uint8Array;
}

export interface WatchResponse {
  revision: number;
  watchId: number;
  created: boolean;
  canceled: boolean;
  compactRevision: number;
  cancelReason: string;
  events: WatchEvent[];
}

export interface LeaseGrantResponse {
  revision: number;
  id: bigint;
  ttl: number;
  error: string;
}

export interface LeaseKeepAliveResponse {
  id: bigint;
  ttl: number;
}

const empty = new Uint8Array(0);

function writePut(w: ProtoWriter, r: PutRequest): ProtoWriter {
  w.bytesField(1, r.key).bytesField(2, r.value);
  if (r.lease !== undefined) w.int64Field(3, r.lease);
  return w.boolField(4, r.prevKv ?? false);
}

export function encodePutRequest(r: PutRequest): Buffer {
  return writePut(new ProtoWriter(r.key.length + r.value.length + 16), r).finish();
}

export function encodeRangeRequest(r: RangeRequest): Buffer {
  return new ProtoWriter(r.key.length * 2 + 24)
    .bytesField(1, r.key)
    .bytesField(2, r.rangeEnd ?? empty)
    .intField(3, r.limit ?? 0)
    .boolField(7, r.serializable ?? false)
    .boolField(8, r.keysOnly ?? false)
    .boolField(9, r.countOnly ?? false)
    .finish();
}

export function encodeTxnRequest(r: TxnRequest): Buffer {
  const w = new ProtoWriter(256);
  for (const put of r.success) {
    const op = new ProtoWriter(64).bytesField(2, encodePutRequest(put), true).finish(); // RequestOp.request_put = 2
    w.bytesField(2, op, true); // TxnRequest.success = 2
  }
  return w.finish();
}

export function encodeWatchCreateRequest(r: WatchCreateRequest): Buffer {
  const create = new ProtoWriter(64)
    .bytesField(1, r.key)
    .bytesField(2, r.rangeEnd ?? empty)
    .intField(3, r.startRevision ?? 0)
    .boolField(4, r.progressNotify ?? false)
    .boolField(6, r.prevKv ?? false)
    .finish();
  return new ProtoWriter(create.length + 8).bytesField(1, create, true).finish(); // WatchRequest.create_request = 1
}

export function encodeWatchCancelRequest(watchId: number): Buffer {
  const cancel = new ProtoWriter(16).intField(1, watchId).finish();
  return new ProtoWriter(24).bytesField(2, cancel, true).finish(); // WatchRequest.cancel_request = 2
}

export function encodeLeaseGrantRequest(ttlSeconds: number, id = 0n): Buffer {
  return new ProtoWriter(24).intField(1, ttlSeconds).int64Field(2, id).finish();
}

export function encodeLeaseKeepAliveRequest(id: bigint): Buffer {
  return new ProtoWriter(16).int64Field(1, id).finish();
}

/** A response holding only a header with this revision (what a PutResponse looks like); for the calibration server. */
export function encodeHeaderOnly(revision: number): Buffer {
  const header = new ProtoWriter(32).intField(1, 1).intField(2, 1).intField(3, revision).intField(4, 2).finish();
  return new ProtoWriter(header.length + 4).bytesField(1, header, true).finish();
}

function readHeader(bytes: Uint8Array, start: number, end: number): ResponseHeader {
  const r = new ProtoReader(bytes, start, end);
  let revision = 0;
  while (!r.done()) {
    const t = r.tag();
    if (t === key(3, WireType.Varint)) revision = r.int64();
    else r.skip(t & 7);
  }
  return { revision };
}

/** PutResponse, DeleteRangeResponse, or any response whose first field is the header: the header's revision. */
export function decodeHeaderRevision(bytes: Uint8Array): number {
  const r = new ProtoReader(bytes);
  while (!r.done()) {
    const t = r.tag();
    if (t === key(1, WireType.LengthDelimited)) {
      const [start, end] = r.lengthDelimited();
      return readHeader(bytes, start, end).revision;
    }
    r.skip(t & 7);
  }
  return 0;
}

export function decodeRangeResponse(bytes: Uint8Array): RangeSummary {
  const r = new ProtoReader(bytes);
  const out: RangeSummary = { revision: 0, kvs: 0, count: 0, more: false };
  while (!r.done()) {
    const t = r.tag();
    switch (t) {
      case key(1, WireType.LengthDelimited): {
        const [start, end] = r.lengthDelimited();
        out.revision = readHeader(bytes, start, end).revision;
        break;
      }
      case key(2, WireType.LengthDelimited):
        r.lengthDelimited();
        out.kvs++;
        break;
      case key(3, WireType.Varint):
        out.more = r.varint() !== 0;
        break;
      case key(4, WireType.Varint):
        out.count = r.int64();
        break;
      default:
        r.skip(t & 7);
    }
  }
  return out;
}

export function decodeTxnResponse(bytes: Uint8Array): TxnSummary {
  const r = new ProtoReader(bytes);
  const out: TxnSummary = { revision: 0, succeeded: false, responses: 0 };
  while (!r.done()) {
    const t = r.tag();
    switch (t) {
      case key(1, WireType.LengthDelimited): {
        const [start, end] = r.lengthDelimited();
        out.revision = readHeader(bytes, start, end).revision;
        break;
      }
      case key(2, WireType.Varint):
        out.succeeded = r.varint() !== 0;
        break;
      case key(3, WireType.LengthDelimited):
        r.lengthDelimited();
        out.responses++;
        break;
      default:
        r.skip(t & 7);
    }
  }
  return out;
}

function readKeyValue(bytes: Uint8Array, start: number, end: number, into: WatchEvent): void {
  const r = new ProtoReader(bytes, start, end);
  while (!r.done()) {
    const t = r.tag();
    if (t === key(3, WireType.Varint)) into.modRevision = r.int64();
    else if (t === key(5, WireType.LengthDelimited)) {
      const [s, e] = r.lengthDelimited();
      into.value = bytes.subarray(s, e);
    } else r.skip(t & 7);
  }
}

function readEvent(bytes: Uint8Array, start: number, end: number): WatchEvent {
  const r = new ProtoReader(bytes, start, end);
  const event: WatchEvent = { type: 0, modRevision: 0, value: empty };
  while (!r.done()) {
    const t = r.tag();
    if (t === key(1, WireType.Varint)) event.type = r.varint();
    else if (t === key(2, WireType.LengthDelimited)) {
      const [s, e] = r.lengthDelimited();
      readKeyValue(bytes, s, e, event);
    } else r.skip(t & 7);
  }
  return event;
}

export function decodeWatchResponse(bytes: Uint8Array): WatchResponse {
  const r = new ProtoReader(bytes);
  const out: WatchResponse = { revision: 0, watchId: 0, created: false, canceled: false, compactRevision: 0, cancelReason: '', events: [] };
  while (!r.done()) {
    const t = r.tag();
    switch (t) {
      case key(1, WireType.LengthDelimited): {
        const [start, end] = r.lengthDelimited();
        out.revision = readHeader(bytes, start, end).revision;
        break;
      }
      case key(2, WireType.Varint):
        out.watchId = r.int64();
        break;
      case key(3, WireType.Varint):
        out.created = r.varint() !== 0;
        break;
      case key(4, WireType.Varint):
        out.canceled = r.varint() !== 0;
        break;
      case key(5, WireType.Varint):
        out.compactRevision = r.int64();
        break;
      case key(6, WireType.LengthDelimited): {
        const [start, end] = r.lengthDelimited();
        out.cancelReason = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
        break;
      }
      case key(11, WireType.LengthDelimited): {
        const [start, end] = r.lengthDelimited();
        out.events.push(readEvent(bytes, start, end));
        break;
      }
      default:
        r.skip(t & 7);
    }
  }
  return out;
}

export function decodeLeaseGrantResponse(bytes: Uint8Array): LeaseGrantResponse {
  const r = new ProtoReader(bytes);
  const out: LeaseGrantResponse = { revision: 0, id: 0n, ttl: 0, error: '' };
  while (!r.done()) {
    const t = r.tag();
    switch (t) {
      case key(1, WireType.LengthDelimited): {
        const [start, end] = r.lengthDelimited();
        out.revision = readHeader(bytes, start, end).revision;
        break;
      }
      case key(2, WireType.Varint):
        out.id = BigInt.asIntN(64, r.varint64());
        break;
      case key(3, WireType.Varint):
        out.ttl = r.int64();
        break;
      case key(4, WireType.LengthDelimited): {
        const [start, end] = r.lengthDelimited();
        out.error = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
        break;
      }
      default:
        r.skip(t & 7);
    }
  }
  return out;
}

export function decodeLeaseKeepAliveResponse(bytes: Uint8Array): LeaseKeepAliveResponse {
  const r = new ProtoReader(bytes);
  const out: LeaseKeepAliveResponse = { id: 0n, ttl: 0 };
  while (!r.done()) {
    const t = r.tag();
    if (t === key(2, WireType.Varint)) out.id = BigInt.asIntN(64, r.varint64());
    else if (t === key(3, WireType.Varint)) out.ttl = r.int64();
    else r.skip(t & 7);
  }
  return out;
}
