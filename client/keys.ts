// Keys and key ranges as etcd's clients spell them. A range is [key, rangeEnd): an empty rangeEnd is the single key,
// "\0" means every key >= key, and a prefix is [prefix, prefix with its last byte incremented). An empty key with
// "prefix" or "fromKey" means every key (etcd's key "\0" with range end "\0").
import type { Bytes } from '../actors/api/types.js';

const encoder = new TextEncoder();

export type KeyInput = string | Uint8Array;

export function toBytes(input: KeyInput): Bytes {
  return typeof input === 'string' ? encoder.encode(input) : input;
}

const zero = new Uint8Array([0]);

/** The end of the range holding every key that starts with `prefix`; "\0" (no end) when no such bound exists. */
export function prefixEnd(prefix: Bytes): Bytes {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.slice(0, i + 1);
    }
  }
  return zero;
}

export interface RangeSpec {
  /** Every key starting with the key. */
  prefix?: boolean;
  /** Every key >= the key. */
  fromKey?: boolean;
  /** Explicit end (exclusive). */
  rangeEnd?: KeyInput;
}

/** Resolves the key and range end a request carries, as clientv3's WithPrefix / WithFromKey / WithRange do. */
export function resolveRange(keyInput: KeyInput, spec: RangeSpec): { key: Bytes; rangeEnd: Bytes | undefined } {
  let key = toBytes(keyInput);
  if (spec.prefix) {
    if (key.length === 0) return { key: zero, rangeEnd: zero };
    return { key, rangeEnd: prefixEnd(key) };
  }
  if (spec.fromKey) {
    if (key.length === 0) key = zero;
    return { key, rangeEnd: zero };
  }
  if (spec.rangeEnd !== undefined) return { key, rangeEnd: toBytes(spec.rangeEnd) };
  return { key, rangeEnd: undefined };
}

/** Byte-wise comparison, as etcd orders keys. */
export function compareBytes(a: Bytes, b: Bytes): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bytesToString(bytes: Bytes): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** A lease ID as etcdctl prints it: 16 lowercase hex digits of the int64 (%016x). */
export function leaseIdHex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16).padStart(16, '0');
}

/** A lease ID in a recipe's key, as etcd's recipes write it: lowercase hex without leading zeros (%x). */
export function leaseIdKeyHex(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16);
}
