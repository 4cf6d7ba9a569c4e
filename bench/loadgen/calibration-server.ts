// The calibration endpoint: a trivial uWebSockets.js server (its own process, so its CPU is not the generator's)
// that answers every POST with a fixed put-like JSON body and every WebSocket message with the same body wrapped as
// a stream message. Whatever rate the generator reaches against it is the generator's own ceiling on this machine.
//
//   node dist/bench/loadgen/calibration-server.js [port]   (prints "listening <port>" when ready; 0 = any free port)
import uWS from '@trufflesuite/uws-js-unofficial';

export const calibrationBody = '{"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"2","raft_term":"2"}}';
const streamBody = `{"result":${calibrationBody}}`;

function serve(port: number): void {
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
    console.log(`listening ${uWS.us_socket_local_port(listenSocket)}`);
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serve(Number(process.argv[2] ?? 0));
  process.on('SIGTERM', () => process.exit(0));
}
