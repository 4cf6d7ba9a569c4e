// The mvcc actor's inbox and what it sends. Everything is batched: entries arrive in batches from raft, reads and
// watch requests in batches from the gateway, and each turn the actor sends at most one message to each peer.
//
// Outgoing (tells):
//   - to the responder (config.responder, e.g. the gateway): MvccOutput — the outcomes of requests this member
//     proposed that were applied this turn (log order), answers to reads it sent, and watch output in delivery order;
//   - to any other actor that sent reads: MvccOutput with only `reads`;
//   - to raft (config.raft, when set): AppliedReport once per turn in which the applied index moved.
import type { Protocol } from '../../runtime/actor.js';
import type { ApplyOutcome } from '../api/internal.js';
import type {
  LeaseLeasesResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
} from '../api/types.js';
import type { ApplyBatch } from '../raft/protocol.js';
import type { Entry } from '../raft/core/types.js';
import type { SnapshotStreamEvent } from '../snapshot/protocol.js';
import type { MemberRecord } from './members.js';
import type { WatchOutput } from './watch/hub.js';

export interface MvccConfig {
  /** This member's id (16 hex digits): entries it proposed are answered, and it goes into response headers. */
  memberId: string;
  /** This incarnation of the member: only requests proposed by it (not those replayed from an earlier life) are answered. */
  bootId?: number;
  clusterId: string;
  /** The actor that gets apply outcomes and watch output (the gateway). */
  responder: string;
  /** The actor told the applied index (raft); none when unset. */
  raft?: string;
  /** Period of progress notifications for watchers that asked (etcd's default is 10 minutes). */
  progressNotifyIntervalMs?: number;
  /** Lease grants below this TTL are raised to it (etcd: ceil(1.5 x election timeout) in seconds). */
  leaseTTLMinSeconds?: number;
  /** Watch responses at least this large are fragmented for watchers that asked (default: etcd's 1.5 MiB + 512 KiB). */
  watchFragmentBytes?: number;
  /** The lease actor, told every lease grant, revoke and checkpoint as it applies (LeaseEvents). */
  lease?: string;
  /** The snapshot actor: snapshots of the state are written through it and restored from it. */
  snapshot?: string;
  /** A snapshot is saved after this many applied entries (etcd's --snapshot-count); 0 or unset: only when asked. */
  snapshotCount?: number;
  /** Actors told the member table ({type:'members'}) whenever it changes. */
  membersTo?: string[];
}

/** The replicated member table, told to config.membersTo whenever it changes. */
export interface MembersChanged {
  type: 'members';
  members: MemberRecord[];
}

export interface ReadRequest {
  /** Correlation id chosen by the sender; comes back in the result. */
  id: number;
  /** Served once the applied index reaches this: raft's ReadIndex for a linearizable read, 0 for serializable. */
  minAppliedIndex: number;
  op: ReadOp;
}

export type ReadOp =
  | { type: 'range'; req: RangeRequest }
  /** A txn whose every op (nested ones too) is a range. */
  | { type: 'txn'; req: TxnRequest }
  | { type: 'leaseTimeToLive'; req: LeaseTimeToLiveRequest }
  | { type: 'leaseLeases' };

export type ReadResponse = RangeResponse | TxnResponse | LeaseTimeToLiveResponse | LeaseLeasesResponse;

export type ReadResult = { id: number; response: ReadResponse } | { id: number; error: { code: number; message: string } };

/** Watch stream events from the gateway, which owns the client streams; watchers are (streamId, watchId). */
export type WatchInput =
  | { type: 'create'; streamId: number; req: WatchCreateRequest }
  | { type: 'cancel'; streamId: number; watchId: number }
  | { type: 'progress'; streamId: number }
  /** The client stream ended: drop its watchers without answering. */
  | { type: 'close'; streamId: number }
  /** Flow control: a blocked stream gets nothing more until unblocked, then resumes from history without loss. */
  | { type: 'flow'; streamId: number; blocked: boolean };

