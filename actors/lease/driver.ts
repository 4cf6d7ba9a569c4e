// What the lease actor does with each input, as plain functions over a Lessor and a time. The actor (actor.ts) is a
// thin shell around these; the raft simulator test (test/lease/sim.test.ts) drives the very same functions from a
// fake clock next to real raft cores and real MVCC stores, so what it shows holds for the member's code, not a copy.
// That includes KeepAliveCheckpoints, which holds each keep-alive until the checkpoint carrying its renewal applied.
import { encodeInternalRequest } from '../api/entry-codec.js';
import { assert } from '../../runtime/assert.js';
import { Errors, etcdError, type EtcdError } from '../api/errors.js';
import type { InternalOp, InternalRequest } from '../api/internal.js';
import type { Lessor } from './lessor.js';
import type { LeaseEvents } from './protocol.js';

/** Applies what the mvcc actor applied about leases (in log order) to the lessor's clock-keeping. */
export function applyLeaseEvents(lessor: Lessor, events: LeaseEvents, nowMs: number): void {
  if (events.reset) {
    for (const id of lessor.ids()) lessor.revoked(id);
    for (const l of events.reset) {
      lessor.granted(l.ID, l.TTL, nowMs);
      if (l.remainingMs > 0) lessor.checkpointed(l.ID, l.remainingMs, nowMs);
    }
    if (lessor.isLeader) lessor.promote(nowMs);
  }
  for (const g of events.granted) lessor.granted(g.ID, g.TTL, nowMs);
  for (const id of events.revoked) lessor.revoked(id);
  for (const c of events.checkpoints) lessor.checkpointed(c.ID, c.remainingMs, nowMs);
}

/** Raft told who leads now. Returns what changed for the lessor. */
export function applyLeaderChange(lessor: Lessor, isLeader: boolean, nowMs: number): 'promoted' | 'demoted' | 'unchanged' {
  if (isLeader && !lessor.isLeader) {
    lessor.promote(nowMs);
    return 'promoted';
  }
  if (!isLeader && lessor.isLeader) {
    lessor.demote();
    return 'demoted';
  }
  return 'unchanged';
}

/**
 * Renews leases for a keep-alive at the leader: TTL in seconds per ID (0: unknown), and the remaining time of every
 * renewed lease, which must reach the log before the keep-alive is answered (KeepAliveCheckpoints).
 */
export function keepAlive(lessor: Lessor, ids: readonly bigint[], nowMs: number): { ttls: number[]; checkpoints: LeaseCheckpoint[] } {
  if (!lessor.isLeader) throw etcdError(Errors.notLeader);
  const ttls = new Array<number>(ids.length);
  const checkpoints: LeaseCheckpoint[] = [];
  for (let i = 0; i < ids.length; i++) {
    const ttl = lessor.renew(ids[i]!, nowMs, 'now');
    ttls[i] = ttl;
    if (ttl > 0) checkpoints.push({ ID: ids[i]!, remainingMs: ttl * 1000 });
  }
  return { ttls, checkpoints };
}

export interface LeaseCheckpoint {
  ID: bigint;
  remainingMs: number;
}

/** What a keep-alive is answered with: TTL in seconds per ID, or the error its checkpoint failed with. */
export type KeepAliveOutcome = { ttls: number[] } | { error: EtcdError };

export interface KeepAliveCheckpointLimits {
  /** Renewals waiting (in this turn or in flight) for their checkpoint to apply; more are refused as too many. */
  renewalsPendingMax: number;
  /** Leases in one checkpoint entry; a turn with more proposes several entries (in one proposal batch). */
  leasesPerEntryMax: number;
}

interface Waiter {
  ids: readonly bigint[];
  ttls: number[];
  done: (outcome: KeepAliveOutcome) => void;
}

/** The keep-alives of one turn: answered together once every entry of their checkpoint has applied. */
interface Group {
  term: number;
  waiters: Waiter[];
  renewals: number;
  /** Proposal ids of the group's entries not yet applied. */
  unapplied: Set<number>;
}

