// `make bench`: every micro benchmark, one section per area, as markdown tables. `make bench ONLY=wal` runs one area.
import os from 'node:os';
import { report, type BenchResult } from './report.js';
import { clientBenchmarks } from './client.bench.js';
import { gatewayBenchmarks } from './gateway.bench.js';
import { leaseBenchmarks } from './lease.bench.js';
import { loadgenBenchmarks } from './loadgen.bench.js';
import { mvccBenchmarks } from './mvcc.bench.js';
import { raftBenchmarks } from './raft.bench.js';
import { runtimeBenchmarks } from './runtime.bench.js';
import { walBenchmarks } from './wal.bench.js';

const areas: Record<string, () => Promise<BenchResult[]>> = {
  runtime: runtimeBenchmarks,
  wal: walBenchmarks,
  raft: raftBenchmarks,
  mvcc: mvccBenchmarks,
  lease: leaseBenchmarks,
  gateway: gatewayBenchmarks,
  client: clientBenchmarks,
  loadgen: loadgenBenchmarks,
};

const only = process.env.ONLY?.split(',').filter(Boolean);
console.log(`# tetcd micro benchmarks\n\nnode ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(areas)) {
  if (only && !only.includes(name)) continue;
  report(name, await run());
}
