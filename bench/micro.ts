// `make bench`: every micro benchmark, one section per area, as markdown tables.
import os from 'node:os';
import { report } from './report.js';
import { runtimeBenchmarks } from './runtime.bench.js';

console.log(`# tetcd micro benchmarks\n\nnode ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${new Date().toISOString()}`);
report('runtime', await runtimeBenchmarks());
