// The store's snapshot image: a stream of self-checking chunks of bounded size, produced lazily so a large store is
// never copied whole, and read back into an identical store (same revisions, compaction point, history, leases and
// their keys, alarms, applied index; hence the same hashKV).
//
// Consistency: the image describes the store as of the moment it was opened (revision R, compaction C). While a
// stream is open, the store defers freeing compacted history (see MvccStore.compactHistory), so everything at or
// below R stays readable; later writes only append above R and are skipped.
//
// Chunk layout: "TMVI" | kind u8 | chunk number varint | payload | crc32c of all preceding bytes (u32 LE).
//   meta:    format version, R, C + 1, applied index, raft term, leases (id i64, ttl, remaining ms), alarms, members
//            (id, name, peer URLs, client URLs, learner)
//   bases:   count, then per key (in key order) its newest non-deleted state below C: key, mod, create, version,
//            lease i64, value — the state compaction keeps when the record it came from is freed
//   records: count, then history records with C <= main <= R in revision order (tombstones at exactly C excluded,
//            as compaction drops them): key, main, sub, flags, create, version, lease i64, value
//   end:     number of bases and records, R (a truncated stream is detected by the missing end chunk)
import { AssertionError } from '../../runtime/assert.js';
import { Crc32c } from './crc32c.js';
import { ImageCorruptError, ImageStreamClosedError } from './errors.js';
import { recordValue } from './history.js';
import type { KeyEntry } from './key-entry.js';
import { bytesToLatin1 } from './keys.js';
import { mvccLimits } from './limits.js';
import type { MemberRecord } from './members.js';
import { STATE_NONE, type AlarmMember, type AlarmType, type MvccStore } from './store.js';

const MAGIC = [0x54, 0x4d, 0x56, 0x49]; // "TMVI"
const FORMAT_VERSION = 1;

const ChunkKind = { Meta: 1, Bases: 2, Records: 3, End: 4 } as const;
type ChunkKind = (typeof ChunkKind)[keyof typeof ChunkKind];

const ALARMS: readonly AlarmType[] = ['NOSPACE', 'CORRUPT'];

