// The log's storage: entries in fixed-size chunks, indexed by offset. One flat array would do the same job, but a
// log of hundreds of thousands of entries that keeps growing at the end and being cut at the front makes V8 copy the
// whole array when it grows, and rescan it when young entries are stored into it; chunks keep every array small,
// and dropping a prefix (compaction) drops whole chunks instead of copying what remains.
//
//   position k lives in chunks[(head + k) >> CHUNK_BITS][(head + k) & CHUNK_MASK]
//   where head is the position of the first live entry inside chunks[0].
import { assert } from '../../../runtime/assert.js';
import type { Entry } from './types.js';

const CHUNK_BITS = 12;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;

export class EntryArray {
  private chunks: Entry[][] = [];
  private head = 0;
  length = 0;

  /** Entry at position k (0 <= k < length). */
  at(k: number): Entry {
    const p = this.head + k;
    return this.chunks[p >> CHUNK_BITS]![p & CHUNK_MASK]!;
  }

  push(e: Entry): void {
    const p = this.head + this.length;
    const c = p >> CHUNK_BITS;
    let chunk = this.chunks[c];
    if (chunk === undefined) {
      chunk = [];
      this.chunks.push(chunk);
    }
    chunk.push(e);
    this.length++;
  }

  pushAll(entries: readonly Entry[], from = 0): void {
    for (let i = from; i < entries.length; i++) this.push(entries[i]!);
  }

  /** Keeps positions [0, n). */
  truncate(n: number): void {
    assert(n >= 0 && n <= this.length, `truncate to ${n} of ${this.length}`);
    if (n === this.length) return;
    if (n === 0) {
      this.chunks = [];
      this.head = 0;
      this.length = 0;
      return;
    }
    const last = this.head + n - 1; // position of the last entry kept
    const c = last >> CHUNK_BITS;
    this.chunks.length = c + 1;
    this.chunks[c]!.length = (last & CHUNK_MASK) + 1;
    this.length = n;
  }

  /** Drops positions [0, n). */
  dropFront(n: number): void {
    assert(n >= 0 && n <= this.length, `dropFront ${n} of ${this.length}`);
    if (n === this.length) {
      this.chunks = [];
      this.head = 0;
      this.length = 0;
      return;
    }
    const p = this.head + n;
    const whole = p >> CHUNK_BITS;
    if (whole > 0) this.chunks = this.chunks.slice(whole);
    this.head = p & CHUNK_MASK;
    this.length -= n;
  }

  /** Positions [lo, hi) as a new array (entries shared, not copied). */
  slice(lo: number, hi: number): Entry[] {
    assert(lo >= 0 && hi <= this.length && lo <= hi, `slice [${lo}, ${hi}) of ${this.length}`);
    const out: Entry[] = new Array(hi - lo);
    const p = this.head + lo;
    let c = p >> CHUNK_BITS;
    let i = p & CHUNK_MASK;
    let chunk = this.chunks[c]!;
    for (let k = 0; k < out.length; k++) {
      if (i === CHUNK_SIZE) {
        chunk = this.chunks[++c]!;
        i = 0;
      }
      out[k] = chunk[i++]!;
    }
    return out;
  }
}
