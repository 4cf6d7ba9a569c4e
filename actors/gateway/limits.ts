// Every limit of the client gateway in one place, with the relationships between them checked when this module
// loads, so a bad edit fails at start rather than under load.
import { assert } from '../../runtime/assert.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export const gatewayLimits = {
  /** etcd's --max-request-bytes default: the largest request the server accepts (checked by the API layer). */
  maxRequestBytesDefault: 1.5 * MiB,
  /**
   * etcd lets gRPC receive max-request-bytes plus this much before the transport itself refuses a message with
   * "grpc: received message larger than max (N vs. M)" (code 8); the gateway mirrors that check on the decoded
   * request's protobuf size.
   */
  grpcOverheadBytes: 512 * KiB,
  /**
   * Largest HTTP request body read for a unary call, as a multiple of the gRPC receive limit: JSON carries bytes in
   * base64 (4/3 of their size) plus field names, so a body a little over 4/3 of the limit can still decode to a
   * request under it. Past this the body is not kept.
   */
  bodyToProtoRatioMax: 1.5,
  /**
   * A body refused for its size is read on and dropped, up to this many bytes past the cap, so the client finishes
   * sending and reads the 429 on a connection that stays open (closing mid-upload shows the client a broken pipe
   * instead of the answer). Past this the answer goes out and the connection is closed.
   */
  refusedBodyDrainBytesMax: 64 * MiB,
  /** Largest single JSON message inside a stream body (watch, keep-alive) or one WebSocket message. */
  streamMessageBytesMax: 4 * MiB,
  /**
   * Response bytes queued for one streaming client (HTTP chunked or WebSocket) before the adapter asks the session to
   * pause: past this the socket is "slow".
   */
  streamPauseBytesDefault: 256 * KiB,
  /** Response bytes queued for one streaming client past which its stream is closed with a reason. */
  streamBufferedBytesMaxDefault: 16 * MiB,
  /** How often a backed-up chunked HTTP stream probes whether uWS drained its buffer (see streams.ts). */
  streamProbeIntervalMs: 10,
  /** Size of one probe: at most this much goes to uWS per probe while it may still be buffering. */
  streamProbeBytes: 1_024,
  /** How long a stream closed for being too slow may take to flush its last bytes before the socket is cut. */
  streamCloseGraceMs: 5_000,
  /** Keep-alive requests a client may have outstanding (sent, not yet answered) before the adapter stops reading. */
  keepAliveOutstandingMax: 1_024,
  /** Unary requests one WebSocket may have waiting for answers; past it the socket is closed (1008). */
  wsUnaryOutstandingMax: 4_096,
  /** Distinct hex ids remembered by the decimal-id cache of the encoder (cluster and member ids are few). */
  idCacheEntriesMax: 4_096,
  /** Nesting depth past which the JSON reader refuses a document (Go's encoding/json uses the same bound). */
  jsonDepthMax: 10_000,
} as const;

assert(gatewayLimits.bodyToProtoRatioMax > 4 / 3, 'a body must be able to carry a base64 value of the full size');
assert(gatewayLimits.streamPauseBytesDefault < gatewayLimits.streamBufferedBytesMaxDefault, 'pause must come before the cap');
assert(
  gatewayLimits.streamMessageBytesMax >= (gatewayLimits.maxRequestBytesDefault + gatewayLimits.grpcOverheadBytes) * (4 / 3),
  'a stream message must be able to carry the largest request',
);
assert(gatewayLimits.streamProbeBytes < gatewayLimits.streamPauseBytesDefault, 'a probe must be small beside the pause threshold');
assert(gatewayLimits.keepAliveOutstandingMax > 0 && gatewayLimits.idCacheEntriesMax > 0, 'limits must be positive');

/** The gRPC receive limit etcd derives from --max-request-bytes. */
export function grpcReceiveBytesMax(maxRequestBytes: number): number {
  return maxRequestBytes + gatewayLimits.grpcOverheadBytes;
}

/** Largest unary HTTP body the gateway reads for a given --max-request-bytes. */
export function bodyBytesMax(maxRequestBytes: number): number {
  return Math.ceil(grpcReceiveBytesMax(maxRequestBytes) * gatewayLimits.bodyToProtoRatioMax);
}