class Writer {
  private buffer = new Uint8Array(mvccLimits.imageChunkBytes + 64 * 1024);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private ensure(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }

  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.length++] = value;
  }

  /** Unsigned integer up to 2^53, seven bits per byte. */
  uint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new AssertionError(`image integer out of range: ${value}`);
    this.ensure(8);
    while (value >= 0x80) {
      this.buffer[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buffer[this.length++] = value;
  }

  i64(value: bigint): void {
    this.ensure(8);
    this.view.setBigInt64(this.length, value, true);
    this.length += 8;
  }

  u32(value: number): void {
    this.ensure(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }

  patchU32(at: number, value: number): void {
    this.view.setUint32(at, value, true);
  }

  bytes(data: Uint8Array): void {
    this.uint(data.length);
    this.ensure(data.length);
    this.buffer.set(data, this.length);
    this.length += data.length;
  }

  /** A binary string (one byte per code unit). */
  binary(s: string): void {
    this.uint(s.length);
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buffer[this.length++] = s.charCodeAt(i);
  }

  begin(kind: ChunkKind, number: number): void {
    this.length = 0;
    for (const b of MAGIC) this.u8(b);
    this.u8(kind);
    this.uint(number);
  }

  /** Seals the chunk with its checksum and returns an exact-size copy (the writer's buffer is reused). */
  finish(): Uint8Array {
    const crc = new Crc32c().bytes(this.buffer.subarray(0, this.length)).value();
    this.u32(crc);
    return this.buffer.slice(0, this.length);
  }
}

class Reader {
  private offset = 0;
  private readonly dataView: DataView;

  constructor(private readonly data: Uint8Array) {
    this.dataView = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get done(): boolean {
    return this.offset >= this.data.length;
  }

  private need(bytes: number): void {
    if (this.offset + bytes > this.data.length) throw new ImageCorruptError('chunk ends inside a field');
  }

  u8(): number {
    this.need(1);
    return this.data[this.offset++]!;
  }

  uint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      value += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new ImageCorruptError('integer too long');
    }
    return value;
  }

  i64(): bigint {
    this.need(8);
    const value = this.dataView.getBigInt64(this.offset, true);
    this.offset += 8;
    return value;
  }

  /** A view of the next length-prefixed bytes, for callers that copy them at once. */
  view(): Uint8Array {
    const length = this.uint();
    this.need(length);
    const out = this.data.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  binary(): string {
    const length = this.uint();
    this.need(length);
    const s = bytesToLatin1(this.data, this.offset, this.offset + length);
    this.offset += length;
    return s;
  }
}

/** A consistent image of the store, produced chunk by chunk. Iterate it, or pull with next(); close() when abandoning. */
export class ImageStream implements IterableIterator<Uint8Array> {
  private readonly revision: number;
  private readonly compactRevision: number;
  private readonly epoch: number;
  private readonly writer = new Writer();
  private chunkNumber = 0;
  private phase: 'meta' | 'bases' | 'records' | 'end' | 'done' = 'meta';
  private lastKey: string | undefined;
  private nextSeq: number;
  private bases = 0;
  private records = 0;
  private closed = false;
  private readonly meta: {
    appliedIndex: number;
    raftTerm: number;
    leases: Array<{ id: bigint; ttl: number; remaining: number }>;
    alarms: AlarmMember[];
    members: MemberRecord[];
  };

  constructor(private readonly store: MvccStore) {
    this.revision = store.revision;
    this.compactRevision = store.compactRevision;
    this.epoch = store.epoch;
    this.meta = { appliedIndex: store.appliedIndex, raftTerm: store.raftTerm, leases: store.leaseRows(), alarms: store.alarms(), members: store.members.list() };
    const log = store.log;
    this.nextSeq = this.compactRevision >= 0 ? log.seekRevision(this.compactRevision) : log.firstSeq();
    store.imageStreamOpened();
  }

  /** The revision the image describes. */
  get imageRevision(): number {
    return this.revision;
  }

  get appliedIndex(): number {
    return this.meta.appliedIndex;
  }

  [Symbol.iterator](): IterableIterator<Uint8Array> {
    return this;
  }

  next(): IteratorResult<Uint8Array> {
    if (this.phase === 'done') return { done: true, value: undefined };
    if (this.closed) throw new ImageStreamClosedError('closed');
    if (this.store.epoch !== this.epoch) {
      this.close();
      throw new ImageStreamClosedError('the store was restored while its image was being read');
    }
    switch (this.phase) {
      case 'meta':
        this.phase = 'bases';
        return { done: false, value: this.metaChunk() };
      case 'bases': {
        const chunk = this.basesChunk();
        if (chunk) return { done: false, value: chunk };
        this.phase = 'records';
        return this.next();
      }
      case 'records': {
        const chunk = this.recordsChunk();
        if (chunk) return { done: false, value: chunk };
        this.phase = 'end';
        return this.next();
      }
      case 'end': {
        const w = this.writer;
        w.begin(ChunkKind.End, this.chunkNumber++);
        w.uint(this.bases);
        w.uint(this.records);
        w.uint(this.revision);
        const value = w.finish();
        this.close();
        return { done: false, value };
      }
    }
  }

  return(): IteratorResult<Uint8Array> {
    this.close();
    return { done: true, value: undefined };
  }

  /** Ends the stream early (or after the end); lets the store free compacted history again. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.phase = 'done';
    if (this.store.epoch === this.epoch) this.store.imageStreamClosed();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private metaChunk(): Uint8Array {
    return writeMeta(this.writer, this.chunkNumber++, { revision: this.revision, compactRevision: this.compactRevision, ...this.meta });
  }

  private basesChunk(): Uint8Array | undefined {
    const compactRev = this.compactRevision;
    if (compactRev < 0) return undefined;
    const store = this.store;
    const w = this.writer;
    let count = 0;
    let started = false;
    let countAt = 0;
    for (;;) {
      const entry: KeyEntry | undefined = store.nextEntryAfter(this.lastKey);
      if (!entry) break;
      this.lastKey = entry.key;
      const state = store.stateAt(entry, compactRev);
      if (state === STATE_NONE) continue;
      const mod = store.modOf(entry, state);
      if (mod >= compactRev) continue; // the state at C is a record at C: it goes with the records
      if (!started) {
        w.begin(ChunkKind.Bases, this.chunkNumber++);
        countAt = w.length;
        w.u32(0); // patched with the count below
        started = true;
      }
      w.binary(entry.key);
      w.uint(mod);
      w.uint(store.createOf(entry, state));
      w.uint(store.versionOf(entry, state));
      w.i64(store.leaseOf(entry, state));
      w.bytes(store.valueOf(entry, state));
      count++;
      if (w.length >= mvccLimits.imageChunkBytes) break;
    }
    if (!started) return undefined;
    this.bases += count;
    return this.patchCount(countAt, count);
  }

  private recordsChunk(): Uint8Array | undefined {
    const log = this.store.log;
    const w = this.writer;
    let count = 0;
    let started = false;
    let countAt = 0;
    while (this.nextSeq < log.endSeq) {
      const seq = this.nextSeq;
      const chunk = log.chunkOf(seq);
      const i = seq - chunk.firstSeq;
      const main = chunk.main[i]!;
      if (main > this.revision) {
        this.nextSeq = log.endSeq;
        break;
      }
      this.nextSeq = log.nextSeq(seq);
      const flags = chunk.flags[i]!;
      if (main <= this.compactRevision && this.store.recordCompactedAway(seq, this.compactRevision)) continue;
      if (!started) {
        w.begin(ChunkKind.Records, this.chunkNumber++);
        countAt = w.length;
        w.u32(0);
        started = true;
      }
      w.binary(chunk.keys[i]!.key);
      w.uint(main);
      w.uint(chunk.sub[i]!);
      w.u8(flags);
      w.uint(chunk.create[i]!);
      w.uint(chunk.version[i]!);
      w.i64(chunk.leaseAt(i));
      w.bytes(recordValue(chunk, i));
      count++;
      if (w.length >= mvccLimits.imageChunkBytes) break;
    }
    if (!started) return undefined;
    this.records += count;
    return this.patchCount(countAt, count);
  }

  private patchCount(at: number, count: number): Uint8Array {
    this.writer.patchU32(at, count);
    return this.writer.finish();
  }
}

/**
 * Reads an image back, chunk by chunk, into a store. The store is emptied when the first chunk arrives; if the image
 * turns out corrupt, push/finish throw ImageCorruptError and the store must not be used until a good image is restored.
 */
export class ImageRestorer {
  private expectedChunk = 0;
  private phase: 'meta' | 'body' | 'ended' = 'meta';
  private bases = 0;
  private records = 0;
  private revision = 0;
  private lastMain = 0;
  private lastSub = -1;

  constructor(private readonly store: MvccStore) {}

  push(chunk: Uint8Array): void {
    const { kind, number, r } = openChunk(chunk, this.expectedChunk);
    if (number !== this.expectedChunk) throw new ImageCorruptError(`chunk ${number} arrived where ${this.expectedChunk} was expected`);
    this.expectedChunk++;
    if (this.phase === 'ended') throw new ImageCorruptError('chunk after the end');
    if (this.phase === 'meta') {
      if (kind !== ChunkKind.Meta) throw new ImageCorruptError('image does not start with its meta chunk');
      this.readMeta(r);
      this.phase = 'body';
      return;
    }
    switch (kind) {
      case ChunkKind.Bases:
        if (this.records > 0) throw new ImageCorruptError('bases after records');
        this.readBases(r);
        return;
      case ChunkKind.Records:
        this.readRecords(r);
        return;
      case ChunkKind.End: {
        const bases = r.uint();
        const records = r.uint();
        const revision = r.uint();
        if (bases !== this.bases || records !== this.records || revision !== this.revision) {
          throw new ImageCorruptError(`end chunk counts ${bases}/${records} at ${revision}, read ${this.bases}/${this.records} at ${this.revision}`);
        }
        this.phase = 'ended';
        return;
      }
      default:
        throw new ImageCorruptError(`unknown chunk kind ${kind}`);
    }
  }

  /** Completes the restore; throws when the image ended early. */
  finish(): void {
    if (this.phase !== 'ended') throw new ImageCorruptError('image ended before its end chunk');
    this.store.restoreAttachments();
  }

  private readMeta(r: Reader): void {
    const meta = readMetaFields(r);
    this.store.resetForRestore();
    for (const l of meta.leases) this.store.restoreLease(l.id, l.ttl, l.remaining);
    const { revision, compactRevision, appliedIndex, raftTerm, alarms, members } = meta;
    this.store.restoreMeta({ revision, compactRevision, appliedIndex, raftTerm, alarms, members });
    this.revision = revision;
  }

  private readBases(r: Reader): void {
    const count = readCount(r);
    for (let i = 0; i < count; i++) {
      const key = r.binary();
      const mod = r.uint();
      const create = r.uint();
      const version = r.uint();
      const lease = r.i64();
      const value = r.binary();
      this.store.restoreBase(key, mod, create, version, lease, value);
    }
    this.bases += count;
    if (!r.done) throw new ImageCorruptError('trailing bytes in a bases chunk');
  }

  private readRecords(r: Reader): void {
    const count = readCount(r);
    for (let i = 0; i < count; i++) {
      const key = r.binary();
      const main = r.uint();
      const sub = r.uint();
      const flags = r.u8();
      const create = r.uint();
      const version = r.uint();
      const lease = r.i64();
      const value = r.view(); // copied into the history arena by restoreRecord
      if (main < this.lastMain || (main === this.lastMain && sub <= this.lastSub) || main > this.revision) {
        throw new ImageCorruptError(`record ${main}.${sub} out of order`);
      }
      this.lastMain = main;
      this.lastSub = sub;
      this.store.restoreRecord(key, main, sub, flags, create, version, lease, value);
    }
    this.records += count;
    if (!r.done) throw new ImageCorruptError('trailing bytes in a records chunk');
  }
}

/** What an image's meta chunk holds. */
export interface ImageMeta {
  revision: number;
  compactRevision: number;
  appliedIndex: number;
  raftTerm: number;
  leases: Array<{ id: bigint; ttl: number; remaining: number }>;
  alarms: AlarmMember[];
  members: MemberRecord[];
}

function writeMeta(w: Writer, number: number, meta: ImageMeta): Uint8Array {
  w.begin(ChunkKind.Meta, number);
  w.uint(FORMAT_VERSION);
  w.uint(meta.revision);
  w.uint(meta.compactRevision + 1);
  w.uint(meta.appliedIndex);
  w.uint(meta.raftTerm);
  w.uint(meta.leases.length);
  for (const l of meta.leases) {
    w.i64(l.id);
    w.uint(l.ttl);
    w.uint(l.remaining);
  }
  w.uint(meta.alarms.length);
  for (const a of meta.alarms) {
    w.binary(a.memberID);
    w.u8(ALARMS.indexOf(a.alarm));
  }
  w.uint(meta.members.length);
  for (const m of meta.members) {
    w.binary(m.id);
    w.binary(utf8ToLatin1(m.name));
    w.uint(m.peerURLs.length);
    for (const u of m.peerURLs) w.binary(utf8ToLatin1(u));
    w.uint(m.clientURLs.length);
    for (const u of m.clientURLs) w.binary(utf8ToLatin1(u));
    w.u8(m.isLearner ? 1 : 0);
  }
  return w.finish();
}

function readMetaFields(r: Reader): ImageMeta {
  const version = r.uint();
  if (version !== FORMAT_VERSION) throw new ImageCorruptError(`unsupported image format ${version}`);
  const revision = r.uint();
  const compactRevision = r.uint() - 1;
  const appliedIndex = r.uint();
  const raftTerm = r.uint();
  const leases: ImageMeta['leases'] = [];
  for (let n = r.uint(); n > 0; n--) {
    const id = r.i64();
    const ttl = r.uint();
    const remaining = r.uint();
    leases.push({ id, ttl, remaining });
  }
  const alarms: AlarmMember[] = [];
  for (let n = r.uint(); n > 0; n--) {
    const memberID = r.binary();
    const alarm = ALARMS[r.u8()];
    if (!alarm) throw new ImageCorruptError('unknown alarm type');
    alarms.push({ memberID, alarm });
  }
  const members: MemberRecord[] = [];
  for (let n = r.uint(); n > 0; n--) {
    const id = r.binary();
    const name = latin1ToUtf8(r.binary());
    const peerURLs: string[] = [];
    for (let k = r.uint(); k > 0; k--) peerURLs.push(latin1ToUtf8(r.binary()));
    const clientURLs: string[] = [];
    for (let k = r.uint(); k > 0; k--) clientURLs.push(latin1ToUtf8(r.binary()));
    members.push({ id, name, peerURLs, clientURLs, isLearner: r.u8() === 1 });
  }
  return { revision, compactRevision, appliedIndex, raftTerm, leases, alarms, members };
}

/** Verifies a chunk's checksum and magic; returns its kind, number and a reader positioned at its payload. */
function openChunk(chunk: Uint8Array, expected: number): { kind: number; number: number; r: Reader } {
  if (chunk.length < MAGIC.length + 2 + 4) throw new ImageCorruptError('chunk too short');
  const body = chunk.subarray(0, chunk.length - 4);
  const stored = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength).getUint32(chunk.length - 4, true);
  if (new Crc32c().bytes(body).value() !== stored) throw new ImageCorruptError(`checksum mismatch in chunk ${expected}`);
  const r = new Reader(body);
  for (const b of MAGIC) if (r.u8() !== b) throw new ImageCorruptError('not an mvcc image chunk');
  const kind = r.u8();
  const number = r.uint();
  return { kind, number, r };
}

/**
 * Offline tools (snapshot status and restore in tetcdctl) read an image without a store: the meta chunk (always the
 * first), and the end chunk's counts. Throw ImageCorruptError.
 */
export function readImageMeta(chunk: Uint8Array): ImageMeta {
  const { kind, r } = openChunk(chunk, 0);
  if (kind !== ChunkKind.Meta) throw new ImageCorruptError('image does not start with its meta chunk');
  return readMetaFields(r);
}

/** The meta chunk for `meta` (chunk number 0), e.g. with the membership replaced by a restore. */
export function writeImageMeta(meta: ImageMeta): Uint8Array {
  return writeMeta(new Writer(), 0, meta);
}

/** The counts of an end chunk (key states kept below the compaction point, history records, revision), or undefined for other kinds. */
export function readImageEnd(chunk: Uint8Array): { bases: number; records: number; revision: number } | undefined {
  const { kind, r } = openChunk(chunk, -1);
  if (kind !== ChunkKind.End) return undefined;
  return { bases: r.uint(), records: r.uint(), revision: r.uint() };
}

function readCount(r: Reader): number {
  const b0 = r.u8();
  const b1 = r.u8();
  const b2 = r.u8();
  const b3 = r.u8();
  return (b0 | (b1 << 8) | (b2 << 16)) + b3 * 0x1000000;
}

/** Names and URLs are text; the image's binary fields hold one byte per char, so text goes in as UTF-8 bytes. */
function utf8ToLatin1(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

function latin1ToUtf8(bytes: string): string {
  return Buffer.from(bytes, 'latin1').toString('utf8');
}