/**
 * Keep-alives wait here until their renewal is durable. A keep-alive renews at the leader (keepAlive above); the
 * remaining time of every lease renewed in one turn goes into one checkpoint proposal (split into entries of at most
 * leasesPerEntryMax leases), not rate-limited; the keep-alives are answered once raft reports the proposal applied.
 * Only then can a new leader see the renewal: answering earlier let a leader that went right after answering take
 * the renewal with it, and the next leader resumed from an older checkpoint, ending the lease before the holder's
 * TTL ran out. The entry committing in the leader's term also proves this member led when it answered, so no
 * ReadIndex round is needed. A keep-alive is answered only if the member still leads in the term it proposed in
 * (else "leader changed": the client retries at the new leader), and answers TTL 0 for a lease revoked meanwhile.
 */
export class KeepAliveCheckpoints {
  private turnCheckpoints = new Map<bigint, number>();
  private turnWaiters: Waiter[] = [];
  private turnRenewals = 0;
  private readonly groups = new Map<number, Group>();
  private pendingRenewals = 0;
  private term = 0;

  constructor(private readonly limits: KeepAliveCheckpointLimits) {
    assert(limits.renewalsPendingMax > 0 && limits.leasesPerEntryMax > 0, 'keep-alive limits must be positive');
  }

  /** Renewals waiting for their checkpoint (this turn's included). */
  get pending(): number {
    return this.pendingRenewals;
  }

  /** Renews `ids` now; `done` is called once with the outcome. Throws "not leader" on a member that does not lead. */
  add(lessor: Lessor, ids: readonly bigint[], nowMs: number, done: (outcome: KeepAliveOutcome) => void): void {
    if (!lessor.isLeader) throw etcdError(Errors.notLeader);
    if (this.pendingRenewals + ids.length > this.limits.renewalsPendingMax) {
      done({ error: etcdError(Errors.tooManyRequests) });
      return;
    }
    const { ttls, checkpoints } = keepAlive(lessor, ids, nowMs);
    // the newest remaining time of a lease renewed twice in one turn is the one that counts
    for (const c of checkpoints) this.turnCheckpoints.set(c.ID, c.remainingMs);
    this.turnWaiters.push({ ids, ttls, done });
    this.turnRenewals += ids.length;
    this.pendingRenewals += ids.length;
  }

  /**
   * This turn's checkpoint as ops to propose, with `nextId()` as each one's proposal id (all in one proposal batch).
   * Keep-alives that renewed nothing (unknown leases only) are answered here: there is nothing to make durable.
   */
  takeTurn(nextId: () => number): Array<{ id: number; op: InternalOp }> {
    if (this.turnWaiters.length === 0) return [];
    const waiters = this.turnWaiters;
    const renewals = this.turnRenewals;
    const checkpoints = [...this.turnCheckpoints].map(([ID, remainingMs]) => ({ ID, remainingMs }));
    this.turnWaiters = [];
    this.turnRenewals = 0;
    this.turnCheckpoints = new Map();
    if (checkpoints.length === 0) {
      this.pendingRenewals -= renewals;
      for (const w of waiters) w.done({ ttls: w.ttls });
      return [];
    }
    const proposals: Array<{ id: number; op: InternalOp }> = [];
    const group: Group = { term: this.term, waiters, renewals, unapplied: new Set() };
    for (let at = 0; at < checkpoints.length; at += this.limits.leasesPerEntryMax) {
      const id = nextId();
      proposals.push({ id, op: { type: 'leaseCheckpoint', checkpoints: checkpoints.slice(at, at + this.limits.leasesPerEntryMax) } });
      group.unapplied.add(id);
      this.groups.set(id, group);
    }
    return proposals;
  }

