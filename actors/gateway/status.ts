// HTTP statuses as etcd 3.4's gateway (grpc-gateway v1 of that era) derives them from gRPC codes, with Go's status
// texts. Verified against etcd 3.4.23: 3→400, 5→404, 8→429, 9→412 (not 400: that gateway predates the change), 11→400,
// 2→500. The rest follow the same table.
import { GrpcCode } from '../api/errors.js';

const byCode: Record<number, number> = {
  [GrpcCode.OK]: 200,
  [GrpcCode.CANCELLED]: 408,
  [GrpcCode.UNKNOWN]: 500,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403,
  [GrpcCode.RESOURCE_EXHAUSTED]: 429,
  [GrpcCode.FAILED_PRECONDITION]: 412,
  [GrpcCode.ABORTED]: 409,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503,
  [GrpcCode.DATA_LOSS]: 500,
  [GrpcCode.UNAUTHENTICATED]: 401,
};

const texts: Record<number, string> = {
  200: 'OK',
  301: 'Moved Permanently',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export function httpStatusOf(grpcCode: number): number {
  return byCode[grpcCode] ?? 500;
}

/** Go's http.StatusText. */
export function statusText(httpStatus: number): string {
  return texts[httpStatus] ?? '';
}

/** The status line uWS writes, e.g. "412 Precondition Failed". */
export function statusLine(httpStatus: number): string {
  return `${httpStatus} ${statusText(httpStatus)}`;
}
