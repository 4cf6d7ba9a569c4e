// Every bound of the state machine and the watch hub in one place, with their relationships checked when the module
// loads, so a bad edit fails at start rather than under load.
import { assert } from '../../runtime/assert.js';

export const mvccLimits = {
  /** etcd's --max-txn-ops default: the largest of (compares, success ops, failure ops) at one level of a txn. */
  txnOpsMax: 128,
  /** etcd's --max-request-bytes default. Used for watch fragmenting (with the gRPC overhead below). */
  requestBytesMax: 1.5 * 1024 * 1024,
  /** etcd adds this to the request limit when deciding whether a watch response must be fragmented. */
  grpcOverheadBytes: 512 * 1024,
  /** etcd's largest lease TTL in seconds. */
  leaseTTLMaxSeconds: 9_000_000_000,

  /** Records per history chunk (columns are typed arrays of this length). */
  historyChunkRecords: 4096,
  /** First size of a chunk's value arena; it doubles up to historyChunkBytesMax. */
  historyChunkBytesInitial: 64 * 1024,
  /** A chunk stops taking records once its arena would grow past this (one larger value gets a chunk of its own). */
  historyChunkBytesMax: 1024 * 1024,
  /** History records one step of physical compaction frees (a big compaction is spread over turns). */
  compactionRecordsPerStep: 200_000,
  /** Bytes counted per stored record on top of its key and value, for the size reported as dbSize and quota. */
  recordOverheadBytes: 64,

  /** Target size of one snapshot image chunk; a single record larger than this makes a larger chunk. */
  imageChunkBytes: 1024 * 1024,

  /** A catch-up watch response carries events of at most this many revisions (etcd's watchBatchMaxRevs). */
  watchBatchRevisionsMax: 1000,
  /**
   * A synced watcher gets one response per revision, as etcd notifies per write, as long as one turn applied at most
   * this many revisions it matches; past that the turn's events go out in responses of up to watchBatchRevisionsMax
   * revisions, as etcd batches a watcher whose 128-response channel is full (so a write burst into a watched prefix
   * costs one response per watcher per turn, not one per revision).
   */
  watchSplitRevisionsMax: 128,
  /** History records a catch-up step reads per turn, so unsynced watchers never hold up applying. */
  watchSyncRecordsPerStep: 20_000,
  /** Watch streams and watchers the hub keeps; beyond these, creates are refused. */
  watchStreamsMax: 1_000_000,
  watchersMax: 2_000_000,

  /** Reads waiting for the applied index to reach their ReadIndex; beyond this they fail with "too many requests". */
  readsPendingMax: 100_000,
  /** Image streams open at once (each one defers freeing compacted history while it is open). */
  imageStreamsMax: 4,
  /** An image stream not pulled for this long is closed, so a vanished consumer cannot pin history forever. */
  imageStreamIdleMs: 60_000,
  /** Largest number of chunks one pull of an image stream may ask for (bounds one reply to ~16 MiB). */
  imagePullChunksMax: 16,
  /** Committed entries held while a snapshot restore is in progress. */
  entriesHeldWhileRestoringMax: 1_000_000,
  /** Outgoing messages held for a peer whose mailbox is full (each one is a whole turn's batch). */
  outboxMessagesMax: 4096,
  /** Snapshot chunks in flight from the snapshot actor during a restore. */
  restoreWindowChunks: 8,
  /** A snapshot waits until the log since the last one holds at least this fraction of that snapshot's bytes. */
  snapshotLogToImageRatio: 0.5,
  /** While writing a snapshot, one chunk in this many is asked (not told), which paces the writer to the disk. At 1
   * the store answers other work between any two chunks: each chunk is built synchronously (about 10 ms per MB), and
   * four in a row were the main source of put p99 latency under load (55 ms; 20 ms at 1). */
  snapshotChunksPerAsk: 1,
} as const;

assert(mvccLimits.historyChunkBytesInitial <= mvccLimits.historyChunkBytesMax, 'chunk arena starts above its maximum');
assert(mvccLimits.historyChunkRecords <= 65_536, 'chunk records must stay addressable by a small index');
assert(mvccLimits.imageChunkBytes >= 64 * 1024, 'image chunks too small to hold a typical record');
assert(mvccLimits.watchSyncRecordsPerStep >= mvccLimits.watchBatchRevisionsMax, 'a sync step must cover one full batch');
assert(mvccLimits.watchSplitRevisionsMax >= 1 && mvccLimits.watchSplitRevisionsMax <= mvccLimits.watchBatchRevisionsMax, 'split deliveries must be at most one batch');
assert(mvccLimits.txnOpsMax >= 1, 'txn must allow at least one op');
