// The gateway actor: the member's front door on the main thread. It serves etcd's JSON gateway (HTTP and WebSocket)
// with uWebSockets.js on every client URL and runs the EtcdServer that turns requests into actor traffic; the
// answers of raft and mvcc arrive here as this actor's messages.
import { defineActor } from '../../runtime/actor.js';
import { assertNever } from '../../runtime/assert.js';
import { hostPort } from '../../runtime/uws.js';
import { MemberRemovedError } from '../transport/actor.js';
import { startGateway, type Gateway } from '../gateway/http.js';
import { GatewayMetrics } from '../gateway/metrics.js';
import type { GatewayProtocol } from './protocol.js';
import { EtcdServer, type ServerConfig } from './server.js';

export interface GatewayActorConfig {
  server: ServerConfig;
  listenClientUrls: string[];
  maxRequestBytes: number;
}

export default defineActor<GatewayProtocol, GatewayActorConfig>(async (ctx, config) => {
  const server = new EtcdServer(ctx, { ...config.server, maxRequestBytes: config.maxRequestBytes });
  server.onRemoved = () => ctx.fail(new MemberRemovedError());
  const metrics = new GatewayMetrics();
  metrics.collectFrom(() => server.gauges());
  const gateways: Gateway[] = [];
  for (const url of config.listenClientUrls) {
    const { host, port } = hostPort(url);
    gateways.push(await startGateway({ api: server, host, port, maxRequestBytes: config.maxRequestBytes, metrics, log: ctx.log }));
  }
  ctx.log.info('serving client requests', { urls: config.listenClientUrls });
  return {
    receive(message) {
      switch (message.type) {
        case 'mvccOutput':
          server.onMvccOutput(message);
          return;
        case 'proposalResults':
          server.onProposalResults(message);
          return;
        case 'readIndexResults':
          server.onReadIndexResults(message);
          return;
        case 'leaderChanged':
          server.onLeaderChanged(message);
          return;
        case 'members':
          server.onMembers(message.members);
          return;
        case 'stats':
          return { port: gateways[0]?.port ?? 0 };
        case 'drain':
          for (const gateway of gateways) gateway.close();
          gateways.length = 0;
          return server.drain(message.timeoutMs).then((unfinished) => ({ unfinished }));
        default:
          return assertNever(message, 'gateway message');
      }
    },
    stop() {
      // stop accepting, then fail whatever is still in flight with "server stopped"
      for (const gateway of gateways) gateway.close();
      server.close();
    },
  };
});
