// The protobuf-encoded size of a decoded request. etcd's gRPC server refuses a message bigger than
// --max-request-bytes + 512 KiB before anything else looks at it ("grpc: received message larger than max (N vs. M)",
// code 8, HTTP 429), and the number it prints is this size, so the gateway computes it the same way for the requests
// that can be that large (put, txn, range, delete). Others are bounded by the body cap alone.
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest } from '../../api/types.js';

function varintBytes(value: number | bigint): number {
  let v = BigInt.asUintN(64, BigInt(value));
  let n = 1;
  while (v >= 0x80n) {
    v >>= 7n;
    n++;
  }
  return n;
}

function smallVarintBytes(value: number): number {
  if (value < 0) return 10;
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return varintBytes(value);
}

function tagBytes(field: number): number {
  return field < 16 ? 1 : 2;
}

function bytesField(field: number, value: Uint8Array | undefined): number {
  if (value === undefined || value.length === 0) return 0;
  return tagBytes(field) + smallVarintBytes(value.length) + value.length;
}

function intField(field: number, value: number | bigint | undefined): number {
  if (value === undefined || value == 0) return 0;
  return tagBytes(field) + (typeof value === 'number' ? smallVarintBytes(value) : varintBytes(value));
}

function boolField(field: number, value: boolean | undefined): number {
  return value === true ? tagBytes(field) + 1 : 0;
}

function messageField(field: number, size: number): number {
  return tagBytes(field) + smallVarintBytes(size) + size;
}

export function rangeSize(r: RangeRequest): number {
  return (
    bytesField(1, r.key) + bytesField(2, r.rangeEnd) + intField(3, r.limit) + intField(4, r.revision) +
    intField(5, r.sortOrder) + intField(6, r.sortTarget) + boolField(7, r.serializable) + boolField(8, r.keysOnly) +
    boolField(9, r.countOnly) + intField(10, r.minModRevision) + intField(11, r.maxModRevision) +
    intField(12, r.minCreateRevision) + intField(13, r.maxCreateRevision)
  );
}

export function putSize(r: PutRequest): number {
  return (
    bytesField(1, r.key) + bytesField(2, r.value) + intField(3, r.lease) + boolField(4, r.prevKv) +
    boolField(5, r.ignoreValue) + boolField(6, r.ignoreLease)
  );
}

export function deleteRangeSize(r: DeleteRangeRequest): number {
  return bytesField(1, r.key) + bytesField(2, r.rangeEnd) + boolField(3, r.prevKv);
}

function compareSize(c: Compare): number {
  return (
    intField(1, c.result) + intField(2, c.target) + bytesField(3, c.key) + intField(4, c.version) +
    intField(5, c.createRevision) + intField(6, c.modRevision) + bytesField(7, c.value) + intField(8, c.lease) +
    bytesField(64, c.rangeEnd)
  );
}

function requestOpSize(op: RequestOp): number {
  if ('requestRange' in op) return messageField(1, rangeSize(op.requestRange));
  if ('requestPut' in op) return messageField(2, putSize(op.requestPut));
  if ('requestDeleteRange' in op) return messageField(3, deleteRangeSize(op.requestDeleteRange));
  return messageField(4, txnSize(op.requestTxn));
}

export function txnSize(r: TxnRequest): number {
  let size = 0;
  for (const c of r.compare) size += messageField(1, compareSize(c));
  for (const op of r.success) size += messageField(2, requestOpSize(op));
  for (const op of r.failure) size += messageField(3, requestOpSize(op));
  return size;
}
