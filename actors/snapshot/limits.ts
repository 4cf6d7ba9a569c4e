// Sizes and counts of the snapshot store and actor, with their relationships checked at load.
import { assert } from '../../runtime/assert.js';

const MiB = 1024 * 1024;

export const snapshotLimits = {
  /** Largest chunk of a snapshot image in one frame (and one message). Bounds what a reader holds at once. */
  chunkBytesMax: 16 * MiB,
  /** Writes are gathered into a buffer of this size before they reach the file. */
  writeBufferBytes: 1 * MiB,
  /** Reads come from the file in pieces of this size (large sequential reads, never one call per small chunk). */
  readBufferBytes: 1 * MiB,
  /** Largest snapshot metadata (term, index, membership) in the header. */
  headerMetadataBytesMax: 1 * MiB,
  /** Snapshot files kept by default when pruning (etcd keeps 5). */
  keptDefault: 5,
  /** Chunks a streaming read may have sent beyond what the requester has acknowledged. */
  readWindowChunksMax: 64,
  /** Streaming reads and writes open at once in the actor. */
  openReadsMax: 16,
  openWritesMax: 4,
} as const;

assert(snapshotLimits.writeBufferBytes <= snapshotLimits.chunkBytesMax, 'write buffer larger than a chunk');
assert(snapshotLimits.readBufferBytes >= 64, 'read buffer too small for a header or trailer');
assert(snapshotLimits.chunkBytesMax < 2 ** 32, 'chunk length must fit in a u32');
assert(snapshotLimits.keptDefault >= 1, 'keep at least one snapshot');
assert(snapshotLimits.readWindowChunksMax * snapshotLimits.chunkBytesMax <= 2 ** 31, 'a read window could hold more than 2 GiB');
