// Every size and count the WAL depends on, in one place, with their relationships checked when the module loads so a
// bad edit fails at start rather than on a full disk at 3 a.m.
import { assert } from '../../runtime/assert.js';

const MiB = 1024 * 1024;

export const walLimits = {
  /** Nominal size of a segment file. A segment is cut before a record would cross it (a lone record larger than a
   * segment gets a segment of its own, bigger than nominal). etcd uses the same 64 MB. */
  segmentBytesDefault: 64 * MiB,
  /** Smallest segment size a caller may configure (tests use small segments to exercise rotation). */
  segmentBytesMin: 4096,
  /** Largest payload of one record: bounds what boot must hold for a single record and what the u32 length field
   * must express. Raft entries are bounded far below this by the request size limit. */
  recordPayloadBytesMax: 256 * MiB,
  /** Records waiting in memory to be written are written out (without a sync) once they reach this size, so one huge
   * turn cannot hold an unbounded buffer; durability is still claimed only after the turn's sync. */
  pendingBytesMax: 16 * MiB,
  /** Zero-filling the next segment happens in steps of this size, each its own write and fdatasync, so no single
   * background step holds the WAL's thread for more than a millisecond or two. */
  preparationChunkBytes: 256 * 1024,
  /** When no append turn came for this long, preparation steps run back to back (the WAL is idle). */
  preparationIdleMs: 5,
  /** Boot reads segments with reads of at most this size (large sequential reads, never one call per record). */
  bootReadBytes: 64 * MiB,
  /** Entries kept below the newest snapshot when segments are released, so a slow follower can still catch up from
   * the log rather than needing a snapshot (etcd keeps 5,000). */
  releaseCatchUpEntries: 5_000,
  /** Size of the chunks compared against zeros when checking the preallocated tail of the last segment. */
  zeroCheckChunkBytes: 1 * MiB,
  /** Samples of fsync latency kept for the p50/p99 in stats. */
  syncLatencySamples: 1024,
  /** Upper bounds (seconds) of the fsync duration histogram, as etcd's wal_fsync_duration_seconds: 1 ms doubling. */
  syncHistogramBoundsSeconds: [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192],
} as const;

assert(walLimits.segmentBytesDefault % 8 === 0 && walLimits.segmentBytesMin % 8 === 0, 'segments are 8-byte aligned');
assert(walLimits.segmentBytesMin <= walLimits.segmentBytesDefault, 'minimum segment size above the default');
assert(walLimits.recordPayloadBytesMax < 2 ** 32 - 64, 'record length must fit in a u32 with its header and padding');
assert(walLimits.preparationChunkBytes % 4096 === 0, 'preparation chunks are whole pages');
assert(walLimits.preparationChunkBytes <= walLimits.segmentBytesDefault, 'preparation chunk larger than a segment');
assert(walLimits.pendingBytesMax >= walLimits.preparationChunkBytes, 'pending buffer smaller than a preparation chunk');

assert(walLimits.bootReadBytes >= walLimits.zeroCheckChunkBytes, 'boot reads smaller than a zero-check chunk');
assert(walLimits.releaseCatchUpEntries > 0, 'release needs a catch-up margin');
