// What the lease actor does with each input, as plain functions over a Lessor and a time. The actor (actor.ts) is a
// thin shell around these; the raft simulator test (test/lease/sim.test.ts) drives the very same functions from a
// fake clock next to real raft cores and real MVCC stores, so what it shows holds for the member's code, not a copy.
import { encodeValue } from '../../runtime/codec.js';
import { Errors, etcdError } from '../api/errors.js';
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

/** Renews leases for a keep-alive: TTL in seconds per ID (0: unknown). Only the leader renews. */
export function keepAlive(lessor: Lessor, ids: readonly bigint[], nowMs: number): number[] {
  if (!lessor.isLeader) throw etcdError(Errors.notLeader);
  return ids.map((id) => lessor.renew(id, nowMs));
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
  return encodeValue(request);
}
