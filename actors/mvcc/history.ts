// The history log: every change the store made since the last compaction, in revision order, packed in columns.
//
// Why columns: a store keeps one record per revision of every key, so a JS object per record would cost ~100 bytes
// of headers before any data. Here a record is one slot in a chunk's typed arrays (about 60 bytes) plus its value
// bytes in the chunk's arena; a chunk holds up to `historyChunkRecords` records.
//
// Addressing: every record has a sequence number (seq) that never changes. Chunk n holds seqs
// [n * historyChunkRecords, (n + 1) * historyChunkRecords); a chunk that fills its arena early simply leaves the rest
// of its seqs unused. Compaction only ever frees from the front (advancing `headSeq` and dropping whole chunks), so
// a seq stays valid for as long as it is >= headSeq. Each record links to the previous record of the same key
// (`prev`), which is how historical reads walk back in time.
import { assert, AssertionError } from '../../runtime/assert.js';
import { NO_LEASE, type KeyEntry } from './key-entry.js';
import { mvccLimits } from './limits.js';

export const RecordFlags = {
  Tombstone: 1,
} as const;

const RECORDS = mvccLimits.historyChunkRecords;

/** Bytes of one chunk's columns: doubles first, then 32-bit columns, then flags (all aligned). */
const COLUMN_BYTES = RECORDS * (8 * 4 + 4 * 5 + 1);

/**
 * The typed-array columns of one chunk, carved from a single buffer (one allocation instead of ten). Column sets of
 * freed chunks are recycled: they are never handed out (values live in the separate arena, which is never reused,
 * so a value view a caller holds stays intact).
 */
class Columns {
  readonly main: Float64Array;
  readonly create: Float64Array;
  readonly version: Float64Array;
  /** Seq of the previous record of the same key, or -1. */
  readonly prev: Float64Array;
  readonly sub: Uint32Array;
  /** Lease id as two 32-bit halves: reading a BigInt64Array allocates a BigInt even for the usual 0. */
  readonly leaseHigh: Int32Array;
  readonly leaseLow: Uint32Array;
  readonly valueStart: Uint32Array;
  readonly valueLength: Uint32Array;
  readonly flags: Uint8Array;

  constructor() {
    const buffer = new ArrayBuffer(COLUMN_BYTES);
    let at = 0;
    const f64 = () => {
      const a = new Float64Array(buffer, at, RECORDS);
      at += RECORDS * 8;
      return a;
    };
    const u32 = () => {
      const a = new Uint32Array(buffer, at, RECORDS);
      at += RECORDS * 4;
      return a;
    };
    this.main = f64();
    this.create = f64();
    this.version = f64();
    this.prev = f64();
    this.sub = u32();
    this.leaseHigh = new Int32Array(buffer, at, RECORDS);
    at += RECORDS * 4;
    this.leaseLow = u32();
    this.valueStart = u32();
    this.valueLength = u32();
    this.flags = new Uint8Array(buffer, at, RECORDS);
  }
}

/** Spare column sets, so a store that compacts regularly stops allocating (and page-faulting) new ones. */
const SPARE_COLUMNS_MAX = 16;

export class Chunk {
  count = 0;
  readonly main: Float64Array;
  readonly sub: Uint32Array;
  readonly create: Float64Array;
  readonly version: Float64Array;
  readonly leaseHigh: Int32Array;
  readonly leaseLow: Uint32Array;
  readonly prev: Float64Array;
  readonly valueStart: Uint32Array;
  readonly valueLength: Uint32Array;
  readonly flags: Uint8Array;
  readonly keys: KeyEntry[] = [];
  arena: Uint8Array;
  arenaUsed = 0;
  /** True once no more records may be added (full, or its arena could not grow to fit a value). */
  sealed = false;
  /** Slots below this index had their key references cleared after being freed. */
  keysCleared = 0;

  constructor(
    readonly number: number,
    arenaBytes: number,
    readonly columns: Columns = new Columns(),
  ) {
    this.arena = arenaOf(arenaBytes);
    this.main = columns.main;
    this.sub = columns.sub;
    this.create = columns.create;
    this.version = columns.version;
    this.leaseHigh = columns.leaseHigh;
    this.leaseLow = columns.leaseLow;
    this.prev = columns.prev;
    this.valueStart = columns.valueStart;
    this.valueLength = columns.valueLength;
    this.flags = columns.flags;
  }

  get firstSeq(): number {
    return this.number * RECORDS;
  }

  leaseAt(index: number): bigint {
    const high = this.leaseHigh[index]!;
    const low = this.leaseLow[index]!;
    if (high === 0 && low === 0) return NO_LEASE;
    return (BigInt(high) << 32n) | BigInt(low);
  }

