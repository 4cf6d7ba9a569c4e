// Failures of the state machine itself (as opposed to etcd errors a client sees, which are EtcdError).
import { TetcdError } from '../../runtime/errors.js';

/** A snapshot image could not be read back: wrong format, truncated, or its checksum does not match. */
export class ImageCorruptError extends TetcdError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`mvcc image is corrupt: ${reason}`, options);
  }
}

/** An image stream was used after it ended, was closed, or was invalidated by a restore. */
export class ImageStreamClosedError extends TetcdError {
  constructor(reason: string) {
    super(`mvcc image stream is closed: ${reason}`);
  }
}

/** A committed entry's payload could not be decoded: raft handed the state machine something no member proposed. */
export class EntryDecodeError extends TetcdError {
  constructor(index: number, cause: unknown) {
    super(`committed entry ${index} does not decode as an internal request`, { cause });
  }
}
