// What a leader knows about one follower's log, and how fast it may send to it.
//
// States (as in the Raft thesis, section 4.2.1 flow, and etcd's raft):
// - probe: the leader does not know where the follower's log matches its own. It sends one append at a time and
//   waits for the answer (or the next heartbeat answer) before sending another, moving `next` back on rejections.
// - replicate: the follower matched recently; the leader streams appends optimistically (next moves ahead as soon
//   as an append is sent) with at most `inflight` messages and bytes outstanding.
// - snapshot: the follower needs entries the leader has compacted; the leader sent a snapshot and sends nothing
//   else until the follower reports it installed (or the transport reports it failed).
//
// Invariant: 0 <= match < next. Everything at or below match is known to be in the follower's log, durably.

import { assert } from '../../../runtime/assert.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** A ring of the last index (and bytes) of each append in flight to one follower, oldest first. */
export class Inflights {
  private readonly lastIndexes: Float64Array;
  private readonly sizes: Float64Array;
  private start = 0;
  count = 0;
  bytes = 0;

  constructor(
    readonly messagesMax: number,
    readonly bytesMax: number,
  ) {
    assert(messagesMax >= 1, 'at least one message in flight');
    this.lastIndexes = new Float64Array(messagesMax);
    this.sizes = new Float64Array(messagesMax);
  }

  full(): boolean {
    return this.count >= this.messagesMax || this.bytes >= this.bytesMax;
  }

  add(lastIndex: number, bytes: number): void {
    assert(this.count < this.messagesMax, 'inflights overflow');
    const at = (this.start + this.count) % this.messagesMax;
    if (this.count > 0) {
      const previous = this.lastIndexes[(at + this.messagesMax - 1) % this.messagesMax]!;
      assert(lastIndex > previous, `inflights out of order: ${lastIndex} after ${previous}`);
    }
    this.lastIndexes[at] = lastIndex;
    this.sizes[at] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every append whose last index is at or below `index` (the follower acknowledged them). */
  freeLE(index: number): void {
    while (this.count > 0 && this.lastIndexes[this.start]! <= index) {
      this.bytes -= this.sizes[this.start]!;
      this.start = (this.start + 1) % this.messagesMax;
      this.count--;
    }
    if (this.count === 0) {
      this.start = 0;
      this.bytes = 0;
    }
  }

  /** Frees the oldest append: a heartbeat answer proves the follower is alive, so one slot may be retried. */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.lastIndexes[this.start]!);
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}

export class Progress {
  match = 0;
  next = 1;
  state: ProgressState = 'probe';
  /** Probe state: an append is out; send no other until an answer or a heartbeat answer arrives. */
  probeSent = false;
  /** Snapshot state: index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round (set on any response from the follower). */
  recentActive = false;
  /** Highest ReadIndex round this follower acknowledged (in the current leadership). */
  readRound = 0;
  /** Commit index the leader last told this follower (to avoid commit-only appends that say nothing new). */
  commitSent = 0;
  readonly inflights: Inflights;

  constructor(
    next: number,
    public learner: boolean,
    inflightMessagesMax: number,
    inflightBytesMax: number,
  ) {
    this.next = next;
    this.inflights = new Inflights(inflightMessagesMax, inflightBytesMax);
    this.checkInvariant();
  }

  private checkInvariant(): void {
    assert(this.match >= 0 && this.match < this.next, `progress invariant 0 <= match(${this.match}) < next(${this.next}) broken`);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
    this.checkInvariant();
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
    this.checkInvariant();
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** The follower acknowledged up to `index`. Returns false when that was old news. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    this.checkInvariant();
    return updated;
  }

  /** An append ending at `lastIndex` went out in the replicate state: move next past it at once. */
  optimisticUpdate(lastIndex: number): void {
    this.next = lastIndex + 1;
    this.checkInvariant();
  }

  /**
   * The follower rejected the append after `rejected`; `matchHint` is the highest index the leader now believes may
   * match. Returns false when the rejection is stale (answers an append older than the current probe).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.checkInvariant();
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.probeSent = false;
    this.checkInvariant();
    return true;
  }

  /** Whether the leader must hold back appends to this follower for now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  /** Records that an append with `count` entries ending at `lastIndex` and `bytes` bytes went out. */
  sentEntries(count: number, lastIndex: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.optimisticUpdate(lastIndex);
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }
}
