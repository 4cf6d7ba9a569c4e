// etcd's gRPC API with unary calls on the generator's own HTTP/2 client (http2-unary.ts). grpc-js spends ~900 us of
// process CPU per unary call on this machine kind and Node's http2 module ~250 us per stream: either makes the
// generator the ceiling of a put run. Watch and keep-alive streams are long-lived and cheap per message, so they stay
// on grpc-js (inherited from GrpcDriver). Errors are counted, but their gRPC code and message are not decoded.
import { Http2UnaryConnection } from '../http2-unary.js';
import { GrpcDriver } from './grpc.js';
import { parseEndpoint, type Done, type DriverKind, type DriverOptions } from './types.js';

export class GrpcH2Driver extends GrpcDriver {
  override readonly kind: DriverKind = 'grpc-h2';
  private connections: Http2UnaryConnection[] = [];

  constructor(private readonly h2Options: DriverOptions) {
    super(h2Options);
  }

  override async open(): Promise<void> {
    await super.open(); // grpc-js clients for the streams
    const endpoints = this.h2Options.endpoints.map(parseEndpoint);
    this.connections = await Promise.all(
      Array.from({ length: this.h2Options.connections }, (_, i) => {
        const e = endpoints[i % endpoints.length]!;
        return Http2UnaryConnection.connect(e.host, e.port);
      }),
    );
  }

  protected override unary(connection: number, path: string, request: Buffer, done: Done): void {
    this.connections[connection % this.connections.length]!.call(path, request, done);
  }

  override async close(): Promise<void> {
    for (const c of this.connections) c.close();
    this.connections = [];
    await super.close();
  }
}
