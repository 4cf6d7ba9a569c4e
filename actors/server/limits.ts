// Limits of the member's request layer (the main thread), checked where they relate.
import { assert } from '../../runtime/assert.js';

export const serverLimits = {
  /** etcd's --max-request-bytes default, when the member's configuration does not say. */
  maxRequestBytesDefault: 1.5 * 1024 * 1024,
  /** Proposals waiting for their outcome; past it requests fail with "too many requests". */
  proposalsInFlightMax: 200_000,
  /** Reads waiting for their answer. */
  readsInFlightMax: 200_000,
  /** Keep-alive requests queued on one stream while the lease actor answers the previous batch. */
  keepAliveQueueMax: 100_000,
  /** How often waiting requests are checked for their deadline (and the store's size refreshed for the quota). */
  sweepIntervalMs: 250,
  /** Bytes per message of the snapshot stream. */
  snapshotChunkBytes: 1024 * 1024,
  snapshotSaveTimeoutMs: 10 * 60 * 1000,
  /** A /metrics scrape waits this long for raft, the store and the WAL; past it the last figures are served. */
  metricsAskTimeoutMs: 2_000,
} as const;

assert(serverLimits.sweepIntervalMs < 1_000, 'timeouts are checked often enough to be within a second');
