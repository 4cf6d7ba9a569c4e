// etcd's gRPC API through @grpc/grpc-js's generic client: unary calls and bidi streams on the method paths, with the
// hand-written codecs of etcd-proto.ts as serialize/deserialize. Each connection is its own grpc-js Client with a
// local subchannel pool, so `--conns N` really opens N HTTP/2 connections (clients with equal options would share one).
import * as grpc from '@grpc/grpc-js';
import { ConnectionError, ServerError } from '../errors.js';
import { limits } from '../limits.js';
import {
  decodeLeaseGrantResponse,
  decodeLeaseKeepAliveResponse,
  decodeWatchResponse,
  encodeLeaseGrantRequest,
  encodeLeaseKeepAliveRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeTxnRequest,
  encodeWatchCreateRequest,
  grpcPaths,
} from '../etcd-proto.js';
import { readStamp } from '../stamp.js';
import { parseEndpoint, type Done, type Driver, type DriverKind, type DriverOptions, type GrantDone, type KeepAliveSink, type KeepAliveStream, type KeyValue, type RangeSpec, type WatchCreate, type WatchSink, type WatchStream } from './types.js';

const identity = (b: Buffer): Buffer => b;
const maxMessageBytes = 64 * 1024 * 1024;

function toError(error: grpc.ServiceError): Error {
  return new ServerError(error.code ?? 2, error.details || error.message);
}

export class GrpcDriver implements Driver {
  readonly kind: DriverKind = 'grpc';
  private clients: grpc.Client[] = [];
  /** Encoded keep-alive requests by lease id: encoded once per lease, not per request. */
  private readonly keepAliveBytes = new Map<string, Buffer>();

  constructor(private readonly options: DriverOptions) {}

  async open(): Promise<void> {
    const endpoints = this.options.endpoints.map(parseEndpoint);
    this.clients = Array.from({ length: this.options.connections }, (_, i) => {
      const e = endpoints[i % endpoints.length]!;
      return new grpc.Client(`${e.host}:${e.port}`, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
        'grpc.max_receive_message_length': maxMessageBytes,
        'grpc.max_send_message_length': maxMessageBytes,
      });
    });
    const deadline = Date.now() + limits.connectTimeoutMs;
    await Promise.all(
      this.clients.map(
        (c) =>
          new Promise<void>((resolve, reject) =>
            c.waitForReady(deadline, (error) => (error ? reject(new ConnectionError(`gRPC connect failed: ${error.message}`, { cause: error })) : resolve())),
          ),
      ),
    );
  }

  private client(index: number): grpc.Client {
    return this.clients[index % this.clients.length]!;
  }

  protected unary(connection: number, path: string, request: Buffer, done: Done): void {
    this.client(connection).makeUnaryRequest(path, identity, identity, request, (error: grpc.ServiceError | null) => done(error ? toError(error) : undefined));
  }

  put(connection: number, key: Buffer, value: Buffer, done: Done): void {
    this.unary(connection, grpcPaths.put, encodePutRequest({ key, value }), done);
  }

  range(connection: number, spec: RangeSpec, done: Done): void {
    this.unary(connection, grpcPaths.range, encodeRangeRequest(spec), done);
  }

  txnPut(connection: number, ops: KeyValue[], done: Done): void {
    this.unary(connection, grpcPaths.txn, encodeTxnRequest({ success: ops }), done);
  }

  leaseGrant(connection: number, ttlSeconds: number, done: GrantDone): void {
    this.client(connection).makeUnaryRequest(grpcPaths.leaseGrant, identity, identity, encodeLeaseGrantRequest(ttlSeconds), (error: grpc.ServiceError | null, bytes?: Buffer) => {
      if (error) return done(toError(error), '');
      const response = decodeLeaseGrantResponse(bytes!);
      if (response.error !== '') return done(new ServerError(2, response.error), '');
      const id = response.id.toString();
      this.keepAliveBytes.set(id, encodeLeaseKeepAliveRequest(response.id));
      done(undefined, id);
    });
  }

  /** One bidi stream; creates are sent in windows of `watchCreateWindow` unanswered creates. */
  watch(connection: number, creates: WatchCreate[], sink: WatchSink): WatchStream {
    const call = this.client(connection).makeBidiStreamRequest(grpcPaths.watch, identity, identity);
    let sent = 0;
    let answered = 0;
    let closed = false;
    const sendMore = (): void => {
      while (sent < creates.length && sent - answered < limits.watchCreateWindow) {
        const c = creates[sent++]!;
        call.write(encodeWatchCreateRequest({ key: c.key, rangeEnd: c.rangeEnd }));
      }
    };
    call.on('data', (bytes: Buffer) => {
      const response = decodeWatchResponse(bytes);
      if (response.created) {
        answered++;
        sink.created();
        if (response.canceled) sink.failed(new ServerError(1, `watch canceled at create: ${response.cancelReason}`));
        sendMore();
        return;
      }
      if (response.canceled) {
        sink.failed(new ServerError(1, `watch canceled: ${response.cancelReason || `compacted at ${response.compactRevision}`}`));
        return;
      }
      for (const event of response.events) sink.event(readStamp(event.value));
    });
    call.on('error', (error: grpc.ServiceError) => {
      if (!closed) sink.failed(toError(error));
    });
    call.on('end', () => {
      if (!closed) sink.failed(new ConnectionError('watch stream ended'));
    });
    sendMore();
    return {
      close: () => {
        closed = true;
        call.cancel();
      },
    };
  }

  keepAlive(connection: number, sink: KeepAliveSink): KeepAliveStream {
    const call = this.client(connection).makeBidiStreamRequest(grpcPaths.leaseKeepAlive, identity, identity);
    let closed = false;
    call.on('data', (bytes: Buffer) => {
      const response = decodeLeaseKeepAliveResponse(bytes);
      sink.answered(response.id.toString(), response.ttl);
    });
    call.on('error', (error: grpc.ServiceError) => {
      if (!closed) sink.failed(toError(error));
    });
    return {
      send: (leaseIds: string[]) => {
        for (const id of leaseIds) {
          let bytes = this.keepAliveBytes.get(id);
          if (bytes === undefined) {
            bytes = encodeLeaseKeepAliveRequest(BigInt(id));
            this.keepAliveBytes.set(id, bytes);
          }
          call.write(bytes);
        }
      },
      close: () => {
        closed = true;
        call.cancel();
      },
    };
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    this.clients = [];
  }
}