  /** Raft applied these proposals (ids not of this class are ignored). */
  applied(lessor: Lessor, ids: readonly number[]): void {
    for (const id of ids) {
      const group = this.groups.get(id);
      if (!group) continue;
      this.groups.delete(id);
      group.unapplied.delete(id);
      if (group.unapplied.size > 0) continue;
      this.settle(group, undefined);
      if (!lessor.isLeader || group.term !== this.term) {
        for (const w of group.waiters) w.done({ error: etcdError(Errors.leaderChanged) });
        continue;
      }
      for (const w of group.waiters) w.done({ ttls: w.ttls.map((ttl, i) => (ttl > 0 && !lessor.has(w.ids[i]!) ? 0 : ttl)) });
    }
  }

  /**
   * Raft could not commit this proposal: its keep-alives get raft's error. The renewals stand on this leader, so the
   * periodic checkpoint records them later (a new leader then does not end them earlier than this one would).
   */
  failed(lessor: Lessor, id: number, error: EtcdError): void {
    const group = this.groups.get(id);
    if (!group) return;
    for (const w of group.waiters) for (const lease of w.ids) lessor.checkpointLater(lease);
    this.settle(group, error);
  }

  /** The term changed (or this member stopped leading): keep-alives of an earlier term fail now, not at a timeout. */
  leaderChanged(term: number, isLeader: boolean): void {
    this.term = term;
    const stale = new Set<Group>();
    for (const group of this.groups.values()) if (group.term !== term || !isLeader) stale.add(group);
    for (const group of stale) this.settle(group, etcdError(Errors.leaderChanged));
    if (!isLeader) this.failTurn(etcdError(Errors.notLeader));
  }

  /** Everything waiting fails with `error` (the actor is stopping). */
  failAll(error: EtcdError): void {
    for (const group of new Set(this.groups.values())) this.settle(group, error);
    this.failTurn(error);
  }

  private failTurn(error: EtcdError): void {
    const waiters = this.turnWaiters;
    this.pendingRenewals -= this.turnRenewals;
    this.turnWaiters = [];
    this.turnRenewals = 0;
    this.turnCheckpoints = new Map();
    for (const w of waiters) w.done({ error });
  }

  /** Forgets a group; with an error, answers its keep-alives with it. */
  private settle(group: Group, error: EtcdError | undefined): void {
    for (const id of group.unapplied) this.groups.delete(id);
    group.unapplied.clear();
    this.pendingRenewals -= group.renewals;
    group.renewals = 0;
    if (error) for (const w of group.waiters) w.done({ error });
  }
}

export interface TickRates {
  tickMs: number;
  expiryRatePerSecond: number;
  checkpointRatePerSecond: number;
}

export interface TickProposals {
  ops: InternalOp[];
  revokes: number;
  checkpoints: number;
}

/** One tick on the leader: revokes for expired leases and a checkpoint of renewed ones, each within its rate. */
export function tickProposals(lessor: Lessor, nowMs: number, rates: TickRates): TickProposals {
  if (!lessor.isLeader) return { ops: [], revokes: 0, checkpoints: 0 };
  const expired = lessor.dueExpirations(nowMs, Math.max(1, Math.floor((rates.expiryRatePerSecond * rates.tickMs) / 1000)));
  const checkpoints = lessor.dueCheckpoints(nowMs, Math.max(1, Math.floor((rates.checkpointRatePerSecond * rates.tickMs) / 1000)));
  const ops: InternalOp[] = expired.map((ID) => ({ type: 'leaseRevoke', req: { ID } }));
  if (checkpoints.length > 0) ops.push({ type: 'leaseCheckpoint', checkpoints });
  return { ops, revokes: expired.length, checkpoints: checkpoints.length };
}

/** The raft payload of one lease op the lease actor proposes: nobody waits on its answer (id 0). */
export function leaseOpPayload(memberId: string, op: InternalOp): Uint8Array {
  const request: InternalRequest = { id: 0, member: memberId, boot: 0, op };
  return encodeInternalRequest(request);
}
