// Every timeout, backoff, queue and buffer bound of the client and tetcdctl lives here, and the relationships between
// them are checked when this module loads, so a bad edit fails at start rather than in a stuck watch at 3 a.m.
import { assert } from '../runtime/assert.js';

export const clientLimits = {
  /** Time allowed to open a TCP connection to one endpoint before trying the next (etcdctl's --dial-timeout default). */
  dialTimeoutMsDefault: 2_000,
  /** Deadline of one unary call including retries and failover (etcdctl's --command-timeout default). */
  requestTimeoutMsDefault: 5_000,
  /** First pause before retrying after every endpoint failed once; doubles per round up to the cap. */
  backoffMsInitial: 50,
  /** Largest pause between reconnect rounds: watches and keep-alives retry forever, but never faster than this. */
  backoffMsMax: 2_000,
  /** Fraction of a backoff pause randomised away, so many clients do not reconnect in lockstep. */
  backoffJitterFraction: 0.2,
  /** Sockets kept per endpoint by the HTTP agent for unary calls (streams hold one socket each while open). */
  httpSocketsPerEndpointMax: 64,
  /** Largest JSON body accepted from a server in one unary response or one stream message. */
  responseBytesMax: 64 * 1024 * 1024,
  /** Responses queued in one watch for a consumer that does not keep up; above it the stream is paused. */
  watchQueueResponsesMax: 1_024,
  /** The stream is resumed once every queue of the connection is back under this. */
  watchQueueResponsesResume: 256,
  /** Watch creations waiting for their `created` answer on one WebSocket; creation is one at a time. */
  watchCreatesPendingMax: 100_000,
  /** Keep-alive responses queued for a consumer; older ones are dropped first (each only says "still alive"). */
  keepAliveQueueMax: 16,
  /** Unary requests in flight on one WebSocket; further calls go over HTTP until answers come back. */
  wsUnaryInFlightMax: 4_096,
  /** How long a WebSocket upgrade may take before the endpoint is treated as not speaking WebSocket. */
  wsUpgradeTimeoutMs: 2_000,
  /** Default session TTL (seconds) of the concurrency recipes, as etcd's. */
  sessionTtlSecondsDefault: 60,
  /** Snapshot chunks buffered ahead of the writer. */
  snapshotChunksAheadMax: 8,
} as const;

assert(clientLimits.backoffMsInitial > 0 && clientLimits.backoffMsInitial <= clientLimits.backoffMsMax, 'backoff bounds');
assert(clientLimits.backoffJitterFraction >= 0 && clientLimits.backoffJitterFraction < 1, 'jitter is a fraction');
assert(clientLimits.watchQueueResponsesResume < clientLimits.watchQueueResponsesMax, 'resume below the pause mark');
assert(clientLimits.dialTimeoutMsDefault <= clientLimits.requestTimeoutMsDefault, 'a dial fits in a request deadline');
assert(clientLimits.keepAliveQueueMax >= 1, 'keep-alive queue holds at least the latest answer');

/** etcdctl's exit codes. */
export const ExitCode = {
  success: 0,
  error: 1,
  badConnection: 2,
  invalidInput: 3,
  badFeature: 4,
  interrupted: 5,
  io: 6,
  badArgs: 128,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
