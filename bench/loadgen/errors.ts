// One Error subclass per way the load generator can fail, so the runner can tell a bad flag from a broken server
// from a protocol it does not understand.

export class LoadgenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A command-line flag is unknown, missing its value or out of range. */
export class UsageError extends LoadgenError {}

/** Bytes from the peer do not follow the protocol (HTTP, protobuf, stream framing). */
export class ProtocolError extends LoadgenError {}

/** The connection closed or failed while requests were outstanding. */
export class ConnectionError extends LoadgenError {}

/** The server answered with an error (HTTP status other than 200, a gRPC status, an {"error":…} stream message). */
export class ServerError extends LoadgenError {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** A request or a phase took longer than its limit. */
export class TimeoutError extends LoadgenError {}

/** A server under test could not be started or did not become ready. */
export class ServerStartError extends LoadgenError {}
