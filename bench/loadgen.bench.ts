// The load generator's own ceiling as a micro benchmark: put over HTTP/1.1, WebSocket and gRPC against the trivial
// calibration endpoints (another process), 64 clients over 8 connections on 2 worker threads. Runnable on its own:
// `node dist/bench/loadgen.bench.js`.
import { runCalibration } from './loadgen/calibrate.js';
import { report, type BenchResult } from './report.js';

export async function loadgenBenchmarks(): Promise<BenchResult[]> {
  const results = await runCalibration({
    driver: 'http',
    endpoints: [],
    connections: 8,
    clients: 64,
    workers: 2,
    total: 0,
    durationMs: 3_000,
    warmupMs: 1_000,
    rate: 0,
    workload: { type: 'put', keySizeBytes: 8, valueSizeBytes: 256, keySpaceSize: 100_000, sequentialKeys: false },
  });
  return results.map((r) => ({
    name: `loadgen put ceiling over ${r.options.driver} (trivial endpoint, 64 clients)`,
    value: r.throughput,
    unit: 'req/s',
    note: `p99 ${(r.latency.p99Us / 1000).toFixed(2)} ms, generator ${r.cpu.processCores.toFixed(2)} cores, ${r.cpu.usPerOperation.toFixed(1)} us/req, endpoint ${r.serverCores.toFixed(2)} cores`,
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report('loadgen', await loadgenBenchmarks());
}
