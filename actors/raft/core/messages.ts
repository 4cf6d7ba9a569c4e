// The messages raft members exchange. Each is a plain object with a `type` tag, so the transport can encode it as
// CBOR and a switch over `type` is exhaustive. Every message names its sender and receiver and carries the sender's
// term; the few that are not part of the term protocol (forwarded proposals and reads, their answers, a forwarded
// leadership transfer) carry term 0 and are never used to learn about terms.
//
// Snapshot data never travels in a raft message: `snap` carries only the metadata, and the member's snapshot
// machinery moves the data beside it (see actors/raft/README in the shell's protocol.ts).
import type { Entry, NodeId, SnapshotMetadata } from './types.js';

/** Appends entries after (index, logTerm) and tells the follower the leader's commit index. */
export interface AppendMessage {
  type: 'app';
  from: NodeId;
  to: NodeId;
  term: number;
  /** Index of the entry just before `entries` (0 before the first entry of the log). */
  index: number;
  /** Term of the entry at `index`. */
  logTerm: number;
  entries: Entry[];
  commit: number;
}

/**
 * A follower's answer to `app` or `snap`. Accepted: `index` is the last index the follower now holds durably and
 * matching the leader. Rejected: `index` is the `index` of the rejected append, and (hintIndex, hintTerm) is the
 * follower's last entry at or below it whose term is at most the append's logTerm, so the leader can skip a whole
 * term of conflicting entries in one round trip.
 */
export interface AppendResponse {
  type: 'appResp';
  from: NodeId;
  to: NodeId;
  term: number;
  index: number;
  reject: boolean;
  hintIndex: number;
  hintTerm: number;
}

/** A vote request; `preVote` asks whether the sender could win an election at `term` without changing anyone's term. */
export interface VoteRequest {
  type: 'vote' | 'preVote';
  from: NodeId;
  to: NodeId;
  term: number;
  /** Index and term of the candidate's last entry (the up-to-date check). */
  index: number;
  logTerm: number;
  /** Set when the campaign was started by a leadership transfer: receivers disregard their leader lease. */
  transfer: boolean;
}

export interface VoteResponse {
  type: 'voteResp' | 'preVoteResp';
  from: NodeId;
  to: NodeId;
  term: number;
  reject: boolean;
}

/** Keeps followers from campaigning, carries the commit index they may use, and the latest ReadIndex round. */
export interface HeartbeatMessage {
  type: 'heartbeat';
  from: NodeId;
  to: NodeId;
  term: number;
  commit: number;
  /** The leader's latest ReadIndex round when this heartbeat left (0: none); echoed in the response. */
  round: number;
}

export interface HeartbeatResponse {
  type: 'heartbeatResp';
  from: NodeId;
  to: NodeId;
  term: number;
  round: number;
}

/** Tells a follower to install the snapshot described here; its data reaches the follower beside this message. */
export interface SnapshotMessage {
  type: 'snap';
  from: NodeId;
  to: NodeId;
  term: number;
  snapshot: SnapshotMetadata;
}

/** Leadership transfer: the leader tells an up-to-date follower to campaign at once. */
export interface TimeoutNowMessage {
  type: 'timeoutNow';
  from: NodeId;
  to: NodeId;
  term: number;
}

/** Proposals a follower forwards to its leader (entries carry index 0 and term 0; the leader assigns both). */
export interface ProposalMessage {
  type: 'prop';
  from: NodeId;
  to: NodeId;
  term: 0;
  /** The forwarder's token for this batch, echoed in the answer. */
  token: number;
  entries: Entry[];
}

/** The leader's answer to a forwarded batch: where it was appended, or why it was refused. */
export interface ProposalResponse {
  type: 'propResp';
  from: NodeId;
  to: NodeId;
  term: 0;
  token: number;
  /** Index of the batch's first entry; its entries are consecutive. 0 when rejected. */
  index: number;
  /** Entries appended (the batch's size). 0 when rejected. */
  count: number;
  /** Term the entries were appended in. 0 when rejected. */
  logTerm: number;
  reject: ProposalRejectReason | '';
}

/** A follower asks its leader for a read index on behalf of every read it holds under `token`. */
export interface ReadIndexRequest {
  type: 'readIndex';
  from: NodeId;
  to: NodeId;
  term: 0;
  token: number;
}

export interface ReadIndexResponse {
  type: 'readIndexResp';
  from: NodeId;
  to: NodeId;
  term: 0;
  token: number;
  index: number;
  reject: boolean;
}

/** A follower forwards a leadership transfer request to its leader. */
export interface TransferLeaderMessage {
  type: 'transferLeader';
  from: NodeId;
  to: NodeId;
  term: 0;
  transferee: NodeId;
}

export type RaftMessage =
  | AppendMessage
  | AppendResponse
  | VoteRequest
  | VoteResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | SnapshotMessage
  | TimeoutNowMessage
  | ProposalMessage
  | ProposalResponse
  | ReadIndexRequest
  | ReadIndexResponse
  | TransferLeaderMessage;

export type RaftMessageType = RaftMessage['type'];

/** Why a proposal was not appended. The shell maps each to etcd's client-facing error. */
export type ProposalRejectReason =
  /** No leader is known (or the leader the proposal was forwarded to no longer leads). */
  | 'noLeader'
  /** The leader is handing leadership over and takes no proposals meanwhile. */
  | 'leaderTransferring'
  /** The leader holds too many bytes of uncommitted entries. */
  | 'tooManyRequests'
  /** A membership change is already in flight (one at a time). */
  | 'confChangePending'
  /** The membership change is not valid against the current configuration. */
  | 'invalidConfChange'
  /** A learner may only be promoted once it has nearly caught up with the leader. */
  | 'learnerNotReady';
