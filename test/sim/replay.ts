// Replays one simulator seed from the command line and prints its whole trace:
//   node dist/test/sim/replay.js 1234            the run's summary, or the failure with every event of the run
//   node dist/test/sim/replay.js 1234 --trace    the full trace even when the run passes
import { runSimulation, SimulationFailure } from './simulator.js';

const seed = Number(process.argv[2]);
if (!Number.isInteger(seed)) {
  console.error('usage: node dist/test/sim/replay.js <seed> [--trace]');
  process.exit(2);
}
try {
  const { trace, ...result } = runSimulation({ seed, trace: true });
  if (process.argv.includes('--trace')) console.log((trace ?? []).join('\n'));
  console.log(JSON.stringify(result, null, 2));
} catch (error) {
  if (!(error instanceof SimulationFailure)) throw error;
  console.log(error.trace.join('\n'));
  console.log(`\n${error.message}`);
  if (error.cause instanceof Error && error.cause.stack) console.log(error.cause.stack);
  process.exit(1);
}
