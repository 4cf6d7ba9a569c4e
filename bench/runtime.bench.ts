// Runtime micro benchmarks: CBOR frames, one-way throughput between two worker actors, ask round trip beside the raw
// postMessage round trip measured in the same run.
import Benchmark from 'benchmark';
import { Worker } from 'node:worker_threads';
import { decodeFrame, encodeFrame, EnvelopeKind, type Envelope } from '../runtime/codec.js';
import { ActorSystem } from '../runtime/system.js';
import type { PumpProtocol } from './actors/pump.js';
import { percentile, report, type BenchResult } from './report.js';

const pumpModule = new URL('./actors/pump.js', import.meta.url);

function putProposal(i: number) {
  return { type: 'propose', id: i, op: { type: 'put', key: new TextEncoder().encode(`key-${i % 1000}`), value: new Uint8Array(256).fill(7), lease: 0 } };
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

export async function runtimeBenchmarks(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const one: Envelope[] = [{ kind: EnvelopeKind.Tell, id: 0, body: putProposal(1) }];
  const hundred: Envelope[] = Array.from({ length: 100 }, (_, i) => ({ kind: EnvelopeKind.Tell, id: 0, body: putProposal(i) }));
  const oneFrame = encodeFrame(0, one);
  const hundredFrame = encodeFrame(0, hundred);
  const suite = new Benchmark.Suite('codec')
    .add('cbor encode: 256-byte put proposal', () => encodeFrame(0, one))
    .add('cbor decode: 256-byte put proposal', () => decodeFrame(oneFrame))
    .add('cbor encode: batch of 100 proposals', () => encodeFrame(0, hundred))
    .add('cbor decode: batch of 100 proposals', () => decodeFrame(hundredFrame));
  results.push(...(await runSuite(suite)));

  // one-way throughput between two worker actors
  const system = new ActorSystem({ mode: 'threads', logLevel: 'error' });
  system.add({ name: 'sender', module: pumpModule });
  system.add({ name: 'receiver', module: pumpModule });
  await system.start();
  try {
    const sender = system.ref<PumpProtocol>('sender');
    const receiver = system.ref<PumpProtocol>('receiver');
    await sender.ask({ type: 'pump', to: 'receiver', count: 200_000 }, { timeoutMs: 60_000 }); // warm-up
    while ((await receiver.ask({ type: 'received' })) < 200_000) await new Promise((r) => setTimeout(r, 1));
    const count = 3_000_000;
    const started = process.hrtime.bigint();
    await sender.ask({ type: 'pump', to: 'receiver', count }, { timeoutMs: 120_000 });
    while ((await receiver.ask({ type: 'received' })) < 200_000 + count) await new Promise((r) => setImmediate(r));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    results.push({ name: 'one-way worker to worker (encode+decode, credits)', value: count / seconds, unit: 'msgs/s', note: `${count} messages` });

    const rounds = 5_000;
    const latencies: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = process.hrtime.bigint();
      await receiver.ask({ type: 'echo', n: i });
      latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    results.push({ name: 'ask round trip main -> worker actor', value: percentile(latencies, 50), unit: 'us p50', note: `p99 ${percentile(latencies, 99).toFixed(1)} us` });
  } finally {
    await system.stop();
  }

  const raw = new Worker(new URL('./actors/raw-echo.js', import.meta.url));
  try {
    const latencies: number[] = [];
    await new Promise<void>((resolve) => {
      let i = 0;
      let t0 = process.hrtime.bigint();
      raw.on('message', () => {
        latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
        if (++i >= 5_000) return resolve();
        t0 = process.hrtime.bigint();
        raw.postMessage(i);
      });
      raw.postMessage(i);
    });
    results.push({ name: 'raw postMessage round trip main -> worker', value: percentile(latencies, 50), unit: 'us p50', note: `p99 ${percentile(latencies, 99).toFixed(1)} us` });
  } finally {
    await raw.terminate();
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report('runtime', await runtimeBenchmarks());
}
