// The calibration endpoints: a trivial uWebSockets.js server (its own process, so its CPU is not the generator's)
// that answers every POST with a fixed put-like JSON body and every WebSocket message with the same body wrapped as
// a stream message, and a trivial gRPC endpoint (Node's http2 server) answering every unary call with a fixed
// PutResponse. Whatever rate the generator reaches against them is its own ceiling on this machine (for gRPC, a
// lower bound of it: Node's http2 server is not free either).
//
//   node dist/bench/loadgen/calibration-server.js [port] [grpcPort]
//   prints "listening <port> <grpcPort>" when ready; 0 = any free port
import * as http2 from 'node:http2';
import uWS from '@trufflesuite/uws-js-unofficial';
import { encodeHeaderOnly } from './etcd-proto.js';

export const calibrationBody = '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"2","raft_term":"2"}}';
const streamBody = `{"result":${calibrationBody}}`;

/** A gRPC unary answer: a 5-byte frame prefix (uncompressed, length) and a PutResponse holding only a header. */
function grpcAnswer(): Buffer {
  const message = encodeHeaderOnly(2);
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  return framed;
}

function serveGrpc(port: number): Promise<number> {
  const answer = grpcAnswer();
  const server = http2.createServer({ settings: { maxConcurrentStreams: 1 << 20 } });
  server.on('stream', (stream) => {
    stream.on('data', () => {});
    stream.on('error', () => {});
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(answer);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

function serve(port: number, grpcPort: number): void {
  const app = uWS.App();
  app.post('/*', (res) => {
    // the body must be read before answering; it is not needed
    res.onAborted(() => {});
    res.onData((_chunk, isLast) => {
      if (isLast) res.cork(() => res.writeHeader('Content-Type', 'application/json').end(calibrationBody));
    });
  });
  app.ws('/*', {
    maxPayloadLength: 1024 * 1024,
    idleTimeout: 0,
    message: (ws) => {
      ws.send(streamBody, false);
    },
  });
  app.listen('127.0.0.1', port, (listenSocket) => {
    if (listenSocket === false) {
      console.error(`calibration server: cannot listen on port ${port}`);
      process.exit(1);
    }
    const httpPort = uWS.us_socket_local_port(listenSocket);
    serveGrpc(grpcPort).then(
      (p) => console.log(`listening ${httpPort} ${p}`),
      (error: Error) => {
        console.error(`calibration server: cannot listen for gRPC: ${error.message}`);
        process.exit(1);
      },
    );
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve(Number(process.argv[2] ?? 0), Number(process.argv[3] ?? 0));
  process.on('SIGTERM', () => process.exit(0));
}
