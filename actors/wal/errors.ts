// One Error subclass per way the WAL can fail. Each names the file (and byte offset) so an operator knows exactly
// where to look; none of them is ever swallowed on the boot path.
import { TetcdError } from '../../runtime/errors.js';

/** A segment holds something other than the valid records the WAL wrote: boot stops rather than drop data. */
export class WalCorruptError extends TetcdError {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`wal segment ${file} is damaged at byte offset ${offset}: ${reason}`);
  }
}

/** The WAL directory does not exist or holds no segment. */
export class WalNotFoundError extends TetcdError {
  constructor(readonly dir: string) {
    super(`no wal found in ${dir}`);
  }
}

/** Boot was asked for entries the log no longer (or never) held, e.g. after an older snapshot whose segments were
 * released. */
export class WalEntriesUnavailableError extends TetcdError {
  constructor(readonly reason: string) {
    super(`wal cannot return the entries asked for: ${reason}`);
  }
}

/** A caller broke the WAL's contract (gap in indexes, overwriting a committed entry, use after close). */
export class WalUsageError extends TetcdError {}
