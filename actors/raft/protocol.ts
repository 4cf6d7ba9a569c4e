// The raft actor's inbox and everything it tells other actors. Built for batching: proposals, reads, peer messages
// and committed entries all travel in batches, and the actor answers each sender at most once per turn.
//
// Who talks to raft, and what raft tells back:
//
//   gateway    --propose{proposals}-------------> raft --proposalResults{applied, failed}--> gateway (the sender)
//   gateway    --readIndex{ids}-----------------> raft --readIndexResults{ready, failed}---> gateway (the sender)
//   transport  --peerMessages{messages}---------> raft --send{messages}-------------------> transport
//   transport  --unreachable / snapshotStatus---> raft
//   wal        --walDurable{seq}----------------> raft --append / snapshotMarker / release-> wal  (wal-contract.ts)
//   appliers   --applied{index}-----------------> raft --apply{snapshot?, entries}--------> appliers (e.g. mvcc, lease)
//   snapshot   --snapshotSaved{index}-----------> raft --sendSnapshot{message}------------> snapshot source
//   anyone     --changeMembership / transferLeadership / status (asks)
//   raft       --leaderChanged{leader, term}----> notify actors
//
// Snapshots: raft messages never carry snapshot data. When a follower needs one, raft tells the snapshot source
// `sendSnapshot` with the `snap` message (metadata only); the source ships the data and the message to the
// follower's snapshot actor, which saves the data and then hands the `snap` message to its raft in `peerMessages`
// (never before the data is saved). The sender's source reports the outcome with `snapshotStatus` (it must, success
// or failure, or the follower stays paused). When raft installs a snapshot, the appliers get `apply` with `snapshot`
// set before any later entry, and restore their state from the snapshot saved at that index.
import type { Protocol } from '../../runtime/actor.js';
import type { GrpcCode } from '../api/errors.js';
import type { RaftMessage, SnapshotMessage } from './core/messages.js';
import type { RaftStatus } from './core/ready.js';
import type { ConfState, Entry, NodeId, SnapshotMetadata } from './core/types.js';
import type { WalDurable } from './wal-contract.js';

export interface Proposal {
  /** The sender's id for this proposal, echoed in proposalResults. */
  id: number;
  /** Opaque to raft: the entry's data. */
  payload: Uint8Array;
}

export type MembershipChange =
  | { op: 'addVoter'; nodeId: NodeId; context?: Uint8Array }
  | { op: 'addLearner'; nodeId: NodeId; context?: Uint8Array }
  | { op: 'promote'; nodeId: NodeId }
  | { op: 'remove'; nodeId: NodeId };

export interface MembershipResult {
  /** Index of the committed change. */
  index: number;
  /** Configuration once applied. */
  confState: ConfState;
}

export interface TransferResult {
  leader: NodeId;
  term: number;
}

export interface ShellStatus extends RaftStatus {
  /** Lowest index every applier reported applied. */
  appliedByAll: number;
}

export type RaftInbox =
  /** Told by the gateway (any number per turn; each turn's proposals become one append). */
  | { type: 'propose'; proposals: Proposal[] }
  /** Linearizable reads: one heartbeat round serves every read registered in one turn. */
  | { type: 'readIndex'; ids: number[] }
  /** From the transport (and from the snapshot actor for `snap`, once its data is saved). */
  | { type: 'peerMessages'; messages: RaftMessage[] }
  /** From the transport: these peers could not be reached (a full buffer dropped messages to them). */
  | { type: 'unreachable'; peers: NodeId[] }
  /** From the snapshot source: how sending a snapshot to `peer` went. */
  | { type: 'snapshotStatus'; peer: NodeId; ok: boolean }
  /** From an applier: it applied every entry up to `index`. */
  | { type: 'applied'; index: number }
  /** From the WAL. */
  | WalDurable
  /** From the snapshot actor: a snapshot of the state at `index` is saved; the log below it may go. */
  | { type: 'snapshotSaved'; index: number }
  /** Ask; answered with MembershipResult once applied, or fails with an EtcdError. */
  | { type: 'changeMembership'; change: MembershipChange }
  /** Ask; answered with TransferResult once `to` leads, or fails. */
  | { type: 'transferLeadership'; to: NodeId }
  /** Ask; answered with ShellStatus. */
  | { type: 'status' };

export type RaftProtocol = Protocol<
  RaftInbox,
  { changeMembership: MembershipResult; transferLeadership: TransferResult; status: ShellStatus }
>;

export interface Failure {
  code: GrpcCode;
  message: string;
}

/** Told to a proposer, at most once per turn. */
export interface ProposalResults {
  type: 'proposalResults';
  /** Ids of proposals committed and applied by every applier. */
  applied: number[];
  failed: Array<{ id: number } & Failure>;
}

/** Told to a reader, at most once per turn. Serve each read once the state machine has applied its index. */
export interface ReadIndexResults {
  type: 'readIndexResults';
  ready: Array<{ ids: number[]; index: number }>;
  failed: Array<{ ids: number[] } & Failure>;
}

/** Told to the transport: one per turn, every message raft sends in that turn. */
export interface SendMessages {
  type: 'send';
  messages: RaftMessage[];
}

/** Told to every applier, in order: restore from `snapshot` first (when present), then apply `entries`. */
export interface ApplyBatch {
  type: 'apply';
  snapshot?: SnapshotMetadata;
  entries: Entry[];
  /** The configuration in effect after `entries`, present whenever it differs from the last one sent (and on the
   * first batch after boot), so an applier can describe a snapshot of its state at any batch boundary. */
  confState?: ConfState;
}

/** Told to the snapshot source: ship the snapshot at message.snapshot.index to message.to with this message. */
export interface SendSnapshot {
  type: 'sendSnapshot';
  message: SnapshotMessage;
}

/** Told to the notify actors whenever the known leader or the term changes. */
export interface LeaderChanged {
  type: 'leaderChanged';
  /** '' when no leader is known. */
  leader: NodeId | '';
  term: number;
  /** Whether this member is the leader. */
  isLeader: boolean;
}

export type RaftOutput = ProposalResults | ReadIndexResults | SendMessages | ApplyBatch | SendSnapshot | LeaderChanged;

/** The shell's configuration. */
export interface RaftShellConfig {
  memberId: NodeId;
  /** Voters of a new cluster; used only when the WAL was just created. Empty: join an existing cluster. */
  initialVoters?: NodeId[];
  /** The context of each initial voter's bootstrap entry (the applier's member record: name and peer URLs). */
  initialVoterContexts?: Record<NodeId, Uint8Array>;
  tickMs?: number;
  heartbeatTicks?: number;
  electionTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  inflightMessagesMax?: number;
  appendBytesMax?: number;
  uncommittedBytesMax?: number;
  proposalTimeoutMs?: number;
  readTimeoutMs?: number;
  keepEntriesAfterSnapshot?: number;
  actors: {
    wal: string;
    transport: string;
    /** Appliers; each gets every committed entry. */
    apply: string[];
    /** Told leaderChanged. */
    notify?: string[];
    /** Ships snapshots to followers; without one, followers that need a snapshot are reported failed at once. */
    snapshot?: string;
  };
}
