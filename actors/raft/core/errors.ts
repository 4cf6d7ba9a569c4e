// Errors the raft core throws. Normal refusals (no leader, transfer in progress, too many bytes in flight) are not
// errors: they come back as reasons in the Ready so the shell can answer callers in batches. These classes are for
// misuse by the caller and for state that can never be valid.
import { TetcdError } from '../../../runtime/errors.js';

/** The core was configured with values that cannot work (election not longer than heartbeat, unknown member...). */
export class RaftConfigError extends TetcdError {}

/** The shell called the core out of protocol (persisted an id never handed out, compacted beyond applied...). */
export class RaftUsageError extends TetcdError {}

/** Durable state loaded at boot contradicts itself (commit beyond the log, entries not contiguous...). */
export class RaftCorruptStateError extends TetcdError {}

/** A committed entry would have to be overwritten: never allowed, stops the member. */
export class RaftSafetyError extends TetcdError {}