  setLease(index: number, lease: bigint): void {
    if (lease === NO_LEASE) {
      this.leaseHigh[index] = 0;
      this.leaseLow[index] = 0;
    } else {
      this.leaseHigh[index] = Number(BigInt.asIntN(32, lease >> 32n));
      this.leaseLow[index] = Number(BigInt.asUintN(32, lease));
    }
  }

  /** Makes room for `bytes` more value bytes; false when the chunk must be sealed instead. */
  reserve(bytes: number): boolean {
    const needed = this.arenaUsed + bytes;
    if (needed <= this.arena.length) return true;
    if (this.count > 0 && needed > mvccLimits.historyChunkBytesMax) return false;
    let size = Math.max(1, this.arena.length);
    while (size < needed) size *= 2;
    // never past the maximum, except for a single value larger than it (alone in its chunk)
    const grown = arenaOf(Math.min(size, Math.max(mvccLimits.historyChunkBytesMax, needed)));
    grown.set(this.arena.subarray(0, this.arenaUsed));
    this.arena = grown;
    return true;
  }

  /** Bytes this chunk holds in memory (columns and arena), for the memory report. */
  footprintBytes(): number {
    return COLUMN_BYTES + RECORDS * 8 + this.arena.length;
  }
}

/**
 * Arena memory without zero-filling (every byte is written before it is read). A plain Uint8Array over the buffer, so
 * views taken from it are Uint8Arrays, not Buffers.
 */
function arenaOf(bytes: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(bytes);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
}

/** The value bytes of one record, as a view into its chunk's arena. */
export function recordValue(chunk: Chunk, index: number): Uint8Array {
  const start = chunk.valueStart[index]!;
  return chunk.arena.subarray(start, start + chunk.valueLength[index]!);
}

export class HistoryLog {
  /** chunks[i].number === firstChunkNumber + i; the front chunk may hold freed records below headSeq. */
  private chunks: Chunk[] = [];
  private firstChunkNumber = 0;
  /** First seq still valid. */
  headSeq = 0;
  /** Seq the next record gets. */
  endSeq = 0;
  /** Records between headSeq and endSeq (seqs skipped by sealed chunks are not records). */
  records = 0;
  private readonly spareColumns: Columns[] = [];

  get empty(): boolean {
    return this.records === 0;
  }

  /** The chunk holding `seq` (which must be valid). */
  chunkOf(seq: number): Chunk {
    const chunk = this.chunks[Math.floor(seq / RECORDS) - this.firstChunkNumber];
    // (the message is built only on failure: this runs several times per record read)
    if (chunk === undefined || seq < this.headSeq || seq >= this.endSeq) throw new AssertionError(`history seq ${seq} out of range`);
    return chunk;
  }

  /** Appends one record; the value is copied into the log. Returns its seq. */
  append(
    main: number,
    sub: number,
    key: KeyEntry,
    create: number,
    version: number,
    lease: bigint,
    prev: number,
    flags: number,
    value: Uint8Array | string,
  ): number {
    const length = value.length;
    const chunk = this.writableChunk(length);
    const index = chunk.count;
    const seq = chunk.firstSeq + index;
    chunk.main[index] = main;
    chunk.sub[index] = sub;
    chunk.create[index] = create;
    chunk.version[index] = version;
    chunk.setLease(index, lease);
    chunk.prev[index] = prev;
    chunk.flags[index] = flags;
    chunk.valueStart[index] = chunk.arenaUsed;
    chunk.valueLength[index] = length;
    if (typeof value === 'string') {
      const arena = chunk.arena;
      const at = chunk.arenaUsed;
      for (let i = 0; i < length; i++) arena[at + i] = value.charCodeAt(i);
    } else if (length > 0) {
      chunk.arena.set(value, chunk.arenaUsed);
    }
    chunk.arenaUsed += length;
    chunk.keys.push(key);
    chunk.count = index + 1;
    if (chunk.count === RECORDS) chunk.sealed = true;
    this.endSeq = seq + 1;
    this.records++;
    return seq;
  }

