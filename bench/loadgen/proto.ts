// Protocol buffers by hand: the handful of etcd messages the gRPC driver sends and reads. A generated codec (or
// proto-loader) would pull in a schema compiler and allocate an object graph per message; the generator only needs a
// few fields, so it writes them directly and reads responses with a cursor that skips what it does not need.
//
// Wire format reminder: each field is a tag varint (field number << 3 | wire type) followed by a varint (wire type 0)
// or a length varint and that many bytes (wire type 2). int64 values are varints of their two's complement, so a
// negative number always takes ten bytes. Field numbers come from etcd's rpc.proto and kv.proto.
import { ProtocolError } from './errors.js';

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

/** Appends protobuf fields to a growing buffer; `finish` returns the bytes written so far as a new Buffer. */
export class ProtoWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialBytes = 256) {
    this.buffer = Buffer.allocUnsafe(initialBytes);
  }

  private ensure(extraBytes: number): void {
    if (this.length + extraBytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extraBytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  /** Unsigned varint of a safe integer (0 <= value <= 2^53 - 1). */
  varint(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new ProtocolError(`varint out of range: ${value}`);
    this.ensure(10);
    while (value > 0x7f) {
      this.buffer[this.length++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.length++] = value;
    return this;
  }

  /** Varint of a 64-bit integer given as bigint (negative values in two's complement, ten bytes). */
  varint64(value: bigint): this {
    let v = BigInt.asUintN(64, value);
    this.ensure(10);
    while (v > 0x7fn) {
      this.buffer[this.length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.length++] = Number(v);
    return this;
  }

  tag(field: number, wireType: WireType): this {
    return this.varint(field * 8 + wireType);
  }

  /** An integer field (int64, uint64, int32, bool, enum); zero values are skipped as proto3 does. */
  intField(field: number, value: number): this {
    if (value === 0) return this;
    if (value < 0) return this.tag(field, WireType.Varint).varint64(BigInt(value));
    return this.tag(field, WireType.Varint).varint(value);
  }

  int64Field(field: number, value: bigint): this {
    if (value === 0n) return this;
    return this.tag(field, WireType.Varint).varint64(value);
  }

  boolField(field: number, value: boolean): this {
    return value ? this.tag(field, WireType.Varint).varint(1) : this;
  }

  /** A bytes, string or embedded-message field. Empty bytes are skipped (proto3 default) unless `always` is set. */
  bytesField(field: number, bytes: Uint8Array, always = false): this {
    if (bytes.length === 0 && !always) return this;
    this.tag(field, WireType.LengthDelimited).varint(bytes.length);
    this.ensure(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}

/** A cursor over one message's bytes. Embedded messages are read with a new reader over their sub-range. */
export class ProtoReader {
  pos: number;

  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Unsigned varint as a number; exact up to 2^53, beyond that rounded (use varint64 for ids). */
  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtocolError('truncated varint');
      const byte = this.bytes[this.pos++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    throw new ProtocolError('varint longer than ten bytes');
  }

  /** Varint as an unsigned 64-bit bigint. */
  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtocolError('truncated varint');
      const byte = this.bytes[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new ProtocolError('varint longer than ten bytes');
  }

  /** Varint read as a signed int64 that fits a number (revisions, counts, TTLs, negative watch ids). */
  int64(): number {
    const start = this.pos;
    const small = this.varint();
    if (small <= Number.MAX_SAFE_INTEGER && this.pos - start < 10) return small;
    this.pos = start;
    return Number(BigInt.asIntN(64, this.varint64()));
  }

  /** Reads a tag; returns field number * 8 + wire type (compare with `key(field, type)`). */
  tag(): number {
    return this.varint();
  }

  /** Start and end offsets of a length-delimited field's payload; advances past it. */
  lengthDelimited(): [start: number, end: number] {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new ProtocolError(`length-delimited field overruns its message (${length} bytes)`);
    this.pos = end;
    return [start, end];
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.lengthDelimited();
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        throw new ProtocolError(`unsupported wire type ${wireType}`);
    }
  }

  private advance(bytes: number): void {
    if (this.pos + bytes > this.end) throw new ProtocolError('truncated fixed-width field');
    this.pos += bytes;
  }
}

/** The tag value of a field: what `ProtoReader.tag()` returns for it. */
export function key(field: number, wireType: WireType): number {
  return field * 8 + wireType;
}
