// etcd's errors: a gRPC status code and a message, exactly as etcd 3.4 words them, so clients that match on the
// message (the etcd3 npm client does) behave the same against tetcd.

export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** An error a client sees: etcd's gRPC code and message. Crosses actor boundaries by name, message and code. */
export class EtcdError extends Error {
  override name = 'EtcdError';
  constructor(
    readonly code: GrpcCode,
    message: string,
  ) {
    super(message);
  }
}

const e = (code: GrpcCode, message: string) => ({ code, message });

/** The catalogue; use `etcdError(Errors.keyNotFound)` to throw one. */
export const Errors = {
  emptyKey: e(GrpcCode.INVALID_ARGUMENT, 'etcdserver: key is not provided'),
  keyNotFound: e(GrpcCode.INVALID_ARGUMENT, 'etcdserver: key not found'),
  valueProvided: e(GrpcCode.INVALID_ARGUMENT, 'etcdserver: value is provided'),
  leaseProvided: e(GrpcCode.INVALID_ARGUMENT, 'etcdserver: lease is provided'),
  tooManyOps: e(GrpcCode.INVALID_ARGUMENT, 'etcdserver: too many operations in txn request'),
  duplicateKey: e(GrpcCode.INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request'),
  requestTooLarge: e(GrpcCode.INVALID_ARGUMENT, 'etcdserver: request is too large'),
  compacted: e(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted'),
  futureRevision: e(GrpcCode.OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision'),
  leaseTTLTooLarge: e(GrpcCode.OUT_OF_RANGE, 'etcdserver: too large lease TTL'),
  noSpace: e(GrpcCode.RESOURCE_EXHAUSTED, 'etcdserver: mvcc: database space exceeded'),
  tooManyRequests: e(GrpcCode.RESOURCE_EXHAUSTED, 'etcdserver: too many requests'),
  leaseNotFound: e(GrpcCode.NOT_FOUND, 'etcdserver: requested lease not found'),
  leaseExists: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: lease already exists'),
  memberNotFound: e(GrpcCode.NOT_FOUND, 'etcdserver: member not found'),
  memberExists: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: member ID already exist'),
  peerURLExists: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists'),
  memberNotLearner: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member'),
  learnerNotReady: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader'),
  tooManyLearners: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster'),
  unhealthyCluster: e(GrpcCode.UNAVAILABLE, 'etcdserver: unhealthy cluster'),
  notLeader: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: not leader'),
  badLeaderTransferee: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: bad leader transferee'),
  noLeader: e(GrpcCode.UNAVAILABLE, 'etcdserver: no leader'),
  stopped: e(GrpcCode.UNAVAILABLE, 'etcdserver: server stopped'),
  timeout: e(GrpcCode.UNAVAILABLE, 'etcdserver: request timed out'),
  timeoutDueToLeaderFail: e(GrpcCode.UNAVAILABLE, 'etcdserver: request timed out, possibly due to previous leader failure'),
  leaderChanged: e(GrpcCode.UNAVAILABLE, 'etcdserver: leader changed'),
  watchCanceled: e(GrpcCode.CANCELLED, 'etcdserver: watch canceled'),
  permissionDenied: e(GrpcCode.PERMISSION_DENIED, 'etcdserver: permission denied'),
  invalidAuthToken: e(GrpcCode.UNAUTHENTICATED, 'etcdserver: invalid auth token'),
  authNotEnabled: e(GrpcCode.FAILED_PRECONDITION, 'etcdserver: authentication is not enabled'),
  corrupt: e(GrpcCode.DATA_LOSS, 'etcdserver: corrupt cluster'),
} as const;

export function etcdError(spec: { code: GrpcCode; message: string }): EtcdError {
  return new EtcdError(spec.code, spec.message);
}
