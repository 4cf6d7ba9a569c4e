// What is durable on this member, and which outgoing messages must wait for it.
//
// Every Ready has an id. A Ready that carries something to make durable (entries, a snapshot, a new term or vote)
// leaves a mark: what the log and hard state looked like when it was handed out. When the shell reports Ready N
// persisted, everything in Readies up to N is durable, so the newest mark up to N says how far the log and the
// hard state are durable.
//
// A message that claims durability (a vote grant, an append acknowledgement) is held until the Ready it depends on
// is durable: if something it depends on has not been handed out yet, that is the next Ready; otherwise it is the
// last Ready that carried anything to make durable. Example: a follower appends entries 5..7 (not handed out yet)
// and acknowledges 7; the ack waits for the next Ready, say 12. If a duplicate append then arrives and is
// acknowledged again before anything new is handed out, that ack also waits for 12, the last Ready with content.
import type { RaftMessage } from './messages.js';
import type { NodeId } from './types.js';
import { RaftUsageError } from './errors.js';

/** What one Ready with content to make durable carried. */
export interface DurabilityMark {
  id: number;
  lastIndex: number;
  lastTerm: number;
  term: number;
  vote: NodeId;
  /** Snapshot installs before this Ready: an install makes older marks say nothing about the new log. */
  epoch: number;
}

/** A first-in first-out queue that drops its consumed head in bulk. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** The items not yet shifted, oldest first (for in-place updates). */
  *live(): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) yield this.items[i]!;
  }
}

export class Durability {
  /** Id the next Ready will get. */
  nextReadyId = 1;
  /** Id of the last Ready that carried something to make durable. */
  private lastSyncReadyId = 0;
  /** Every Ready up to this id is durable. */
  persistedReadyId = 0;
  private readonly marks = new Fifo<DurabilityMark>();
  private readonly held = new Fifo<{ threshold: number; message: RaftMessage }>();
  /** Durable term and vote (what a restart would find). */
  durableTerm: number;
  durableVote: NodeId;
  private epoch = 0;

  constructor(term: number, vote: NodeId) {
    this.durableTerm = term;
    this.durableVote = vote;
  }

  /**
   * Whether `m` may leave now; otherwise it is held and comes back from persisted(). `dirty`: something `m` depends
   * on is not handed out yet (it will be in the next Ready).
   */
  mayLeave(m: RaftMessage, dirty: boolean): boolean {
    const threshold = dirty ? this.nextReadyId : this.lastSyncReadyId;
    if (threshold <= this.persistedReadyId) return true;
    this.held.push({ threshold, message: m });
    return false;
  }

  /** Takes the id for a Ready being handed out; with something to make durable, records its mark. */
  handOut(mustSync: boolean, state: Omit<DurabilityMark, 'id' | 'epoch'>): number {
    const id = this.nextReadyId++;
    if (mustSync) {
      this.lastSyncReadyId = id;
      this.marks.push({ id, epoch: this.epoch, ...state });
    }
    return id;
  }

  /**
   * Readies up to `readyId` are durable. Returns how far the log is durable (undefined when that says nothing about
   * the current log) and the messages that may leave now.
   */
  persisted(readyId: number): { stable: { index: number; term: number } | undefined; released: RaftMessage[] } {
    if (readyId >= this.nextReadyId) throw new RaftUsageError(`persisted(${readyId}) but the last Ready handed out is ${this.nextReadyId - 1}`);
    const released: RaftMessage[] = [];
    if (readyId <= this.persistedReadyId) return { stable: undefined, released };
    this.persistedReadyId = readyId;
    let mark: DurabilityMark | undefined;
    while ((this.marks.peek()?.id ?? Number.POSITIVE_INFINITY) <= readyId) mark = this.marks.shift();
    let stable: { index: number; term: number } | undefined;
    if (mark) {
      this.durableTerm = mark.term;
      this.durableVote = mark.vote;
      if (mark.epoch === this.epoch) stable = { index: mark.lastIndex, term: mark.lastTerm };
    }
    while ((this.held.peek()?.threshold ?? Number.POSITIVE_INFINITY) <= readyId) released.push(this.held.shift()!.message);
    return { stable, released };
  }

  /**
   * The log was cut at `first` (a new leader replaced the entries from there). Readies in flight wrote entries from
   * `first` on that are no longer ours, but what they wrote below `first` is unchanged, so it still counts once
   * durable: their marks now end at (first - 1, termBefore).
   */
  cut(first: number, termBefore: number): void {
    for (const mark of this.marks.live()) {
      if (mark.epoch === this.epoch && mark.lastIndex >= first) {
        mark.lastIndex = first - 1;
        mark.lastTerm = termBefore;
      }
    }
  }

  /** A snapshot replaced the log: marks of earlier Readies describe a log that is gone. */
  restored(): void {
    this.epoch++;
  }
}
