// Protobuf encoded sizes of watch events, computed without encoding, so the hub can fragment a large watch response
// where etcd would (etcd measures the encoded WatchResponse against its request limit plus gRPC overhead).
import type { Event, KeyValue } from '../../api/types.js';

function varintBytes(value: number): number {
  if (value < 0) return 10; // negative int64: ten bytes in protobuf
  let bytes = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    bytes++;
  }
  return bytes;
}

function bigintVarintBytes(value: bigint): number {
  if (value < 0n) return 10;
  let bytes = 1;
  while (value >= 0x80n) {
    value >>= 7n;
    bytes++;
  }
  return bytes;
}

/** A length-delimited field: tag, length, payload. */
function delimited(length: number): number {
  return 1 + varintBytes(length) + length;
}

export function keyValueBytes(kv: KeyValue): number {
  let size = 0;
  if (kv.key.length > 0) size += delimited(kv.key.length);
  if (kv.createRevision !== 0) size += 1 + varintBytes(kv.createRevision);
  if (kv.modRevision !== 0) size += 1 + varintBytes(kv.modRevision);
  if (kv.version !== 0) size += 1 + varintBytes(kv.version);
  if (kv.value.length > 0) size += delimited(kv.value.length);
  if (kv.lease !== 0n) size += 1 + bigintVarintBytes(kv.lease);
  return size;
}

export function eventBytes(event: Event): number {
  let size = 0;
  if (event.type !== 0) size += 2;
  size += delimited(keyValueBytes(event.kv));
  if (event.prevKv) size += delimited(keyValueBytes(event.prevKv));
  return size;
}

/** The size of one event inside a WatchResponse (its field tag and length prefix included). */
export function eventFieldBytes(event: Event): number {
  return delimited(eventBytes(event));
}

/** Header, watch id and flags of a WatchResponse, generously estimated. */
export const WATCH_RESPONSE_BASE_BYTES = 64;
