// Gateway benchmarks: what the client edge alone costs. The put route through the full adapter (uWS, body reading,
// Go-exact JSON decoding, the Api promise, etcd-byte encoding, metrics) against a trivial Api, beside a calibration
// endpoint in the same process and the same run: a bare uWS POST handler that reads the body and answers a fixed
// JSON after a promise tick. Load comes from wrk (a separate process, POST via a Lua script) on 127.0.0.1; without
// wrk, from a worker thread with keep-alive Node HTTP clients (slower, so both figures are then client-bound).
// Also codec micro benchmarks, including the watch fan-out encoding with and without a shared events array.
import Benchmark from 'benchmark';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { HttpResponse, us_listen_socket } from '@trufflesuite/uws-js-unofficial';
import type { Event, PutRequest, PutResponse, WatchResponse } from '../actors/api/types.js';
import type { CallContext } from '../actors/gateway/api.js';
import { startGateway } from '../actors/gateway/http.js';
import { decodeBody, decoders } from '../actors/gateway/json/decode.js';
import { encodePut, encodeRange, encodeWatch } from '../actors/gateway/json/encode.js';
import { silentLogger } from '../runtime/log.js';
import { FakeApi } from '../test/gateway/fake-api.js';
import { report, type BenchResult } from './report.js';

type Uws = typeof import('@trufflesuite/uws-js-unofficial');
const uws = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial') as Uws;

const header = { clusterId: '0482757b1d4d5087', memberId: '2e12df9a0f9c6740', revision: 12345, raftTerm: 2 };
const putBody = JSON.stringify({ key: Buffer.from('bench-key-000001').toString('base64'), value: Buffer.alloc(64, 7).toString('base64') });

/** The Api with a put that does nothing: what remains is the edge. */
class TrivialApi extends FakeApi {
  override put(_request: PutRequest, _context: CallContext): Promise<PutResponse> {
    return Promise.resolve({ header });
  }
}

function runSuite(suite: Benchmark.Suite): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  return new Promise((resolve) => {
    suite
      .on('cycle', (event: Benchmark.Event) => {
        const b = event.target as unknown as Benchmark;
        results.push({ name: String(b.name), value: b.hz ?? 0, unit: 'ops/s', note: `±${(b.stats?.rme ?? 0).toFixed(1)}%` });
      })
      .on('complete', () => resolve(results))
      .run({ async: false });
  });
}

async function codecBenchmarks(): Promise<BenchResult[]> {
  const body = Buffer.from(putBody);
  const kv = (i: number) => ({ key: Buffer.from(`key-${i}`), createRevision: i, modRevision: i + 1, version: 1, value: Buffer.alloc(64, i), lease: 0n });
  const range = { header, kvs: Array.from({ length: 10 }, (_, i) => kv(i)), more: false, count: 10 };
  const events: Event[] = [{ type: 0, kv: kv(1) }];
  const watchers = 1000;
  const shared: WatchResponse[] = Array.from({ length: watchers }, (_, i) => ({ header, watchId: i, events }));
  const suite = new Benchmark.Suite('gateway codec')
    .add('decode put body (64-byte value)', () => decodeBody(body, decoders.put))
    .add('encode put response', () => encodePut({ header }))
    .add('encode range response (10 kvs of 64 bytes)', () => encodeRange(range))
    .add(`encode one event for ${watchers} watchers, shared events array`, () => {
      for (const r of shared) encodeWatch(r);
    })
    .add(`encode one event for ${watchers} watchers, an array per watcher`, () => {
      for (let i = 0; i < watchers; i++) encodeWatch({ header, watchId: i, events: [events[0]!] });
    });
  return runSuite(suite);
}

