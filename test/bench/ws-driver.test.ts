// The WebSocket driver (tetcd's fastest path) against a small stand-in that speaks the contract tetcd is built to:
// one JSON request per message in, one {"result":...} message per answer out, in order; watch creates answered with
// created:true and puts fanned out to every watcher as events. It checks that unary answers are matched in order,
// that watch and keep-alive runs count what the stand-in delivers, and that an {"error":...} answer is an error.
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { runLoad } from '../../bench/loadgen/runner.js';
import type { RunOptions, Workload } from '../../bench/loadgen/workload.js';

interface StandIn {
  url: string;
  puts: () => number;
  close: () => Promise<void>;
}

async function startStandIn(failPutsWithKey?: string): Promise<StandIn> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const watchers = new Set<{ socket: WebSocket; ids: number }>();
  let revision = 1;
  let puts = 0;
  let leaseId = 1000;
  const header = (): string => `{"cluster_id":"1","member_id":"2","revision":"${revision}","raft_term":"2"}`;
  server.on('connection', (socket, request) => {
    const path = request.url ?? '';
    const watcher = { socket, ids: 0 };
    if (path === '/v3/watch') watchers.add(watcher);
    socket.on('close', () => watchers.delete(watcher));
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { key?: string; value?: string; ID?: string; create_request?: { key: string } };
      switch (path) {
        case '/v3/kv/put': {
          if (failPutsWithKey !== undefined && message.key === Buffer.from(failPutsWithKey).toString('base64')) {
            socket.send('{"error":{"grpc_code":3,"http_code":400,"message":"etcdserver: refused","http_status":"Bad Request"}}');
            return;
          }
          revision++;
          puts++;
          socket.send(`{"result":{"header":${header()}}}`);
          for (const w of watchers) {
            for (let id = 0; id < w.ids; id++) {
              w.socket.send(`{"result":{"header":${header()},"watch_id":"${id}","events":[{"kv":{"key":"${message.key}","create_revision":"2","mod_revision":"${revision}","version":"1","value":"${message.value}"}}]}}`);
            }
          }
          return;
        }
        case '/v3/watch':
          socket.send(`{"result":{"header":${header()},"watch_id":"${watcher.ids++}","created":true}}`);
          return;
        case '/v3/lease/grant':
          socket.send(`{"result":{"header":${header()},"ID":"${leaseId++}","TTL":"60"}}`);
          return;
        case '/v3/lease/keepalive':
          socket.send(`{"result":{"header":${header()},"ID":"${message.ID}","TTL":"60"}}`);
          return;
        default:
          socket.close();
      }
    });
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    puts: () => puts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
}

function options(url: string, workload: Workload, extra: Partial<RunOptions> = {}): RunOptions {
  return { driver: 'ws', endpoints: [url], connections: 2, clients: 8, workers: 1, total: 0, durationMs: 0, warmupMs: 0, rate: 0, workload, ...extra };
}

test('unary puts over WebSocket: 8 clients pipelined on 2 sockets, every answer matched', async (t) => {
  const s = await startStandIn();
  try {
    const result = await runLoad(options(s.url, { type: 'put', keySizeBytes: 8, valueSizeBytes: 64, keySpaceSize: 1000, sequentialKeys: true }, { total: 400 }));
    t.is(result.ok, 400);
    t.is(result.errors, 0);
    t.is(s.puts(), 400);
  } finally {
    await s.close();
  }
});

test('an {"error":...} answer counts as an error with its message', async (t) => {
  const s = await startStandIn('00000000');
  try {
    const result = await runLoad(options(s.url, { type: 'put', keySizeBytes: 8, valueSizeBytes: 8, keySpaceSize: 1, sequentialKeys: true }, { total: 20, clients: 2 }));
    t.is(result.ok, 0);
    t.is(result.errors, 20);
    t.deepEqual(result.errorSamples, ['etcdserver: refused']);
  } finally {
    await s.close();
  }
});

test('watch fan-out over WebSocket: every put reaches every watcher, with its latency', async (t) => {
  const s = await startStandIn();
  try {
    const result = await runLoad(options(s.url, { type: 'watch', streams: 3, watchersPerStream: 7, key: 'w', putRate: 100, putTotal: 5, valueSizeBytes: 32 }));
    t.is(result.watch?.watchers, 21);
    t.is(result.watch?.events, 105);
    t.is(result.watch?.expectedEvents, 105);
    t.is(result.watch?.eventLatency.count, 105);
    t.true((result.watch?.eventLatency.p50Us ?? 0) > 0);
  } finally {
    await s.close();
  }
});

test('lease keep-alive over WebSocket: grants, then every keep-alive answered', async (t) => {
  const s = await startStandIn();
  try {
    const result = await runLoad(options(s.url, { type: 'lease-keepalive', leases: 30, ttlSeconds: 60, streams: 3, batch: 5 }, { total: 300 }));
    t.is(result.errors, 0, result.errorSamples.join('; '));
    t.is(result.ok, 300);
  } finally {
    await s.close();
  }
});

test('a worker that fails ends the generator at once: no wait it left behind keeps the process alive', async (t) => {
  // Port 1 on loopback refuses connections, so the first watch socket fails its worker. The generator must report
  // that and exit; before, a timer of a wait that would never be answered kept it alive for minutes.
  const cli = fileURLToPath(new URL('../../bench/loadgen/cli.js', import.meta.url));
  const child = spawn(process.execPath, [cli, 'watch', '--driver', 'ws', '--endpoints', 'http://127.0.0.1:1', '--streams', '2', '--watch-per-stream', '10', '--put-rate', '5', '--put-total', '5', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(timer);
  t.is(signal, null, `still running after 30 s: ${output}`);
  t.not(code, 0);
  t.regex(output, /worker failed: WebSocket ws:\/\/127\.0\.0\.1:1\/v3\/watch/);
});
