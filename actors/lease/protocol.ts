// The lease actor's inbox. It keeps time for leases; which leases exist is replicated state the mvcc actor applies
// and reports here (leaseEvents, in apply order). Keep-alives and remaining-time questions come from the gateway.
import type { Protocol } from '../../runtime/actor.js';
import type { LeaderChanged, ProposalResults, ReadIndexResults } from '../raft/protocol.js';

/** What the mvcc actor applied about leases, in log order, once per turn. */
export interface LeaseEvents {
  type: 'leaseEvents';
  granted: Array<{ ID: bigint; TTL: number }>;
  revoked: bigint[];
  checkpoints: Array<{ ID: bigint; remainingMs: number }>;
  /** The whole table after a snapshot restore: replaces what the lessor knew. */
  reset?: Array<{ ID: bigint; TTL: number; remainingMs: number }>;
}

export interface LeaseStats {
  leases: number;
  isLeader: boolean;
  revokesProposed: number;
  checkpointsProposed: number;
  renewals: number;
}

export type LeaseInbox =
  | LeaseEvents
  | LeaderChanged
  /** Answers of raft to the lease actor's own proposals (revokes, checkpoints): nothing to do but count failures. */
  | ProposalResults
  /** Answers of raft to the ReadIndex rounds that confirm leadership before a keep-alive is answered. */
  | ReadIndexResults
  /**
   * ask → TTL in seconds per ID (0: unknown lease), answered once raft confirmed this member still leads; fails with
   * "etcdserver: not leader" on a follower or a leader that could not confirm it leads.
   */
  | { type: 'keepAlive'; ids: bigint[] }
  /** ask → remaining ms per ID (-1: unknown lease). Exact on the leader, estimated from the log elsewhere. */
  | { type: 'remaining'; ids: bigint[] }
  | { type: 'stats' };

export type LeaseProtocol = Protocol<LeaseInbox, { keepAlive: number[]; remaining: number[]; stats: LeaseStats }>;
