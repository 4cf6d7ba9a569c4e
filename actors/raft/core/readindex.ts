// ReadIndex (Raft thesis, section 6.4): a linearizable read needs an index that covers every write committed before
// the read arrived, confirmed by a round of heartbeats acknowledged by a majority (so no newer leader can have
// committed anything this leader does not know about).
//
// Batching: reads are not confirmed one by one. Every read registered since the last round joins the next round;
// one heartbeat broadcast confirms them all. Rounds are numbered; heartbeats carry the latest round number and
// answers echo it, and an answer for round r also confirms every earlier round (it proves leadership at a later
// moment). So the leader only tracks, per follower, the highest round acknowledged, and releases every round at or
// below what a majority acknowledged.
//
// Worked example: reads r1, r2 arrive, round 1 starts at commit 40 (heartbeats carry round 1); read r3 arrives,
// round 2 starts at commit 42. Follower B answers round 2 before round 1's answer arrives: with the leader, a
// majority of three has acknowledged round 2, so r1, r2 are served at 40 and r3 at 42.
//
// A new leader does not know the commit index of earlier terms until it commits an entry of its own term; reads
// wait for that first.
//
// Followers forward their reads to the leader in one batch per Ready and serve them at the index it answers.
import type { NodeId } from './types.js';

/** A read registered with the leader: the shell's own (from === the leader) or a follower's forwarded batch. */
export interface ReadRequest {
  from: NodeId;
  token: number;
}

/** One heartbeat round confirming leadership for every read it carries, at `index`. */
export interface ReadRound {
  round: number;
  index: number;
  requests: ReadRequest[];
}

/** The leader's side. */
export class LeaderReads {
  /** The latest round started. Never reset: heartbeat answers from an earlier leadership are in an older term. */
  lastRound = 0;
  /** Reads registered and not yet released or failed. */
  pending = 0;
  private waitingCommit: ReadRequest[] = [];
  private unsent: ReadRequest[] = [];
  private rounds: ReadRound[] = [];

  add(r: ReadRequest, committedInTerm: boolean): void {
    this.pending++;
    if (committedInTerm) this.unsent.push(r);
    else this.waitingCommit.push(r);
  }

  /** The leader committed an entry of its own term: reads waiting for that join the next round. */
  commitKnown(): void {
    for (const r of this.waitingCommit) this.unsent.push(r);
    this.waitingCommit = [];
  }

  hasUnsent(): boolean {
    return this.unsent.length > 0;
  }

  /** Reads registered since the last round, taken out (for a leader that needs no round: it is the only voter). */
  takeUnsent(): ReadRequest[] {
    const out = this.unsent;
    this.unsent = [];
    this.pending -= out.length;
    return out;
  }

  /** Starts a round at read index `index` for every read registered since the last one. */
  startRound(index: number): ReadRound {
    const round: ReadRound = { round: ++this.lastRound, index, requests: this.unsent };
    this.unsent = [];
    this.rounds.push(round);
    return round;
  }

  hasRounds(): boolean {
    return this.rounds.length > 0;
  }

  /** Takes out every round at or below `acked` (the highest round a majority acknowledged). */
  release(acked: number): ReadRound[] {
    let k = 0;
    while (k < this.rounds.length && this.rounds[k]!.round <= acked) {
      this.pending -= this.rounds[k]!.requests.length;
      k++;
    }
    if (k === 0) return [];
    const out = this.rounds.slice(0, k);
    this.rounds = this.rounds.slice(k);
    return out;
  }

  /** Leadership is lost: every read still pending, taken out to be failed. */
  drain(): ReadRequest[] {
    const out = [...this.waitingCommit, ...this.unsent];
    for (const round of this.rounds) for (const r of round.requests) out.push(r);
    this.waitingCommit = [];
    this.unsent = [];
    this.rounds = [];
    this.pending = 0;
    return out;
  }
}

/** A follower's side: reads forwarded to the leader in batches. */
export class ForwardedReads {
  private unsent: number[] = [];
  private readonly waiting = new Map<number, { tokens: number[]; lead: NodeId; term: number }>();
  private lastBatch = 0;

  add(token: number): void {
    this.unsent.push(token);
  }

  unsentCount(): number {
    return this.unsent.length;
  }

  waitingCount(): number {
    return this.waiting.size;
  }

  takeUnsent(): number[] {
    const out = this.unsent;
    this.unsent = [];
    return out;
  }

  /** Registers a batch sent to `lead` in `term`; returns the batch token the leader will echo. */
  forward(tokens: number[], lead: NodeId, term: number): number {
    const batch = ++this.lastBatch;
    this.waiting.set(batch, { tokens, lead, term });
    return batch;
  }

  /** The leader answered batch `batch`: its tokens (undefined when unknown or given up). */
  answer(batch: number): number[] | undefined {
    const b = this.waiting.get(batch);
    if (!b) return undefined;
    this.waiting.delete(batch);
    return b.tokens;
  }

  /** Batches sent to another leader or in another term will never be answered: their tokens, to fail. */
  dropStale(lead: NodeId | '', term: number): number[] {
    const out: number[] = [];
    for (const [batch, b] of this.waiting) {
      if (b.lead === lead && b.term === term) continue;
      this.waiting.delete(batch);
      for (const t of b.tokens) out.push(t);
    }
    return out;
  }
}
