// Every default and limit of the raft core in one place; the relationships between them are checked when this module
// loads, so a bad edit fails at start rather than under load.
import { assert } from '../../../runtime/assert.js';

export const raftLimits = {
  /** Ticks a follower waits without hearing from a leader before it campaigns (randomised to [n, 2n)). */
  electionTicksDefault: 10,
  /** Ticks between a leader's heartbeats. */
  heartbeatTicksDefault: 1,
  /** Append messages a leader keeps in flight to one follower in the replicate state. */
  inflightMessagesDefault: 256,
  /** Largest sum of entry bytes a leader puts in one append message (one entry always fits, whatever its size). */
  appendBytesDefault: 1024 * 1024,
  /** Bytes a leader accepts as proposals before they commit; beyond it proposals are refused (backpressure). */
  uncommittedBytesDefault: 64 * 1024 * 1024,
  /** Largest sum of entry bytes handed out for applying in one Ready. */
  committedBytesPerReadyDefault: 8 * 1024 * 1024,
  /** Entry bytes handed out for applying and not yet reported applied; beyond it the core waits for the appliers. */
  applyingBytesDefault: 64 * 1024 * 1024,
  /** Bytes counted per entry on top of its data, so empty entries still cost something in every budget. */
  entryOverheadBytes: 32,
  /** Read requests a leader or follower holds at once (waiting for a commit in the term or for a heartbeat round). */
  pendingReadsMax: 1_000_000,
  /** Forwarded ReadIndex batches a follower keeps waiting for its leader's answer. */
  forwardedReadRoundsMax: 4096,
  /** A learner may be promoted once its match index is at least this fraction of the leader's last index. */
  learnerPromotionFraction: 0.9,
} as const;

assert(raftLimits.heartbeatTicksDefault < raftLimits.electionTicksDefault, 'heartbeats must come more often than elections');
assert(raftLimits.appendBytesDefault <= raftLimits.uncommittedBytesDefault, 'one append must fit in the uncommitted budget');
assert(raftLimits.committedBytesPerReadyDefault <= raftLimits.applyingBytesDefault, 'one apply batch must fit in the applying budget');
assert(raftLimits.inflightMessagesDefault >= 1, 'at least one append in flight');
assert(raftLimits.learnerPromotionFraction > 0 && raftLimits.learnerPromotionFraction <= 1, 'promotion fraction in (0, 1]');
