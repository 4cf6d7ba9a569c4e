// The snapshot actor's inbox, its replies, and the stream events it sends to whoever reads a snapshot.
//
// Writing (e.g. the state machine saving its image, or raft installing one):
//   begin{writeId, metadata} → chunk{writeId, bytes} × n → commit{writeId} (ask → SnapshotCommitted), or abort.
//   Chunks are tells; ask one now and then (its reply is SnapshotWriteProgress) to bound how far ahead you are.
// Reading back (bounded: never more than `windowChunks` chunks beyond the requester's credits are in flight):
//   read{readId, term, index, windowChunks} → snapshotChunk × window … credit{readId, chunks} → more … snapshotEnd
//   (or snapshotReadFailed). A multi-gigabyte snapshot therefore never piles up in anyone's mailbox.
import type { Protocol } from '../../runtime/actor.js';
import type { SnapshotMessage } from '../raft/core/messages.js';
import type { SnapshotMetadata } from '../raft/core/types.js';
import type { VerifiedSnapshot } from './file.js';
import type { DamagedSnapshot } from './store.js';

export type { SnapshotFileInfo, VerifiedSnapshot } from './file.js';
export type { DamagedSnapshot } from './store.js';

export interface SnapshotActorConfig {
  /** The member's data directory; snapshot files live in <dataDir>/member/snap. */
  dataDir: string;
  /** Snapshot files kept by prune; default snapshotLimits.keptDefault (5). */
  keep?: number;
  /** The raft actor: told the outcome of snapshots sent to followers, and handed installed snapshots' messages. */
  raft?: string;
  /** The transport actor, which streams snapshot files to peers. */
  transport?: string;
}

export type SnapshotInbox =
  /** tell. Starts a snapshot file; writeId is chosen by the sender, unique among its open writes. */
  | { type: 'begin'; writeId: number; metadata: SnapshotMetadata }
  /** tell (or ask → SnapshotWriteProgress). One chunk of the state image, 1 .. snapshotLimits.chunkBytesMax bytes. */
  | { type: 'chunk'; writeId: number; bytes: Uint8Array }
  /** ask → SnapshotCommitted. Trailer, fsync, rename into place, directory fsync. Rejects if any step failed. */
  | { type: 'commit'; writeId: number }
  /** tell. Drops an unfinished write. */
  | { type: 'abort'; writeId: number }
  /** ask → SnapshotLoaded. The newest snapshot that verifies completely; with `acceptable`, only one of those (the WAL's
   * snapshot markers, so the log can continue from it). Damaged files are moved aside and reported. */
  | { type: 'loadNewest'; acceptable?: Array<{ term: number; index: number }> }
  /** tell. Streams the snapshot at (term, index) to the sender as SnapshotStreamEvent messages. */
  | { type: 'read'; readId: number; term: number; index: number; windowChunks: number }
  /** tell. The requester has consumed `chunks` more chunks of read readId: the reader may send that many more. */
  | { type: 'credit'; readId: number; chunks: number }
  /** tell. Stops a read early. */
  | { type: 'cancelRead'; readId: number }
  /** tell, from raft: ship the snapshot the message describes to message.to (through the transport's pipeline). */
  | { type: 'sendSnapshot'; message: SnapshotMessage }
  /** ask → null, from the transport: a snapshot file arrived from a peer at `path`; verify it, install it, and hand
   * the message that announced it to raft (never before the file is durable under its final name). Answered once raft
   * has been told, so the sender hears "delivered" only after the snapshot is in line ahead of its next appends;
   * a refused file fails the ask. */
  | { type: 'installIncoming'; path: string; message: SnapshotMessage }
  /** ask → SnapshotFileInfo[] (newest first). */
  | { type: 'list' }
  /** ask → paths removed. Keeps the newest `keep` (default: the configured number). */
  | { type: 'prune'; keep?: number };

export interface SnapshotWriteProgress {
  writeId: number;
  chunks: number;
  /** File bytes written so far. */
  bytes: number;
}

export type SnapshotCommitted = VerifiedSnapshot;

export interface SnapshotLoaded {
  newest: VerifiedSnapshot | null;
  damaged: DamagedSnapshot[];
}

/** What a reader receives. `seq` counts chunks from 0. */
export type SnapshotStreamEvent =
  | { type: 'snapshotChunk'; readId: number; seq: number; bytes: Uint8Array }
  | { type: 'snapshotEnd'; readId: number; chunks: number; imageBytes: number; metadata: SnapshotMetadata }
  | { type: 'snapshotReadFailed'; readId: number; error: string; file: string | null; offset: number | null };

export type SnapshotProtocol = Protocol<
  SnapshotInbox,
  { chunk: SnapshotWriteProgress; commit: SnapshotCommitted; loadNewest: SnapshotLoaded; list: import('./file.js').SnapshotFileInfo[]; prune: string[]; installIncoming: null }
>;

/** The part of a reader's inbox the snapshot actor writes to. */
export type SnapshotReaderProtocol = Protocol<SnapshotStreamEvent>;
