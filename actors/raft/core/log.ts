// The raft log as one member holds it in memory: everything after the last snapshot, indexed by offset (position k
// has index snapshotIndex + 1 + k, stored in chunks: see entries.ts), plus the cursors that say how far each stage
// has got.
//
//   snapshotIndex <= applied <= applying <= committed <= lastIndex
//   applying <= stable <= handed <= lastIndex
//
// - handed: entries up to here were given to the shell in a Ready to be written (possibly not durable yet).
// - stable: entries up to here are durable on this member (the shell reported the Ready persisted).
// - committed: known committed (by this member's knowledge).
// - applying: committed entries up to here were handed out to be applied. Only durable entries are handed out, so a
//   state machine never runs ahead of its own log after a crash.
// - applied: the shell reported the appliers done up to here. Compaction may only cut at or below it.
//
// Entries are never copied: the leader's proposals, the append messages and the followers' logs share the same
// Entry objects, which nobody mutates.
import { assert } from '../../../runtime/assert.js';
import { EntryArray } from './entries.js';
import { RaftSafetyError } from './errors.js';
import { raftLimits } from './limits.js';
import type { Entry } from './types.js';

export function entryBytes(entry: Entry): number {
  return entry.data.length + raftLimits.entryOverheadBytes;
}

export class RaftLog {
  private entries = new EntryArray();
  snapshotIndex = 0;
  snapshotTerm = 0;
  committed = 0;
  stable = 0;
  handed = 0;
  applying = 0;
  applied = 0;
  /** Called when a conflicting append cuts the log at `first` (entries from `first` on are replaced). */
  onCut: ((first: number) => void) | undefined;

