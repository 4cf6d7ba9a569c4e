// Base64 as etcd's gateway reads and writes it: Go's standard encoding with padding. Reading is strict in Go's way —
// the URL-safe alphabet is refused, padding is required, CR and LF are skipped anywhere — and a refusal names the
// offset Go names ("illegal base64 data at input byte N"), because that text reaches the client in a 400.
// Node's own decoder is lenient (it accepts both alphabets and skips junk), so it cannot be used for reading.

/** Input that is not standard padded base64; the message is Go's CorruptInputError text. */
export class Base64Error extends Error {
  override name = 'Base64Error';
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
  }
}

const INVALID = 0xff;
const decodeMap = new Uint8Array(256).fill(INVALID);
const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
for (let i = 0; i < alphabet.length; i++) decodeMap[alphabet.charCodeAt(i)] = i;
const PAD = 0x3d;

function isNewline(c: number): boolean {
  return c === 0x0a || c === 0x0d;
}

const EMPTY = new Uint8Array(0);

/** Decodes src[start, end) as Go's base64.StdEncoding.Decode does, throwing Base64Error where it fails. */
export function decodeBase64(src: Uint8Array, start = 0, end = src.length): Uint8Array {
  return decodeCanonical(src, start, end) ?? decodeGo(src, start, end);
}

/**
 * The common case in one tight pass: whole quanta, padding only at the end, no newlines. Returns undefined for
 * anything else, which the exact (slower) decoder then reads or refuses with Go's offsets.
 */
function decodeCanonical(src: Uint8Array, start: number, end: number): Uint8Array | undefined {
  const length = end - start;
  if (length === 0) return EMPTY;
  if ((length & 3) !== 0) return undefined;
  let pad = 0;
  if (src[end - 1] === PAD) pad = src[end - 2] === PAD ? 2 : 1;
  const out = new Uint8Array((length >> 2) * 3 - pad);
  const full = pad === 0 ? end : end - 4;
  let o = 0;
  for (let i = start; i < full; i += 4) {
    const a = decodeMap[src[i]!]!;
    const b = decodeMap[src[i + 1]!]!;
    const c = decodeMap[src[i + 2]!]!;
    const d = decodeMap[src[i + 3]!]!;
    if (((a | b | c | d) & 0xc0) !== 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  if (pad > 0) {
    const a = decodeMap[src[full]!]!;
    const b = decodeMap[src[full + 1]!]!;
    const c = pad === 1 ? decodeMap[src[full + 2]!]! : 0;
    if (((a | b | c) & 0xc0) !== 0) return undefined;
    const v = (a << 18) | (b << 12) | (c << 6);
    out[o++] = v >> 16;
    if (pad === 1) out[o++] = (v >> 8) & 0xff;
  }
  return out;
}

function decodeGo(src: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(Math.floor((end - start) / 4) * 3 + 3);
  let n = 0;
  let si = start;
  const quantum = [0, 0, 0, 0];
  for (;;) {
    // One quantum of up to four symbols.
    let dlen = 4;
    let j = 0;
    let trailing = -1;
    for (; j < 4; j++) {
      if (si === end) {
        if (j === 0) return out.subarray(0, n);
        throw new Base64Error(si - j - start);
      }
      const c = src[si++]!;
      const v = decodeMap[c]!;
      if (v !== INVALID) {
        quantum[j] = v;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== PAD) throw new Base64Error(si - 1 - start);
      // Padding: only valid after two or three symbols, and must be followed by nothing but newlines.
      if (j === 0 || j === 1) throw new Base64Error(si - 1 - start);
      if (j === 2) {
        while (si < end && isNewline(src[si]!)) si++;
        if (si === end) throw new Base64Error(end - start);
        if (src[si] !== PAD) throw new Base64Error(si - 1 - start);
        si++;
      }
      while (si < end && isNewline(src[si]!)) si++;
      if (si < end) trailing = si - start;
      dlen = j;
      break;
    }
    const value = (quantum[0]! << 18) | (quantum[1]! << 12) | ((dlen > 2 ? quantum[2]! : 0) << 6) | (dlen > 3 ? quantum[3]! : 0);
    out[n++] = (value >> 16) & 0xff;
    if (dlen > 2) out[n++] = (value >> 8) & 0xff;
    if (dlen > 3) out[n++] = value & 0xff;
    if (trailing >= 0) throw new Base64Error(trailing);
    if (dlen < 4) return out.subarray(0, n);
  }
}

type SliceEncoder = (this: Uint8Array, start: number, end: number) => string;

/**
 * Node's native base64 writer, called on any Uint8Array without wrapping it in a Buffer first (wrapping costs more
 * than encoding a key). It is an undocumented Buffer method, so its presence and output are checked at load, with
 * the documented route as the fallback.
 */
const nativeSlice = (Buffer.prototype as unknown as { base64Slice?: SliceEncoder }).base64Slice;
const sliceWorks = typeof nativeSlice === 'function' && nativeSlice.call(new Uint8Array([1, 2, 3, 4, 5]).subarray(1), 0, 4) === 'AgMEBQ==';

/** Standard padded base64 of bytes (what etcd writes for every bytes field). */
export function encodeBase64(bytes: Uint8Array): string {
  if (bytes.length === 0) return '';
  if (sliceWorks) return nativeSlice!.call(bytes, 0, bytes.length);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
