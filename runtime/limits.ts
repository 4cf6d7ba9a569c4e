// Every queue, batch and buffer of the runtime has its limit here, and the relationships between limits are checked
// when this module loads, so a bad edit fails at start rather than under load.
import { assert } from './assert.js';

export const limits = {
  /** Default mailbox limit: messages sent to an actor and not yet handled by it, per sender. */
  mailboxMessagesDefault: 65_536,
  /** Largest number of envelopes packed into one frame; a bigger outbox goes out as several frames. */
  frameMessagesMax: 16_384,
  /** Default ask timeout. */
  askTimeoutMsDefault: 10_000,
  /** How long a stopping actor may take to close its resources before its worker is terminated. */
  stopTimeoutMs: 15_000,
  /** An actor taking longer than this to stop is logged as a warning. */
  slowStopWarnMs: 1_000,
  /** Largest number of deliveries a deterministic run makes in one runUntilIdle call before it reports a livelock. */
  simulatedStepsMax: 10_000_000,
} as const;

assert(limits.frameMessagesMax <= limits.mailboxMessagesDefault, 'a frame must fit in a mailbox');
assert(limits.askTimeoutMsDefault < limits.stopTimeoutMs * 10, 'ask timeout out of proportion to stop timeout');