  /** Loads durable state at boot: `entries` follow the snapshot and are durable. */
  constructor(snapshotIndex: number, snapshotTerm: number, entries: readonly Entry[], committed: number) {
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      assert(e.index === snapshotIndex + 1 + i, `boot entries not contiguous after the snapshot: ${e.index} at position ${i}`);
      const previousTerm = i === 0 ? snapshotTerm : entries[i - 1]!.term;
      assert(e.term >= previousTerm, `boot entry ${e.index} has term ${e.term} below its predecessor's ${previousTerm}`);
    }
    this.entries.pushAll(entries);
    this.stable = this.handed = this.lastIndex();
    assert(committed >= snapshotIndex && committed <= this.lastIndex(), `boot commit ${committed} outside the log [${snapshotIndex}, ${this.lastIndex()}]`);
    this.committed = committed;
    this.applying = this.applied = snapshotIndex;
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    const n = this.entries.length;
    return n === 0 ? this.snapshotTerm : this.entries.at(n - 1).term;
  }

  /** Term of the entry at `index`; undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries.at(index - this.snapshotIndex - 1).term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries.at(index - this.snapshotIndex - 1);
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** The Raft paper's up-to-date check: a later last term wins; with equal terms the longer log wins. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi), shared not copied. */
  slice(lo: number, hi: number): Entry[] {
    assert(lo > this.snapshotIndex && hi <= this.lastIndex() + 1 && lo <= hi, `slice [${lo}, ${hi}) outside the log (${this.snapshotIndex}, ${this.lastIndex()}]`);
    return this.entries.slice(lo - this.snapshotIndex - 1, hi - this.snapshotIndex - 1);
  }

  /** Entries from `lo` up to `hi` (exclusive) whose sizes add up to at most `bytesMax` (at least one entry). */
  sliceBytes(lo: number, hi: number, bytesMax: number): { entries: Entry[]; bytes: number } {
    const start = lo - this.snapshotIndex - 1;
    const end = hi - this.snapshotIndex - 1;
    assert(start >= 0 && end <= this.entries.length, `sliceBytes [${lo}, ${hi}) outside the log`);
    let bytes = 0;
    let k = start;
    while (k < end) {
      const size = entryBytes(this.entries.at(k));
      if (k > start && bytes + size > bytesMax) break;
      bytes += size;
      k++;
    }
    return { entries: this.entries.slice(start, k), bytes };
  }

  /**
   * Finds where `entries` (consecutive, as received) first disagree with the log: the index of the first entry whose
   * term differs or that the log does not have, or 0 when the log already holds them all.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index at or below `index` whose term is at most `term` (fast backtracking: every entry above it has a
   * term above `term`, so none of them can match an append whose previous entry has term `term`).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.snapshotIndex; i--) {
      const t = this.entries.at(i - this.snapshotIndex - 1).term;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.snapshotIndex, term: this.snapshotTerm };
  }

  /**
   * A follower's append: when the log matches (prevIndex, prevTerm), make it hold `entries` after prevIndex (cutting a
   * conflicting tail), move commit to min(commit, last new index) and return the last new index; else undefined.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new RaftSafetyError(`entry ${conflict} conflicts with a committed entry (commit ${this.committed})`);
      }
      this.truncateAndAppend(entries, conflict - (prevIndex + 1));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /** A leader's own entries, always at the end. */
  append(entries: readonly Entry[]): void {
    const n = entries.length;
    if (n === 0) return;
    const last = this.lastIndex();
    assert(entries[0]!.index === last + 1 && entries[n - 1]!.index === last + n, `append out of order: ${entries[0]!.index}..${entries[n - 1]!.index} after ${last}`);
    this.entries.pushAll(entries);
  }

  /** Writes entries[from..] over the log from entries[from].index, cutting whatever followed it. */
  private truncateAndAppend(entries: readonly Entry[], from: number): void {
    const first = entries[from]!.index;
    assert(first > this.snapshotIndex, `cannot overwrite compacted entry ${first}`);
    if (first <= this.lastIndex()) {
      if (first <= this.committed) throw new RaftSafetyError(`truncating at ${first} would drop committed entries (commit ${this.committed})`);
      this.entries.truncate(first - this.snapshotIndex - 1);
      // what was handed out or made durable past the cut is no longer part of this log
      this.handed = Math.min(this.handed, first - 1);
      this.stable = Math.min(this.stable, first - 1);
      this.onCut?.(first);
    }
    this.entries.pushAll(entries, from);
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    assert(index <= this.lastIndex(), `commit ${index} beyond the last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** The entries given to the shell to persist: everything after `handed`. Marks them handed. */
  takeUnhanded(): Entry[] {
    const last = this.lastIndex();
    if (this.handed >= last) return [];
    const out = this.entries.slice(this.handed - this.snapshotIndex, last - this.snapshotIndex);
    this.handed = last;
    return out;
  }

  hasUnhanded(): boolean {
    return this.handed < this.lastIndex();
  }

  /** Entries up to (index, term) are durable, unless the log has since been cut below them. */
  stableTo(index: number, term: number): void {
    if (index <= this.stable) return;
    if (!this.matchTerm(index, term)) return; // a later Ready replaced those entries; its own report will come
    this.stable = Math.min(index, this.handed);
  }

  /** The highest index that may be handed out for applying now. */
  applicableTo(): number {
    return Math.min(this.committed, this.stable);
  }

  /** Replaces the whole log with a snapshot's point (entries after it, if any, are dropped). */
  restore(index: number, term: number): void {
    assert(index > this.committed, `restore to ${index} at or below commit ${this.committed}`);
    this.entries = new EntryArray();
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = this.stable = this.handed = this.applying = this.applied = index;
  }

  /** Drops entries at or below `index` (a snapshot covering them is saved). */
  compact(index: number): void {
    assert(index > this.snapshotIndex, `compact to ${index} at or below the snapshot ${this.snapshotIndex}`);
    assert(index <= this.applied, `compact to ${index} beyond applied ${this.applied}`);
    const term = this.term(index);
    assert(term !== undefined, `no term for compaction index ${index}`);
    this.entries.dropFront(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /** Checks the cursor invariants (used by tests and after boot). */
  checkInvariants(): void {
    const last = this.lastIndex();
    assert(this.snapshotIndex <= this.applied, 'snapshotIndex <= applied');
    assert(this.applied <= this.applying, 'applied <= applying');
    assert(this.applying <= this.committed, 'applying <= committed');
    assert(this.committed <= last, 'committed <= lastIndex');
    assert(this.applying <= this.stable, 'applying <= stable');
    assert(this.stable <= this.handed, 'stable <= handed');
    assert(this.handed <= last, 'handed <= lastIndex');
  }
}
