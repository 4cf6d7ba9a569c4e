// The raft data every actor agrees on: log entries, hard state, membership and snapshot metadata. The WAL persists
// these, the raft core produces and consumes them, and the apply actors read committed entries.
//
// Node IDs are 16-digit lowercase hex strings (etcd's member IDs as etcdctl prints them).

export type NodeId = string;

export const EntryType = {
  /** A client request (the payload is the member's encoded request), or empty (a new leader's no-op). */
  Normal: 0,
  /** A membership change (the payload is an encoded ConfChange). */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be durable before a node answers a vote or acknowledges entries. */
export interface HardState {
  term: number;
  /** '' when the node has not voted in `term`. */
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  /** Voters of the outgoing configuration while a joint change is in progress; empty otherwise. */
  votersOutgoing: NodeId[];
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export const emptyHardState: HardState = { term: 0, vote: '', commit: 0 };