  private writableChunk(valueBytes: number): Chunk {
    const tail = this.chunks[this.chunks.length - 1];
    if (tail && !tail.sealed) {
      if (tail.reserve(valueBytes)) return tail;
      tail.sealed = true;
    }
    // with no chunk left, start past every seq ever handed out so old links can never resolve to new records
    const number = tail ? tail.number + 1 : Math.ceil(this.endSeq / RECORDS);
    if (this.chunks.length === 0) {
      this.firstChunkNumber = number;
      this.headSeq = number * RECORDS;
    }
    // size the arena from what the previous chunk used, so a steady workload never grows (copies) an arena
    let arenaBytes = mvccLimits.historyChunkBytesInitial;
    if (tail) while (arenaBytes < tail.arenaUsed && arenaBytes < mvccLimits.historyChunkBytesMax) arenaBytes *= 2;
    const chunk = new Chunk(number, Math.max(arenaBytes, valueBytes), this.spareColumns.pop());
    this.chunks.push(chunk);
    return chunk;
  }

  /** The next valid record seq after `seq`, or endSeq. Skips the unused tail of sealed chunks. */
  nextSeq(seq: number): number {
    const next = seq + 1;
    if (next >= this.endSeq) return this.endSeq;
    const chunk = this.chunks[Math.floor(seq / RECORDS) - this.firstChunkNumber]!;
    if (next - chunk.firstSeq < chunk.count) return next;
    return (chunk.number + 1) * RECORDS;
  }

  /** The first record seq >= `seq` (skipping the unused tail of a sealed chunk), or endSeq. */
  validFrom(seq: number): number {
    if (seq >= this.endSeq) return this.endSeq;
    if (seq < this.headSeq) seq = this.headSeq;
    const chunk = this.chunks[Math.floor(seq / RECORDS) - this.firstChunkNumber];
    if (chunk && seq - chunk.firstSeq < chunk.count) return seq;
    return chunk ? Math.min(this.endSeq, (chunk.number + 1) * RECORDS) : this.endSeq;
  }

  /** First valid seq >= headSeq (or endSeq when empty). */
  firstSeq(): number {
    if (this.headSeq >= this.endSeq) return this.endSeq;
    const chunk = this.chunks[Math.floor(this.headSeq / RECORDS) - this.firstChunkNumber]!;
    if (this.headSeq - chunk.firstSeq < chunk.count) return this.headSeq;
    return this.nextSeq(this.headSeq);
  }

  /** Seq of the first record with main revision >= `revision`, or endSeq. */
  seekRevision(revision: number): number {
    // binary search over chunks (by their last main), then inside the chunk
    let lo = 0;
    let hi = this.chunks.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const chunk = this.chunks[mid]!;
      if (chunk.count > 0 && chunk.main[chunk.count - 1]! >= revision) {
        found = mid;
        hi = mid - 1;
      } else {
        lo = mid + 1;
      }
    }
    if (found < 0) return this.endSeq;
    const chunk = this.chunks[found]!;
    let a = 0;
    let b = chunk.count - 1;
    while (a < b) {
      const mid = (a + b) >> 1;
      if (chunk.main[mid]! >= revision) b = mid;
      else a = mid + 1;
    }
    const seq = chunk.firstSeq + a;
    return seq < this.headSeq ? this.firstSeq() : seq;
  }

  /** Frees every record below `seq` (a valid seq or endSeq): whole chunks are dropped. */
  dropBefore(seq: number): void {
    assert(seq >= this.headSeq && seq <= this.endSeq, 'history can only be freed from the front');
    let dropped = 0;
    for (let s = this.firstSeq(); s < seq; s = this.nextSeq(s)) dropped++;
    this.records -= dropped;
    this.headSeq = seq;
    let drop = 0;
    while (drop < this.chunks.length) {
      const chunk = this.chunks[drop]!;
      const chunkEnd = (chunk.number + 1) * RECORDS;
      const fullyFreed = chunk.sealed ? seq >= chunk.firstSeq + chunk.count || seq >= chunkEnd : seq >= chunkEnd;
      if (!fullyFreed) break;
      drop++;
    }
    if (drop > 0) {
      for (const chunk of this.chunks.splice(0, drop)) {
        if (this.spareColumns.length < SPARE_COLUMNS_MAX) this.spareColumns.push(chunk.columns);
      }
      this.firstChunkNumber += drop;
    }
    // freed slots of the front chunk must not keep removed key entries alive
    const front = this.chunks[0];
    if (front) {
      const freed = Math.min(front.count, seq - front.firstSeq);
      for (let i = front.keysCleared; i < freed; i++) (front.keys as Array<KeyEntry | undefined>)[i] = undefined;
      front.keysCleared = Math.max(front.keysCleared, freed);
    }
  }

  /** Memory held by the log's chunks. */
  footprintBytes(): number {
    let total = 0;
    for (const chunk of this.chunks) total += chunk.footprintBytes();
    return total;
  }

  chunkCount(): number {
    return this.chunks.length;
  }
}
