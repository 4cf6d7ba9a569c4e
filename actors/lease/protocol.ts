// The lease actor's inbox. It keeps time for leases; which leases exist is replicated state the mvcc actor applies
// and reports here (leaseEvents, in apply order). Keep-alives and remaining-time questions come from the gateway.
import type { Protocol } from '../../runtime/actor.js';
import type { LeaderChanged, ProposalResults } from '../raft/protocol.js';

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
  /**
   * Answers of raft to the lease actor's own proposals: a keep-alive checkpoint applied answers its keep-alives;
   * revokes and periodic checkpoints need nothing (what did not apply is proposed again).
   */
  | ProposalResults
  /**
   * ask → TTL in seconds per ID (0: unknown lease, or revoked before the renewal reached the log), answered once the
   * checkpoint carrying the renewals has applied (so a new leader honours them). Fails with "etcdserver: not leader"
   * on a follower, "etcdserver: leader changed" when leadership changed meanwhile, or raft's error for the proposal.
   */
  | { type: 'keepAlive'; ids: bigint[] }
  /** ask → remaining ms per ID (-1: unknown lease). Exact on the leader, estimated from the log elsewhere. */
  | { type: 'remaining'; ids: bigint[] }
  | { type: 'stats' };

export type LeaseProtocol = Protocol<LeaseInbox, { keepAlive: number[]; remaining: number[]; stats: LeaseStats }>;
