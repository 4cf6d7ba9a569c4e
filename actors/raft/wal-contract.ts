// The part of the WAL actor's protocol the raft shell relies on. The WAL actor (actors/wal) is built separately;
// these shapes are what raft codes against, to be reconciled with actors/wal/protocol.ts.
//
// Ordering: the WAL handles messages from raft in the order sent. An `append` whose first entry index is at or below
// the WAL's last index replaces the WAL's tail from that index. `walDurable` says every append with seq <= its seq
// (and everything told before it) is durable; one answer may cover many appends (group commit), and appends with
// sync false may be answered late (with the next synced group).
//
// Sequence numbers are raft's Ready ids: increasing, with gaps (Readies with nothing to write send no append), and
// starting again from 1 each time the raft actor boots (it asks `boot` first). So the WAL keeps the highest seq it
// made durable since the last `boot`, and never reports a seq it has not received since then.
import type { Protocol } from '../../runtime/actor.js';
import type { ConfState, Entry, HardState, NodeId } from './core/types.js';

export interface WalBootReply {
  metadata: { memberId: NodeId; clusterId: string };
  hardState: HardState;
  /** The newest snapshot marker in the WAL. confState: the configuration at that index (needed to restart raft). */
  snapshot: { term: number; index: number; confState?: ConfState } | undefined;
  /** Durable entries after the snapshot, in order. */
  entries: Entry[];
  /** True when this boot created the WAL (a new member). */
  created: boolean;
}

export type WalInbox =
  | { type: 'boot' }
  | { type: 'append'; seq: number; entries: Entry[]; hardState?: HardState; sync: boolean }
  /**
   * A snapshot exists at (term, index). installed: true when it came from the leader and replaced the whole log, so
   * entries after `index` written before this marker are void (they belong to a history this member left); false
   * for a local snapshot, where every entry stays.
   */
  | { type: 'snapshotMarker'; term: number; index: number; confState: ConfState; installed: boolean }
  /** Segments holding only entries at or below `index` may be deleted. */
  | { type: 'release'; index: number };

export type WalProtocol = Protocol<WalInbox, { boot: WalBootReply }>;

/** What the WAL tells the raft actor. */
export interface WalDurable {
  type: 'walDurable';
  /** Highest append seq now durable. */
  seq: number;
  /** Last entry index durable. */
  lastIndex: number;
}
