// Defaults and limits of the raft actor shell; the core's own are in core/limits.ts. Relationships are checked when
// this module loads.
import { assert } from '../../runtime/assert.js';
import { raftLimits } from './core/limits.js';

export const raftShellLimits = {
  /** Milliseconds per raft tick (etcd's --heartbeat-interval default). */
  tickMsDefault: 100,
  /** How long a proposal may wait for its outcome (appended, committed and applied) before it fails with a timeout. */
  proposalTimeoutMsDefault: 7_000,
  /** How long a read may wait for its read index. */
  readTimeoutMsDefault: 7_000,
  /** Entries kept in the log below a saved snapshot, so a slightly lagging follower catches up without a snapshot. */
  keepEntriesAfterSnapshotDefault: 5_000,
  /** Proposals waiting for an outcome at once; beyond it new ones fail with "too many requests". */
  pendingProposalsMax: 1_000_000,
  /** Reads waiting for a read index at once. */
  pendingReadsMax: 1_000_000,
  /** Messages queued for an essential peer (WAL, appliers) while its mailbox is full. */
  backlogMessagesMax: 100_000,
} as const;

assert(raftShellLimits.tickMsDefault >= 1, 'a tick lasts at least a millisecond');
assert(raftShellLimits.proposalTimeoutMsDefault > raftShellLimits.tickMsDefault * raftLimits.electionTicksDefault * 2, 'a proposal outlives an election');
assert(raftShellLimits.readTimeoutMsDefault > raftShellLimits.tickMsDefault * raftLimits.electionTicksDefault, 'a read outlives an election timeout');
assert(raftShellLimits.pendingReadsMax <= raftLimits.pendingReadsMax, 'the core holds every read the shell lets through');
