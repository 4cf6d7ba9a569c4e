// etcd's gRPC API with unary calls made directly on Node's http2 client: one HTTP/2 stream per call carrying the
// 5-byte gRPC frame prefix and the hand-encoded message, the status read from the trailers. On this machine kind
// grpc-js spends a few hundred microseconds of CPU per unary call (resolving, load-balancing and subchannel call
// layers, metadata objects, a Node error per stream end), enough to make the generator the ceiling of an etcd put
// run; this driver keeps only what a unary call needs. Streams (watch, keep-alive) are long-lived and cheap per
// message, so they stay on grpc-js (inherited from GrpcDriver).
import * as http2 from 'node:http2';
import { ConnectionError, ServerError } from '../errors.js';
import { limits } from '../limits.js';
import { grpcPaths } from '../etcd-proto.js';
import { GrpcDriver } from './grpc.js';
import { parseEndpoint, type Done, type DriverKind, type DriverOptions } from './types.js';

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE } = http2.constants;

/** Request headers per method path, built once. */
const headersByPath = new Map<string, http2.OutgoingHttpHeaders>(
  Object.values(grpcPaths).map((p) => [p, { [HTTP2_HEADER_METHOD]: 'POST', [HTTP2_HEADER_PATH]: p, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc', [HTTP2_HEADER_TE]: 'trailers' }]),
);

/** The 5-byte length-prefixed gRPC message frame (uncompressed). */
export function grpcFrame(message: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(5 + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  return framed;
}

function statusOf(headers: http2.IncomingHttpHeaders): number | undefined {
  const s = headers['grpc-status'];
  return s === undefined ? undefined : Number(s);
}

export class GrpcH2Driver extends GrpcDriver {
  override readonly kind: DriverKind = 'grpc-h2';
  private sessions: http2.ClientHttp2Session[] = [];

  constructor(private readonly h2Options: DriverOptions) {
    super(h2Options);
  }

  override async open(): Promise<void> {
    await super.open(); // grpc-js clients for the streams
    const endpoints = this.h2Options.endpoints.map(parseEndpoint);
    this.sessions = await Promise.all(
      Array.from({ length: this.h2Options.connections }, (_, i) => {
        const e = endpoints[i % endpoints.length]!;
        return new Promise<http2.ClientHttp2Session>((resolve, reject) => {
          const session = http2.connect(`http://${e.host}:${e.port}`, { settings: { enablePush: false, initialWindowSize: 1 << 20 } });
          const timer = setTimeout(() => reject(new ConnectionError(`HTTP/2 connect to ${e.host}:${e.port} timed out`)), limits.connectTimeoutMs);
          session.once('connect', () => {
            clearTimeout(timer);
            resolve(session);
          });
          session.once('error', (error) => {
            clearTimeout(timer);
            reject(new ConnectionError(`HTTP/2 connect to ${e.host}:${e.port} failed: ${error.message}`, { cause: error }));
          });
        });
      }),
    );
    for (const s of this.sessions) s.on('error', () => {}); // failures reach the calls through their streams
  }

  protected override unary(connection: number, path: string, request: Buffer, done: Done): void {
    const session = this.sessions[connection % this.sessions.length]!;
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headersByPath.get(path)!, { endStream: false });
    } catch (error) {
      done(new ConnectionError(`HTTP/2 request failed: ${(error as Error).message}`, { cause: error }));
      return;
    }
    let status: number | undefined;
    let message = '';
    let finished = false;
    const finish = (error: Error | undefined): void => {
      if (finished) return;
      finished = true;
      done(error);
    };
    stream.on('response', (headers) => {
      // a "trailers-only" answer (errors) carries the status in the headers
      const s = statusOf(headers);
      if (s !== undefined) {
        status = s;
        message = String(headers['grpc-message'] ?? '');
      }
    });
    stream.on('trailers', (trailers) => {
      status = statusOf(trailers);
      message = String(trailers['grpc-message'] ?? '');
    });
    stream.on('data', () => {}); // the answer's body is not needed: the status says whether the call worked
    stream.on('error', (error) => finish(new ConnectionError(`HTTP/2 stream failed: ${error.message}`, { cause: error })));
    stream.on('close', () => {
      if (status === 0) finish(undefined);
      else finish(new ServerError(status ?? 2, status === undefined ? 'stream closed without a gRPC status' : decodeURIComponent(message)));
    });
    stream.end(grpcFrame(request));
  }

  override async close(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    this.sessions = [];
    await super.close();
  }
}
