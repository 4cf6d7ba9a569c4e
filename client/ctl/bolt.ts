// Reads an etcd snapshot file for `snapshot status`. etcd's snapshot is its backend database, a bbolt file (plus a
// 32-byte SHA-256 appended by `snapshot save`), so this is a small read-only bbolt reader: two meta pages (the valid
// one with the higher transaction id wins), branch pages pointing to children, leaf pages holding key/value
// elements, buckets as leaf values (a 16-byte header; root page 0 means the bucket's page is inlined right after it).
//
// What status reports, as etcdctl computes it: a CRC-32C over every bucket name and every key and value in order;
// the number of keys in all buckets; the revision of the last key of the "key" bucket (keys there are 8-byte
// big-endian main revision, '_', 8-byte sub revision); and the database size (high-water page id x page size).
import { readFileSync } from 'node:fs';

export class SnapshotFormatError extends Error {}

const pageHeaderBytes = 16;
const elementBytes = 16;
const flagBranch = 0x01;
const flagLeaf = 0x02;
const flagMeta = 0x04;
const bucketLeafFlag = 0x01;
const boltMagic = 0xed0cdaed;

let crcTable: Uint32Array | undefined;

/** CRC-32C (Castagnoli), reflected, as Go's hash/crc32 with the Castagnoli table. */
export function crc32c(crc: number, data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** FNV-1a 64, bbolt's meta checksum. */
function fnv1a64(data: Uint8Array): bigint {
  let h = 0xcbf29ce484222325n;
  for (const b of data) {
    h ^= BigInt(b);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h;
}

interface Meta {
  pageSize: number;
  rootPage: bigint;
  highWaterPage: bigint;
  txid: bigint;
}

function readMeta(file: Buffer, offset: number): Meta | undefined {
  const at = offset + pageHeaderBytes;
  if (at + 64 > file.length) return undefined;
  if ((file.readUInt16LE(offset + 8) & flagMeta) === 0) return undefined;
  if (file.readUInt32LE(at) !== boltMagic || file.readUInt32LE(at + 4) !== 2) return undefined;
  if (fnv1a64(file.subarray(at, at + 56)) !== file.readBigUInt64LE(at + 56)) return undefined;
  return {
    pageSize: file.readUInt32LE(at + 8),
    rootPage: file.readBigUInt64LE(at + 16),
    highWaterPage: file.readBigUInt64LE(at + 40),
    txid: file.readBigUInt64LE(at + 48),
  };
}

/** A page: its bytes start at `offset` of `data` (the file, or an inline bucket's value). */
interface Page {
  data: Uint8Array & Buffer;
  offset: number;
}

export interface BoltEntry {
  key: Buffer;
  value: Buffer;
  isBucket: boolean;
}

export class BoltFile {
  readonly pageSize: number;
  readonly sizeBytes: number;
  private readonly root: bigint;

  constructor(private readonly file: Buffer) {
    if (file.length < 2 * pageHeaderBytes + 64) throw new SnapshotFormatError('file too small to be a bolt database');
    const first = readMeta(file, 0);
    const pageSize = first?.pageSize ?? 4096;
    const second = readMeta(file, pageSize);
    const metas = [first, second].filter((m): m is Meta => m !== undefined);
    if (metas.length === 0) throw new SnapshotFormatError('invalid database: no valid meta page');
    const meta = metas.reduce((a, b) => (b.txid > a.txid ? b : a));
    this.pageSize = meta.pageSize;
    this.root = meta.rootPage;
    this.sizeBytes = Number(meta.highWaterPage) * meta.pageSize;
  }

  private page(id: bigint): Page {
    const offset = Number(id) * this.pageSize;
    if (offset + pageHeaderBytes > this.file.length) throw new SnapshotFormatError(`page ${id} beyond the end of the file`);
    return { data: this.file, offset };
  }

  /** Every element of the B+tree under `page`, in key order. */
  private *walk(page: Page, depth = 0): Generator<BoltEntry> {
    if (depth > 64) throw new SnapshotFormatError('tree too deep');
    const { data, offset } = page;
    const flags = data.readUInt16LE(offset + 8);
    const count = data.readUInt16LE(offset + 10);
    const elements = offset + pageHeaderBytes;
    if (flags & flagBranch) {
      for (let i = 0; i < count; i++) {
        const element = elements + i * elementBytes;
        yield* this.walk(this.page(data.readBigUInt64LE(element + 8)), depth + 1);
      }
      return;
    }
    if (!(flags & flagLeaf)) throw new SnapshotFormatError(`page at ${offset} is neither branch nor leaf`);
    for (let i = 0; i < count; i++) {
      const element = elements + i * elementBytes;
      const leafFlags = data.readUInt32LE(element);
      const pos = data.readUInt32LE(element + 4);
      const keySize = data.readUInt32LE(element + 8);
      const valueSize = data.readUInt32LE(element + 12);
      const keyAt = element + pos;
      if (keyAt + keySize + valueSize > data.length) throw new SnapshotFormatError('element beyond its page');
      yield {
        key: data.subarray(keyAt, keyAt + keySize) as Buffer,
        value: data.subarray(keyAt + keySize, keyAt + keySize + valueSize) as Buffer,
        isBucket: (leafFlags & bucketLeafFlag) !== 0,
      };
    }
  }

  /** Buckets of the root, in name order. */
  *buckets(): Generator<{ name: Buffer; entries: () => Generator<BoltEntry> }> {
    for (const entry of this.walk(this.page(this.root))) {
      if (!entry.isBucket) continue;
      const value = entry.value;
      const bucketRoot = value.readBigUInt64LE(0);
      const page: Page = bucketRoot === 0n ? { data: value.subarray(16) as Buffer, offset: 0 } : this.page(bucketRoot);
      yield { name: entry.key, entries: () => this.walk(page) };
    }
  }
}

export interface DbStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

export function snapshotStatus(path: string): DbStatus {
  const bolt = new BoltFile(readFileSync(path));
  let hash = 0;
  let revision = 0;
  let totalKey = 0;
  for (const bucket of bolt.buckets()) {
    hash = crc32c(hash, bucket.name);
    const isKeyBucket = bucket.name.toString('latin1') === 'key';
    for (const e of bucket.entries()) {
      hash = crc32c(hash, e.key);
      if (!e.isBucket) hash = crc32c(hash, e.value);
      if (isKeyBucket && e.key.length >= 8) revision = Number(e.key.readBigUInt64BE(0));
      totalKey++;
    }
  }
  return { hash, revision, totalKey, totalSize: bolt.sizeBytes };
}
