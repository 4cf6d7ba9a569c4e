// What the core hands the shell, and what the shell hands back.
//
// The cycle (one turn of the shell):
//   1. feed inputs: step(message) for each peer message, tick() on each timer tick, propose(), readIndex(), ...
//   2. while hasReady(): rd = ready(), then act on it:
//      - rd.snapshot: write a snapshot marker to the WAL and restore the appliers from that snapshot (before
//        rd.committedEntries);
//      - rd.entries / rd.hardState: append them to the WAL under sequence number rd.id (sync when rd.mustSync);
//        several Readies may be in flight to the WAL at once;
//      - rd.messages: send now (the core has already held back every message that must wait for durability);
//      - rd.committedEntries: apply, in order; report progress with applied(index);
//      - rd.readStates / rd.readsFailed / rd.proposals / rd.confChanges: answer whoever asked.
//   3. when the WAL says everything through sequence N is durable: persisted(N), then go to 2 again.
//
// Durability rules the core enforces (the shell cannot get them wrong):
// - a vote grant or an append acknowledgement leaves only in a Ready handed out after persisted() covered every
//   Ready whose content it depends on;
// - a leader counts its own log towards a commit only up to what persisted() reported;
// - a candidate counts its own vote only once the Ready carrying its new term and vote is reported persisted;
// - committed entries are handed out for applying only once they are durable on this member.
import type { ConfChange } from './confchange.js';
import type { ProposalRejectReason, RaftMessage } from './messages.js';
import type { ConfState, Entry, HardState, NodeId, SnapshotMetadata } from './types.js';

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state worth telling others about when it changes (leader changes). Not persisted. */
export interface SoftState {
  lead: NodeId | '';
  role: Role;
  term: number;
}

/** A read index confirmed for every read the shell registered under `token`. */
export interface ReadState {
  token: number;
  index: number;
}

export type ProposalOutcome =
  /** The batch was appended at [index, index + count) in `term`; it commits unless a later leader overwrites it. */
  | { token: number; accepted: true; index: number; term: number; count: number }
  | { token: number; accepted: false; reason: ProposalRejectReason };

/** A committed membership change the core applied (or found invalid) while handing out the entry at `index`. */
export interface ConfChangeOutcome {
  index: number;
  change: ConfChange;
  applied: boolean;
  /** Why it did not apply (already a member, last voter...). */
  reason?: string;
  /** The configuration after this entry. */
  confState: ConfState;
}

export interface Ready {
  /** Sequence number of this Ready; when rd.mustSync, pass it to persisted() once its writes are durable. */
  id: number;
  /** Present when leader, role or term changed since the last Ready. */
  softState?: SoftState;
  /** Present when term, vote or commit changed since the last Ready. */
  hardState?: HardState;
  /** A snapshot to install: record it in the WAL and restore the appliers from it. */
  snapshot?: SnapshotMetadata;
  /** Entries to append to the WAL; the first may overwrite the WAL's tail (index <= its last index). */
  entries: Entry[];
  /** Whether entries, snapshot or term/vote changed, so the WAL must fsync before persisted(id). */
  mustSync: boolean;
  /** Messages to send now. */
  messages: RaftMessage[];
  /** Committed entries to apply, in order, durable on this member. */
  committedEntries: Entry[];
  readStates: ReadState[];
  /** Tokens of reads that cannot be served (no leader, leader lost, too many pending). */
  readsFailed: number[];
  proposals: ProposalOutcome[];
  confChanges: ConfChangeOutcome[];
}

export interface ProgressStatus {
  id: NodeId;
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  learner: boolean;
  recentActive: boolean;
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId;
  lead: NodeId | '';
  role: Role;
  commit: number;
  applied: number;
  applying: number;
  lastIndex: number;
  stable: number;
  firstIndex: number;
  confState: ConfState;
  leadTransferee: NodeId | '';
  /** Leader only: every member's replication progress (including its own). */
  progress: ProgressStatus[];
}
