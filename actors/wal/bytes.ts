// Little-endian field encoding for the on-disk formats (WAL records and snapshot headers). The formats are written by
// hand rather than with a general codec so that a file written today stays readable whatever a codec library does
// tomorrow, and so the hot records (entries, hard state) cost no allocation beyond their bytes.
import { assert, AssertionError } from '../../runtime/assert.js';

const two32 = 2 ** 32;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Writes a non-negative safe integer as a u64 (two u32 halves: no BigInt on the hot path). */
export function setU64(view: DataView, offset: number, value: number): void {
  // on the hot path (twice per entry record): the message is built only when the check fails
  if (!(Number.isSafeInteger(value) && value >= 0)) throw new AssertionError(`u64 field out of range: ${value}`);
  view.setUint32(offset, value >>> 0, true);
  view.setUint32(offset + 4, Math.floor(value / two32), true);
}

/** Reads a u64 written by setU64; returns undefined when it is beyond the safe integer range (a damaged field). */
export function getU64(view: DataView, offset: number): number | undefined {
  const high = view.getUint32(offset + 4, true);
  if (high >= 2 ** 21) return undefined;
  return high * two32 + view.getUint32(offset, true);
}

/** The field a decoder could not read. Decoders throw it; the caller adds the file and byte offset. */
export class FieldDecodeError extends Error {
  override name = 'FieldDecodeError';
}

/** Grows as fields are appended; for the small, rare payloads (metadata, snapshot markers, snapshot headers). */
export class ByteWriter {
  private bytes = new Uint8Array(256);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, at + n));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += n;
    return at;
  }
  u8(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value < 256, `u8 field out of range: ${value}`);
    this.bytes[this.reserve(1)] = value;
    return this;
  }
  u16(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value < 65536, `u16 field out of range: ${value}`);
    this.view.setUint16(this.reserve(2), value, true);
    return this;
  }
  u32(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value < two32, `u32 field out of range: ${value}`);
    this.view.setUint32(this.reserve(4), value, true);
    return this;
  }
  u64(value: number): this {
    setU64(this.view, this.reserve(8), value);
    return this;
  }
  raw(bytes: Uint8Array): this {
    this.bytes.set(bytes, this.reserve(bytes.length));
    return this;
  }
  /** u32 length, then the bytes. */
  blob(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes);
  }
  /** u16 length, then UTF-8. */
  string(value: string): this {
    const encoded = textEncoder.encode(value);
    return this.u16(encoded.length).raw(encoded);
  }
  /** u32 count, then each string. */
  strings(values: readonly string[]): this {
    this.u32(values.length);
    for (const v of values) this.string(v);
    return this;
  }
  /** An exact-size copy of what was written. */
  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Reads fields in order from bytes[start, end); any read past `end` throws FieldDecodeError. */
export class ByteReader {
  private readonly view: DataView;
  offset: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = start;
  }

  private take(n: number, what: string): number {
    if (this.offset + n > this.end) throw new FieldDecodeError(`${what} runs past the end of its payload`);
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(what: string): number {
    return this.bytes[this.take(1, what)]!;
  }
  u16(what: string): number {
    return this.view.getUint16(this.take(2, what), true);
  }
  u32(what: string): number {
    return this.view.getUint32(this.take(4, what), true);
  }
  u64(what: string): number {
    const value = getU64(this.view, this.take(8, what));
    if (value === undefined) throw new FieldDecodeError(`${what} is beyond the safe integer range`);
    return value;
  }
  /** A copy, so the result does not pin the (large) buffer it was read from. */
  raw(n: number, what: string): Uint8Array {
    const at = this.take(n, what);
    return this.bytes.slice(at, at + n);
  }
  blob(what: string): Uint8Array {
    return this.raw(this.u32(`${what} length`), what);
  }
  string(what: string): string {
    const n = this.u16(`${what} length`);
    const at = this.take(n, what);
    try {
      return textDecoder.decode(this.bytes.subarray(at, at + n));
    } catch {
      throw new FieldDecodeError(`${what} is not valid UTF-8`);
    }
  }
  strings(what: string): string[] {
    const count = this.u32(`${what} count`);
    if (count > this.end - this.offset) throw new FieldDecodeError(`${what} count ${count} exceeds its payload`);
    const values: string[] = [];
    for (let i = 0; i < count; i++) values.push(this.string(what));
    return values;
  }
  /** Every byte was consumed: trailing bytes mean the payload is not what the writer wrote. */
  done(what: string): void {
    if (this.offset !== this.end) throw new FieldDecodeError(`${what} has ${this.end - this.offset} unexpected trailing bytes`);
  }
}
