// Client and tetcdctl benchmarks against a real etcd 3.4 started for the run (tetcd can be measured the same way once
// it serves): how long tetcdctl takes to start and answer beside a bare `node -e ''` and beside etcdctl, and what the
// client's own work costs on unary calls beside raw HTTP requests to the same server in the same run; watch delivery.
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Client } from '../client/client.js';
import { startEtcd } from '../test/client/helpers/etcd.js';
import { percentile, report, type BenchResult } from './report.js';

const tetcdctl = fileURLToPath(new URL('../../bin/tetcdctl', import.meta.url));

function wallMs(file: string, args: string[], runs: number): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = process.hrtime.bigint();
    const r = spawnSync(file, args, { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${r.status}`);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

/** Runs `call` with `inFlight` outstanding until `durationMs` passes; returns calls per second. */
async function throughput(inFlight: number, durationMs: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const deadline = Date.now() + durationMs;
  let done = 0;
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < deadline) {
        await call(next++);
        done++;
      }
    }),
  );
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}

function rawPut(agent: http.Agent, port: number, key: string): Promise<void> {
  const body = JSON.stringify({ key: Buffer.from(key).toString('base64'), value: Buffer.from('v'.repeat(64)).toString('base64') });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v3/kv/put', agent, headers: { 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function clientBenchmarks(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const etcd = await startEtcd();
  try {
    const endpoint = `--endpoints=${etcd.endpoint}`;
    const runs = 15;
    const bare = percentile(wallMs(process.execPath, ['-e', ''], runs), 50);
    const version = percentile(wallMs(process.execPath, [tetcdctl, 'version'], runs), 50);
    const get = percentile(wallMs(process.execPath, [tetcdctl, endpoint, 'get', 'k'], runs), 50);
    const etcdctlGet = percentile(wallMs('etcdctl', [endpoint, 'get', 'k'], runs), 50);
    results.push({ name: "node -e '' (reference)", value: bare, unit: 'ms p50' });
    results.push({ name: 'tetcdctl version (start-up, no server)', value: version, unit: 'ms p50', note: `${(version / bare).toFixed(2)}x bare node` });
    results.push({ name: 'tetcdctl get k', value: get, unit: 'ms p50', note: `${(get / bare).toFixed(2)}x bare node; etcdctl get k ${etcdctlGet.toFixed(1)} ms` });

    const client = new Client({ endpoints: [etcd.endpoint], transport: 'http' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    try {
      await throughput(64, 500, (i) => client.kv.put(`warm/${i % 100}`, 'v')); // warm-up
      const raw = await throughput(64, 3_000, (i) => rawPut(agent, etcd.clientPort, `raw/${i % 1000}`));
      const typed = await throughput(64, 3_000, (i) => client.kv.put(`typed/${i % 1000}`, 'v'.repeat(64)));
      results.push({ name: 'raw HTTP put, 64 in flight (reference)', value: raw, unit: 'ops/s' });
      results.push({ name: 'client.kv.put, 64 in flight', value: typed, unit: 'ops/s', note: `${(typed / raw).toFixed(2)}x raw HTTP in the same run` });
      const reads = await throughput(64, 2_000, (i) => client.kv.get(`typed/${i % 1000}`, { serializable: true }));
      results.push({ name: 'client.kv.get serializable, 64 in flight', value: reads, unit: 'ops/s' });

      const count = 3_000;
      const watch = client.watch('watched/', { prefix: true });
      await watch.created;
      const started = process.hrtime.bigint();
      const writing = throughput(64, 60_000, async (i) => {
        if (i >= count) throw new RangeError('done');
        await client.kv.put(`watched/${i % 100}`, 'v');
      }).catch(() => {});
      let seen = 0;
      for await (const r of watch) {
        seen += r.events.length;
        if (seen >= count) break;
      }
      await writing;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      results.push({ name: 'watch delivery while writing (one watcher)', value: count / seconds, unit: 'events/s', note: `${count} events` });
    } finally {
      client.close();
      agent.destroy();
    }
  } finally {
    await etcd.stop();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report('client', await clientBenchmarks());
}
