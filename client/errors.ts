// The client's failures, one class per kind. Errors the server sends keep etcd's gRPC code and exact message (code
// 11 "etcdserver: mvcc: required revision has been compacted"), so callers can switch on the class or the code and
// tetcdctl can print the message exactly as etcdctl does. Failures of the client's own making (no endpoint reachable,
// deadline passed, client closed) are separate classes that never carry a server code.
import { GrpcCode } from '../actors/api/errors.js';

export { GrpcCode };

export class ClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

// ---- errors the server answered with ----

/** An etcd error answered by the server: gRPC code and etcd's message. */
export class EtcdServerError extends ClientError {
  constructor(
    readonly code: GrpcCode,
    message: string,
    /** HTTP status of the gateway's answer, when it came over HTTP. */
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

export class CancelledError extends EtcdServerError {}
export class UnknownServerError extends EtcdServerError {}
export class InvalidArgumentError extends EtcdServerError {}
export class DeadlineExceededError extends EtcdServerError {}
export class NotFoundError extends EtcdServerError {}
export class AlreadyExistsError extends EtcdServerError {}
export class PermissionDeniedError extends EtcdServerError {}
export class ResourceExhaustedError extends EtcdServerError {}
export class FailedPreconditionError extends EtcdServerError {}
export class AbortedError extends EtcdServerError {}
export class OutOfRangeError extends EtcdServerError {}
export class UnimplementedError extends EtcdServerError {}
export class InternalServerError extends EtcdServerError {}
export class UnavailableError extends EtcdServerError {}
export class DataLossError extends EtcdServerError {}
export class UnauthenticatedError extends EtcdServerError {}

/** The requested revision was compacted away. */
export class CompactedError extends OutOfRangeError {}
/** The requested revision is newer than the store's. */
export class FutureRevisionError extends OutOfRangeError {}
/** The lease does not exist (never granted, expired or revoked). */
export class LeaseNotFoundError extends NotFoundError {}
/** The member ID is not in the cluster. */
export class MemberNotFoundError extends NotFoundError {}
/** The NOSPACE alarm is raised: the store refuses writes until compaction, defragmentation and disarm. */
export class NoSpaceError extends ResourceExhaustedError {}
/** The member has no leader right now; retry elsewhere or later. */
export class NoLeaderError extends UnavailableError {}
/** A key or value the request needed was missing (ignore_value on a missing key). */
export class KeyNotFoundError extends InvalidArgumentError {}

type ServerErrorClass = new (code: GrpcCode, message: string, httpStatus?: number) => EtcdServerError;

const byMessage: Record<string, ServerErrorClass> = {
  'etcdserver: mvcc: required revision has been compacted': CompactedError,
  'etcdserver: mvcc: required revision is a future revision': FutureRevisionError,
  'etcdserver: requested lease not found': LeaseNotFoundError,
  'etcdserver: member not found': MemberNotFoundError,
  'etcdserver: mvcc: database space exceeded': NoSpaceError,
  'etcdserver: no leader': NoLeaderError,
  'etcdserver: key not found': KeyNotFoundError,
};

const byCode: Record<number, ServerErrorClass> = {
  [GrpcCode.CANCELLED]: CancelledError,
  [GrpcCode.UNKNOWN]: UnknownServerError,
  [GrpcCode.INVALID_ARGUMENT]: InvalidArgumentError,
  [GrpcCode.DEADLINE_EXCEEDED]: DeadlineExceededError,
  [GrpcCode.NOT_FOUND]: NotFoundError,
  [GrpcCode.ALREADY_EXISTS]: AlreadyExistsError,
  [GrpcCode.PERMISSION_DENIED]: PermissionDeniedError,
  [GrpcCode.RESOURCE_EXHAUSTED]: ResourceExhaustedError,
  [GrpcCode.FAILED_PRECONDITION]: FailedPreconditionError,
  [GrpcCode.ABORTED]: AbortedError,
  [GrpcCode.OUT_OF_RANGE]: OutOfRangeError,
  [GrpcCode.UNIMPLEMENTED]: UnimplementedError,
  [GrpcCode.INTERNAL]: InternalServerError,
  [GrpcCode.UNAVAILABLE]: UnavailableError,
  [GrpcCode.DATA_LOSS]: DataLossError,
  [GrpcCode.UNAUTHENTICATED]: UnauthenticatedError,
};

/** The most specific class for an error the server answered with. */
export function serverError(code: number, message: string, httpStatus?: number): EtcdServerError {
  const cls = byMessage[message] ?? byCode[code] ?? UnknownServerError;
  return new cls(code as GrpcCode, message, httpStatus);
}

/** gRPC's name for a code, as etcdctl's logs show it ("NotFound", "OutOfRange"). */
export function grpcCodeName(code: number): string {
  const names = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
    'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented',
    'Internal', 'Unavailable', 'DataLoss', 'Unauthenticated'];
  return names[code] ?? `Code(${code})`;
}

// ---- failures of the client's own making ----

/** No endpoint could be reached, or the connection broke. `sent` tells whether the request may have reached a server. */
export class ConnectionError extends ClientError {
  constructor(
    readonly endpoint: string,
    readonly sent: boolean,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The call's deadline passed (etcdctl words this "context deadline exceeded"). The last failure is the cause. */
export class RequestTimeoutError extends ClientError {
  constructor(readonly timeoutMs: number, options?: { cause?: unknown }) {
    super(`request timed out after ${timeoutMs} ms`, options);
  }
}

/** The caller aborted the call (AbortSignal). */
export class RequestAbortedError extends ClientError {
  constructor(options?: { cause?: unknown }) {
    super('request aborted', options);
  }
}

/** The client was closed; every pending call and stream ends with this. */
export class ClientClosedError extends ClientError {
  constructor() {
    super('client closed');
  }
}

/** The server answered something that is not etcd's gateway JSON. */
export class ProtocolError extends ClientError {}

/** The server does not serve this route (HTTP 404/405/501), e.g. HashKV on etcd 3.4's gateway. */
export class RouteNotSupportedError extends ClientError {
  constructor(readonly endpoint: string, readonly path: string, readonly httpStatus: number) {
    super(`${endpoint}${path} is not served (HTTP ${httpStatus})`);
  }
}

/** The endpoint does not accept WebSocket on this path; the client uses HTTP streams there instead. */
export class WebSocketUnsupportedError extends ClientError {
  constructor(readonly endpoint: string, readonly path: string, detail: string) {
    super(`${endpoint}${path} does not accept WebSocket: ${detail}`);
  }
}

/** The server canceled a watch. `reason` is the server's cancel_reason (may be empty). */
export class WatchCanceledError extends ClientError {
  constructor(readonly reason: string, readonly compactRevision: number) {
    super(reason);
  }
}

/** The watch's start revision was compacted; `compactRevision` is the oldest revision still available. */
export class WatchCompactedError extends WatchCanceledError {
  constructor(compactRevision: number) {
    super('etcdserver: mvcc: required revision has been compacted', compactRevision);
  }
}

/** A kept-alive lease ran out (revoked, or its TTL passed while the server could not be reached). */
export class LeaseExpiredError extends ClientError {
  constructor(readonly leaseId: bigint) {
    super(`lease ${leaseId.toString(16).padStart(16, '0')} expired or revoked`);
  }
}

/** Election: the caller is not (or no longer) the leader it claims to be. */
export class ElectionNotLeaderError extends ClientError {
  constructor() {
    super('election: not leader');
  }
}

/** Election: nobody leads the election right now. */
export class ElectionNoLeaderError extends ClientError {
  constructor() {
    super('election: no leader');
  }
}

/** A recipe's session ended (its lease is gone) while the recipe still needed it. */
export class SessionExpiredError extends ClientError {
  constructor(readonly leaseId: bigint) {
    super(`session lease ${leaseId.toString(16).padStart(16, '0')} expired`);
  }
}
