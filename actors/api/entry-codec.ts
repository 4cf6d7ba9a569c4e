// The bytes of a raft entry's payload: one InternalRequest.
//
// Puts are most of a write-heavy log, so a put has a fixed binary layout that is built and read with a few stores and
// loads. Everything else (and every entry written before this layout existed) is the CBOR encoding of the request
// (runtime/codec.ts encodeValue). The two never collide: a put starts with 0xff, which is CBOR's "break" code and
// never begins a CBOR data item.
//
// Put layout, little-endian:
//   0   0xff             marker
//   1   1                kind: put
//   2   flags            bit 0 prevKv, bit 1 ignoreValue, bit 2 ignoreLease, bit 3 a lease follows
//   3   m                length of the member id
//   4   id               float64 (a safe integer)
//   12  boot             float64
//   20  member           m ASCII bytes
//       lease            int64, when flag bit 3
//       key length       uint32, then the key
//       value length     uint32, then the value
//
// Decoding a put hands back key and value as views into the payload: the store copies what it keeps.
import { decodeValue, encodeValue } from '../../runtime/codec.js';
import type { InternalRequest } from './internal.js';
import type { PutRequest } from './types.js';

const MARKER = 0xff;
const KIND_PUT = 1;
const FLAG_PREV_KV = 1;
const FLAG_IGNORE_VALUE = 2;
const FLAG_IGNORE_LEASE = 4;
const FLAG_LEASE = 8;
const FIXED_BYTES = 20;

/** Scratch for float64 and int64 fields: copying 8 bytes in and out beats a DataView per entry. */
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
/** Float64Array uses the host's byte order; the layout is little-endian everywhere. */
const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class EntryPayloadError extends Error {
  constructor(message: string) {
    super(`entry payload: ${message}`);
    this.name = 'EntryPayloadError';
  }
}

export function encodeInternalRequest(request: InternalRequest): Uint8Array {
  if (request.op.type === 'put' && fitsPutLayout(request)) return encodePut(request, request.op.req);
  return encodeValue(request);
}

export function decodeInternalRequest(data: Uint8Array): InternalRequest {
  if (data.length > 0 && data[0] === MARKER) return decodePut(data);
  return decodeValue<InternalRequest>(data);
}

function fitsPutLayout(request: InternalRequest): boolean {
  const member = request.member;
  if (typeof member !== 'string' || member.length > 255) return false;
  for (let i = 0; i < member.length; i++) if (member.charCodeAt(i) > 0x7f) return false;
  return Number.isSafeInteger(request.id) && Number.isFinite(request.boot);
}

function encodePut(request: InternalRequest, req: PutRequest): Uint8Array {
  const member = request.member;
  const key = req.key;
  const value = req.value ?? new Uint8Array(0);
  const hasLease = req.lease !== undefined;
  const size = FIXED_BYTES + member.length + (hasLease ? 8 : 0) + 4 + key.length + 4 + value.length;
  const out = new Uint8Array(size);
  out[0] = MARKER;
  out[1] = KIND_PUT;
  out[2] = (req.prevKv ? FLAG_PREV_KV : 0) | (req.ignoreValue ? FLAG_IGNORE_VALUE : 0) | (req.ignoreLease ? FLAG_IGNORE_LEASE : 0) | (hasLease ? FLAG_LEASE : 0);
  out[3] = member.length;
  writeFloat64(out, 4, request.id);
  writeFloat64(out, 12, request.boot);
  let at = FIXED_BYTES;
  for (let i = 0; i < member.length; i++) out[at++] = member.charCodeAt(i);
  if (hasLease) {
    const lease = BigInt.asUintN(64, req.lease!);
    writeUint32(out, at, Number(lease & 0xffffffffn));
    writeUint32(out, at + 4, Number(lease >> 32n));
    at += 8;
  }
  writeUint32(out, at, key.length);
  out.set(key, at + 4);
  at += 4 + key.length;
  writeUint32(out, at, value.length);
  out.set(value, at + 4);
  return out;
}

function decodePut(data: Uint8Array): InternalRequest {
  if (data.length < FIXED_BYTES) throw new EntryPayloadError(`${data.length} bytes is shorter than a put's fixed fields`);
  if (data[1] !== KIND_PUT) throw new EntryPayloadError(`unknown binary kind ${data[1]}`);
  const flags = data[2]!;
  if (flags > 15) throw new EntryPayloadError(`unknown put flags ${flags}`);
  const memberLength = data[3]!;
  const id = readFloat64(data, 4);
  const boot = readFloat64(data, 12);
  let at = FIXED_BYTES;
  need(data, at, memberLength, 'member id');
  let member = '';
  for (let i = 0; i < memberLength; i++) member += String.fromCharCode(data[at + i]!);
  at += memberLength;
  let lease: bigint | undefined;
  if ((flags & FLAG_LEASE) !== 0) {
    need(data, at, 8, 'lease');
    lease = BigInt.asIntN(64, (BigInt(readUint32(data, at + 4)) << 32n) | BigInt(readUint32(data, at)));
    at += 8;
  }
  need(data, at, 4, 'key length');
  const keyLength = readUint32(data, at);
  at += 4;
  need(data, at, keyLength, 'key');
  const key = data.subarray(at, at + keyLength);
  at += keyLength;
  need(data, at, 4, 'value length');
  const valueLength = readUint32(data, at);
  at += 4;
  if (at + valueLength !== data.length) throw new EntryPayloadError(`value of ${valueLength} bytes does not end the ${data.length}-byte payload`);
  const req: PutRequest = { key, value: data.subarray(at) };
  if (lease !== undefined) req.lease = lease;
  if ((flags & FLAG_PREV_KV) !== 0) req.prevKv = true;
  if ((flags & FLAG_IGNORE_VALUE) !== 0) req.ignoreValue = true;
  if ((flags & FLAG_IGNORE_LEASE) !== 0) req.ignoreLease = true;
  return { id, member, boot, op: { type: 'put', req } };
}

function need(data: Uint8Array, at: number, bytes: number, what: string): void {
  if (at + bytes > data.length) throw new EntryPayloadError(`${what} runs past the end of the ${data.length}-byte payload`);
}

function readFloat64(data: Uint8Array, at: number): number {
  if (hostLittleEndian) for (let i = 0; i < 8; i++) scratchBytes[i] = data[at + i]!;
  else for (let i = 0; i < 8; i++) scratchBytes[7 - i] = data[at + i]!;
  return scratch[0]!;
}

function writeFloat64(out: Uint8Array, at: number, value: number): void {
  scratch[0] = value;
  if (hostLittleEndian) for (let i = 0; i < 8; i++) out[at + i] = scratchBytes[i]!;
  else for (let i = 0; i < 8; i++) out[at + i] = scratchBytes[7 - i]!;
}

function readUint32(data: Uint8Array, at: number): number {
  return (data[at]! | (data[at + 1]! << 8) | (data[at + 2]! << 16) | (data[at + 3]! << 24)) >>> 0;
}

function writeUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value & 0xff;
  out[at + 1] = (value >>> 8) & 0xff;
  out[at + 2] = (value >>> 16) & 0xff;
  out[at + 3] = value >>> 24;
}