/** A bare uWS endpoint doing the minimum a put needs: read the body, answer fixed JSON after a promise. */
function calibrationServer(): Promise<{ port: number; close(): void }> {
  const app = uws.App();
  const answer = '{"header":{"cluster_id":"324951294757130375","member_id":"3319961728105342784","revision":"12345","raft_term":"2"}}';
  app.post('/v3/kv/put', (res: HttpResponse) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    res.onData((_chunk, isLast) => {
      if (!isLast) return;
      void Promise.resolve().then(() => {
        if (!aborted) res.cork(() => res.writeHeader('Content-Type', 'application/json').end(answer));
      });
    });
  });
  return new Promise((resolve, reject) =>
    app.listen('127.0.0.1', 0, (socket: us_listen_socket | false) => {
      if (socket === false) return reject(new Error('calibration server could not listen'));
      resolve({ port: uws.us_socket_local_port(socket as never), close: () => uws.us_listen_socket_close(socket) });
    }),
  );
}

const wrkPath = '/usr/bin/wrk';

function wrk(port: number, seconds: number, connections: number, script: string): Promise<{ rps: number; latency: string }> {
  return new Promise((resolve, reject) => {
    execFile(wrkPath, ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `http://127.0.0.1:${port}/v3/kv/put`], { timeout: (seconds + 30) * 1000 }, (error, stdout) => {
      if (error) return reject(error);
      const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
      const p50 = /50%\s+(\S+)/.exec(stdout);
      const p99 = /99%\s+(\S+)/.exec(stdout);
      const errors = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
      if (rps === null) return reject(new Error(`unexpected wrk output: ${stdout}`));
      if (errors !== null) return reject(new Error(`wrk saw ${errors[1]} error responses`));
      resolve({ rps: Number(rps[1]), latency: `p50 ${p50?.[1] ?? '?'}, p99 ${p99?.[1] ?? '?'}` });
    });
  });
}

/** Fallback load: a worker thread with keep-alive Node HTTP clients. */
function workerLoad(port: number, seconds: number, connections: number): Promise<{ rps: number; latency: string }> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const agent = new http.Agent({ keepAlive: true, maxSockets: workerData.connections });
    let done = 0; const end = Date.now() + workerData.seconds * 1000;
    const one = () => new Promise((resolve) => {
      const req = http.request({ host: '127.0.0.1', port: workerData.port, path: '/v3/kv/put', method: 'POST', agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(workerData.body) } }, (res) => { res.resume(); res.on('end', resolve); });
      req.on('error', resolve); req.end(workerData.body);
    });
    const loop = async () => { while (Date.now() < end) { await one(); done++; } };
    Promise.all(Array.from({ length: workerData.connections }, loop)).then(() => { parentPort.postMessage(done); agent.destroy(); });`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: { port, seconds, connections, body: putBody } });
    worker.once('message', (done: number) => {
      void worker.terminate();
      resolve({ rps: done / seconds, latency: 'n/a (worker client)' });
    });
    worker.once('error', reject);
  });
}

export async function gatewayBenchmarks(options: { seconds?: number; connections?: number } = {}): Promise<BenchResult[]> {
  const seconds = options.seconds ?? 5;
  const connections = options.connections ?? 64;
  const results = await codecBenchmarks();
  const gateway = await startGateway({ api: new TrivialApi(), log: silentLogger });
  const calibration = await calibrationServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tetcd-bench-'));
  try {
    const useWrk = existsSync(wrkPath);
    const script = path.join(dir, 'put.lua');
    writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(putBody)}\nwrk.headers["Content-Type"] = "application/json"\n`);
    const load = (port: number) => (useWrk ? wrk(port, seconds, connections, script) : workerLoad(port, seconds, Math.min(connections, 32)));
    const generator = useWrk ? `wrk -t1 -c${connections}` : 'worker-thread Node clients';
    await load(calibration.port); // warm-up both, then measure alternately
    await load(gateway.port);
    const cal = await load(calibration.port);
    const put = await load(gateway.port);
    results.push({ name: 'calibration: bare uWS POST (read body, fixed JSON after a promise)', value: cal.rps, unit: 'req/s', note: `${generator}, ${seconds}s, ${cal.latency}` });
    results.push({ name: 'put through the gateway (trivial Api)', value: put.rps, unit: 'req/s', note: `${generator}, ${seconds}s, ${put.latency}` });
    results.push({ name: 'put through the gateway / calibration', value: put.rps / cal.rps, unit: 'ratio', note: 'same run, same load generator' });
  } finally {
    gateway.close();
    calibration.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report('gateway', await gatewayBenchmarks());
}
