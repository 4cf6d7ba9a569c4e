// Every limit of the load generator in one place: buffers, batches, in-flight windows and time bounds. The
// relationships between them are checked when this module loads, so a bad edit fails at start, not mid-run.
import { assert } from '../../runtime/assert.js';

export const limits = {
  /** Largest HTTP response head (status line + headers) the client accepts before calling the peer broken. */
  httpHeadBytesMax: 16 * 1024,
  /** Largest non-streamed HTTP response body the client buffers. */
  httpBodyBytesMax: 8 * 1024 * 1024,
  /** Requests one HTTP connection may have written and not yet answered (1 = no pipelining). */
  httpPipelineDepthMax: 1024,
  /** Largest newline-delimited message on a stream (watch event batch, keep-alive answer). */
  streamLineBytesMax: 8 * 1024 * 1024,
  /** Most client slots one run may open (each slot keeps one request in flight). */
  clientsMax: 4096,
  /** Most connections one run may open. */
  connectionsMax: 1024,
  /** Most worker threads a run may use; the machine this targets has two cores. */
  workersMax: 16,
  /** Most watchers one run may create (all streams together). */
  watchersMax: 200_000,
  /** Most watch creates sent on one stream before waiting for their `created` answers. */
  watchCreateWindow: 2_000,
  /** Most leases one run may grant. */
  leasesMax: 100_000,
  /**
   * Watch creates per gateway POST. etcd 3.4's gateway drops the creates of a body it had not read when it flushed
   * its first answer; bodies under Go's 4 KiB read buffer (about 40 creates) are read whole in practice.
   */
  gatewayWatchCreatesPerPost: 40,
  /** Gateway watch POSTs of one stream waiting for their creates to be answered at once. */
  gatewayWatchPostsInFlight: 8,
  /**
   * Quiet time after which the unanswered creates of a gateway POST are sent again on a new POST. Long enough for an
   * overloaded gateway (100,000 watchers on a busy machine) to answer a POST late rather than lose it.
   */
  gatewayWatchStallMs: 5_000,
  /** Times the creates of one gateway POST are sent again before the stream fails. */
  gatewayWatchRetriesMax: 8,
  /** Most lease grants in flight at once while preparing a keep-alive run. */
  leaseGrantConcurrency: 128,
  /** Most keep-alive requests carried by one gateway POST (its body holds them all; etcd answers after body EOF). */
  keepAliveBatchMax: 1_000,
  /** Longest single run, warm-up included; a run still going then is stopped and reported as such. */
  runMsMax: 15 * 60 * 1000,
  /** How long a worker may take to connect its clients before the run fails. */
  connectTimeoutMs: 15_000,
  /** How long a single request may stay unanswered before it counts as an error (timeout). */
  requestTimeoutMs: 30_000,
  /** How long creating all watchers of a run may take before the run fails. */
  watchCreateTimeoutMs: 180_000,
  /**
   * How long the watch workload waits for the last events after its last put while they keep coming (a server
   * behind on a fan-out is still measured to the end of its backlog)...
   */
  watchDrainMs: 30_000,
  /** ...and how long it waits once they stop coming. */
  watchDrainIdleMs: 3_000,
  /** Puts of a watch run's writer in flight at once (each on its own connection). */
  watchPutsInFlightMax: 8,
  /** Highest latency the histograms track, in microseconds (anything slower is clamped and flagged). */
  latencyUsMax: 120_000_000,
  /** Width of the timestamp written at the start of a watched value (microseconds, zero-padded decimal). */
  timestampDigits: 16,
} as const;

assert(limits.httpBodyBytesMax <= limits.streamLineBytesMax, 'a stream line must fit any body we accept');
assert(limits.connectionsMax <= limits.clientsMax, 'every connection needs at least one client slot');
assert(limits.connectTimeoutMs < limits.runMsMax, 'connecting must fit in a run');
assert(limits.requestTimeoutMs < limits.runMsMax, 'a request timeout must fit in a run');
assert(limits.keepAliveBatchMax <= limits.leasesMax, 'a keep-alive batch cannot exceed the leases');
assert(limits.watchCreateWindow <= limits.watchersMax, 'create window larger than all watchers');
assert(limits.watchDrainIdleMs < limits.watchDrainMs, 'the idle wait must fit the drain');
assert(limits.watchCreateTimeoutMs < limits.runMsMax, 'watch creation must fit in a run');
assert(limits.gatewayWatchStallMs * (limits.gatewayWatchRetriesMax + 1) < limits.watchCreateTimeoutMs, 'gateway retries must fit the create timeout');
assert(limits.latencyUsMax > limits.requestTimeoutMs * 1000, 'histogram must cover the request timeout');
