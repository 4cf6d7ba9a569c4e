// One Error subclass per way the snapshot store can fail; each names the file (and byte offset) involved.
import { TetcdError } from '../../runtime/errors.js';

/** A snapshot file is not what was written: truncated, a flipped bit, a missing chunk. */
export class SnapshotCorruptError extends TetcdError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`snapshot file ${file} is damaged at byte offset ${offset}: ${reason}`);
  }
}

/** No snapshot file with that term and index. */
export class SnapshotNotFoundError extends TetcdError {
  constructor(readonly term: number, readonly index: number) {
    super(`no snapshot at term ${term}, index ${index}`);
  }
}

/** A caller broke the store's contract (a chunk after commit, an empty or oversized chunk, too many open streams). */
export class SnapshotUsageError extends TetcdError {}
