// The WAL actor's inbox and what it says back. Raft is its one expected client: it tells `append` for every Ready
// (many per turn), and learns what is durable from one `walDurable` per WAL turn.
//
//   raft ──append{seq:1}──┐
//   raft ──append{seq:2}──┼─▶ wal: one write + one fdatasync for the whole turn ──walDurable{seq:3, lastIndex}──▶ raft
//   raft ──append{seq:3}──┘
import type { Protocol } from '../../runtime/actor.js';
import type { ConfState, Entry, HardState } from '../raft/core/types.js';
import type { WalMetadata, WalSnapshotMarker, WalStats } from './wal.js';

export type { WalMetadata, WalSnapshotMarker, WalStats } from './wal.js';

export interface WalActorConfig {
  /** The member's data directory; the WAL lives in <dataDir>/member/wal. */
  dataDir: string;
  /** Written when the WAL does not exist yet (a new member); ignored otherwise (boot returns what is on disk). */
  metadata: WalMetadata;
  /** Segment size; default 64 MiB. */
  segmentBytes?: number;
  /** Default 'zeros' (see WalOptions.preallocation). */
  preallocation?: 'zeros' | 'sparse';
  /** --unsafe-no-fsync: never wait for the disk. Only for measuring without durability; loses data on a crash. */
  unsafeNoFsync?: boolean;
}

export type WalInbox =
  /** ask → WalBootReply. First message of all; opens (or creates) the WAL. `from` boots after an older snapshot
   * marker than the newest (when the newest snapshot file turned out damaged). */
  | { type: 'boot'; from?: { term: number; index: number } }
  /** tell. Entries are contiguous; those at or below the last index overwrite the uncommitted tail from there. The
   * hard state (if any) is written after them. `sync: false` when raft knows the batch needs no fdatasync (etcd's
   * MustSync: no entries and no term or vote change). `seq` increases per sender; walDurable echoes the highest. */
  | { type: 'append'; seq: number; entries: Entry[]; hardState?: HardState; sync: boolean }
  /** tell. Raft saved a snapshot file at (term, index): the marker is written and synced in this turn. */
  | { type: 'snapshotMarker'; term: number; index: number; confState: ConfState; installed?: boolean }
  /** tell. Release segments wholly below index - walLimits.releaseCatchUpEntries; index <= the newest marker's. */
  | { type: 'release'; index: number }
  /** ask → WalActorStats. */
  | { type: 'stats' };

export interface WalBootReply {
  metadata: WalMetadata;
  hardState: HardState;
  /** The newest snapshot marker (or the one asked for with `from`); undefined when none was ever written. */
  snapshot: WalSnapshotMarker | undefined;
  /** Entries after the snapshot marker, contiguous, as last written. */
  entries: Entry[];
  /** Every snapshot marker still in the log, oldest first (pass them to the snapshot actor's loadNewest as
   * `acceptable`, so the snapshot loaded is one the log continues from). */
  markers: Array<{ term: number; index: number }>;
  /** True when this boot created the WAL (with the configured metadata). */
  created: boolean;
  /** Bytes of a torn record cut off the end of the log at this boot (0 when it ended cleanly). */
  tornBytesRepaired: number;
}

/**
 * Told to each sender of appends, once per WAL turn in which it appended: everything it appended up to `seq` is
 * written, and fdatasynced unless every one of those appends said sync: false. `lastIndex` is the log's last index
 * (it can go down after a tail overwrite). Cumulative: a later walDurable covers every earlier seq.
 */
export interface WalDurable {
  type: 'walDurable';
  seq: number;
  lastIndex: number;
}

export interface WalActorStats extends WalStats {
  /** Turns in which the WAL wrote something. */
  turns: number;
  /** walDurable messages that found the receiver's mailbox full and waited for room. */
  durableDeferred: number;
}

export type WalProtocol = Protocol<WalInbox, { boot: WalBootReply; stats: WalActorStats }>;

/** The part of a client's inbox the WAL writes to (raft's inbox includes WalDurable). */
export type WalClientProtocol = Protocol<WalDurable>;
