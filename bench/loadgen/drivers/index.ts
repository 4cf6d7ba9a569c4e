// Picks a driver by name. `grpc` is etcd's native API; `http` is the JSON gateway (etcd) or JSON API (tetcd) over
// HTTP/1.1; `ws` is the same JSON over WebSocket (tetcd).
import { assertNever } from '../../../runtime/assert.js';
import { GrpcDriver } from './grpc.js';
import { GrpcH2Driver } from './grpc-h2.js';
import { HttpJsonDriver } from './http-json.js';
import type { Driver, DriverKind, DriverOptions } from './types.js';
import { WsJsonDriver } from './ws.js';

export function createDriver(kind: DriverKind, options: DriverOptions): Driver {
  switch (kind) {
    case 'grpc':
      return new GrpcDriver(options);
    case 'grpc-h2':
      return new GrpcH2Driver(options);
    case 'http':
      return new HttpJsonDriver(options);
    case 'ws':
      return new WsJsonDriver(options);
    default:
      return assertNever(kind, 'driver kind');
  }
}
