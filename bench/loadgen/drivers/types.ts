// The seam between workloads and protocols. A workload drives "client slots" that each keep one request in flight;
// a driver turns those requests into bytes on some protocol (etcd's gRPC, the JSON gateway over HTTP/1.1, JSON over
// WebSocket). Calls are callback-based so a request costs no promise; streams report through sinks.

/**
 * grpc: etcd's gRPC API through grpc-js; grpc-h2: the same, with unary calls on the generator's own HTTP/2 client
 * (far cheaper per call; streams still on grpc-js); http: JSON at the gateway routes over HTTP/1.1; ws: JSON over
 * WebSocket.
 */
export type DriverKind = 'grpc' | 'grpc-h2' | 'http' | 'ws';
export const driverKinds: readonly DriverKind[] = ['grpc', 'grpc-h2', 'http', 'ws'];

export interface DriverOptions {
  /** Client URLs (http://host:port); connections are spread over them round-robin. */
  endpoints: string[];
  /** Connections this driver opens (per worker). */
  connections: number;
  /** Client slots sharing those connections (decides the HTTP pipeline depth). */
  clients: number;
}

export type Done = (error: Error | undefined) => void;
export type GrantDone = (error: Error | undefined, leaseId: string) => void;

export interface KeyValue {
  key: Buffer;
  value: Buffer;
}

export interface RangeSpec {
  key: Buffer;
  /** Empty: the single key. */
  rangeEnd: Buffer;
  limit: number;
  serializable: boolean;
}

export interface WatchCreate {
  key: Buffer;
  /** Empty: the single key. */
  rangeEnd: Buffer;
}

/** What a watch stream reports. `event` carries the put's send time read from the value (NaN if none). */
export interface WatchSink {
  created(): void;
  event(sentUs: number): void;
  failed(error: Error): void;
}

export interface WatchStream {
  close(): void;
}

export interface KeepAliveSink {
  answered(leaseId: string, ttlSeconds: number): void;
  failed(error: Error): void;
}

export interface KeepAliveStream {
  /**
   * Sends one keep-alive per lease; answers arrive through the sink. Where a batch is a request of its own (the JSON
   * gateway ends a keep-alive POST at its body's end) `ended` is called when the server ends it: etcd 3.4's gateway
   * may end it before answering every lease of the body, and those leases are then lost. Streaming drivers never
   * call `ended`.
   */
  send(leaseIds: string[], ended: () => void): void;
  close(): void;
}

export interface Driver {
  readonly kind: DriverKind;
  open(): Promise<void>;
  put(connection: number, key: Buffer, value: Buffer, done: Done): void;
  range(connection: number, spec: RangeSpec, done: Done): void;
  txnPut(connection: number, ops: KeyValue[], done: Done): void;
  leaseGrant(connection: number, ttlSeconds: number, done: GrantDone): void;
  /** Opens one watch stream carrying all `creates` (the driver paces them as its protocol allows). */
  watch(connection: number, creates: WatchCreate[], sink: WatchSink): WatchStream;
  keepAlive(connection: number, sink: KeepAliveSink): KeepAliveStream;
  close(): Promise<void>;
}

export interface Endpoint {
  host: string;
  port: number;
}

export function parseEndpoint(url: string): Endpoint {
  const u = new URL(url.includes('://') ? url : `http://${url}`);
  return { host: u.hostname, port: Number(u.port || 80) };
}
