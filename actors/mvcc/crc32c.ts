// CRC-32C (Castagnoli), table driven, for the store hash that members compare (like etcd's HashKV, which also uses
// Castagnoli). Incremental: feed bytes and numbers in a fixed order and read the value at the end.

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export class Crc32c {
  private crc = 0xffffffff;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  bytes(data: Uint8Array): this {
    let c = this.crc;
    for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
    this.crc = c;
    return this;
  }

  /** A binary string (one byte per code unit). */
  binary(s: string): this {
    let c = this.crc;
    for (let i = 0; i < s.length; i++) c = TABLE[(c ^ s.charCodeAt(i)) & 0xff]! ^ (c >>> 8);
    this.crc = c;
    return this;
  }

  /** An integer-valued number (revisions, versions, lengths) as 8 little-endian bytes. */
  number(value: number): this {
    this.scratch.setFloat64(0, value, true);
    return this.eight();
  }

  bigint(value: bigint): this {
    this.scratch.setBigInt64(0, value, true);
    return this.eight();
  }

  private eight(): this {
    let c = this.crc;
    for (let i = 0; i < 8; i++) c = TABLE[(c ^ this.scratch.getUint8(i)) & 0xff]! ^ (c >>> 8);
    this.crc = c;
    return this;
  }

  value(): number {
    return (this.crc ^ 0xffffffff) >>> 0;
  }
}