export interface StatusReply {
  revision: number;
  compactRevision: number;
  appliedIndex: number;
  raftTerm: number;
  /** Logical size of keys, values and per-record overhead (dbSize and quota). */
  sizeBytes: number;
  keys: number;
  historyRecords: number;
  watch: { streams: number; synced: number; unsynced: number; victims: number };
  /** Active alarms (replicated): the member that raised each and its kind. */
  alarms: Array<{ memberID: string; alarm: 'NOSPACE' | 'CORRUPT' }>;
}

export interface HashKVReply {
  hash: number;
  compactRevision: number;
  /** Current revision (etcd's header revision). */
  revision: number;
}

export interface ImageOpenReply {
  streamId: number;
  /** The store revision and applied index the image describes. */
  revision: number;
  appliedIndex: number;
  raftTerm: number;
}

export interface ImagePullReply {
  chunks: Uint8Array[];
  /** True once the last chunk has been handed out (the stream is then closed). */
  done: boolean;
}

export interface RestoreReply {
  revision: number;
  appliedIndex: number;
}

export type MvccInbox =
  | { type: 'committed'; entries: Entry[] }
  /** From raft: restore from `snapshot` first (when set), then apply `entries`; `confState` is the configuration after them. */
  | ApplyBatch
  /** From the snapshot actor, while a snapshot is being restored. */
  | SnapshotStreamEvent
  /** ask → SnapshotSaveReply: write a snapshot of the current state now (concurrent asks share one). */
  | { type: 'saveSnapshot' }
  /** The current raft term, for response headers between entries. */
  | { type: 'term'; term: number }
  | { type: 'read'; reads: ReadRequest[] }
  | { type: 'watch'; requests: WatchInput[] }
  | { type: 'hashKV'; revision: number }
  | { type: 'status' }
  /** Replicated lease table, for the lease actor (after a restore or a leader change). */
  | { type: 'leases' }
  | { type: 'imageOpen' }
  | { type: 'imagePull'; streamId: number; maxChunks: number }
  | { type: 'imageClose'; streamId: number }
  /**
   * Replaces the state with a snapshot image: restoreBegin, restoreChunks (in order, any number), restoreEnd. Open
   * image streams are closed; committed entries and watch requests that arrive meanwhile wait and are handled after
   * restoreEnd (entries at or below the image's applied index are skipped); reads wait too. Synced watchers then
   * catch up from the restored history (or are canceled if it was compacted past them).
   */
  | { type: 'restoreBegin' }
  | { type: 'restoreChunks'; chunks: Uint8Array[] }
  | { type: 'restoreEnd' };

export type MvccProtocol = Protocol<
  MvccInbox,
  {
    hashKV: HashKVReply;
    status: StatusReply;
    leases: Array<{ ID: bigint; grantedTTL: number; remainingMs: number }>;
    imageOpen: ImageOpenReply;
    imagePull: ImagePullReply;
    restoreBegin: null;
    restoreChunks: null;
    restoreEnd: RestoreReply;
    saveSnapshot: SnapshotSaveReply;
  }
>;

/** A snapshot of the state written to disk. */
export interface SnapshotSaveReply {
  path: string;
  index: number;
  term: number;
  bytes: number;
}

/** What the responder and read senders receive: one per turn at most. */
export interface MvccOutput {
  type: 'mvccOutput';
  appliedIndex: number;
  /** The store's revision after this turn (the responder gets a message whenever it moved, for its response headers). */
  revision: number;
  /** Outcomes of this member's proposals applied this turn, in log order (ApplyOutcome.id is the proposal's id). */
  results: ApplyOutcome[];
  reads: ReadResult[];
  /**
   * Watch output in delivery order (see WatchOutput in watch/hub.ts): control responses for one stream, shared
   * recipient sets ('recipients' defines or redefines set N, 'forget' drops it), and event deliveries addressed to
   * explicit (streamId, watchId) lists or to a set. Each delivery becomes, for every recipient, a WatchResponse
   * {header, watchId, events, fragment}; the events array and header are shared, not copied per recipient.
   */
  watch: WatchOutput[];
}

/** What raft receives. */
export interface AppliedReport {
  type: 'applied';
  index: number;
}

/** The inbox shape the mvcc actor expects of its responder and raft (they may accept more). */
export type MvccPeerProtocol = Protocol<MvccOutput | AppliedReport>;
