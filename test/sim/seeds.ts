// Runs the simulator over a range of seeds as ava tests. `make test` runs seeds 1..1000, split across two test
// files so the two cores of a CI machine share them. Environment:
//   SEED=n        replay only seed n, with its full trace printed on failure
//   SIM_SEEDS=n   run seeds 1..n instead of 1..1000 (split the same way), e.g. for a long soak
import test from 'ava';
import { runSimulation, SimulationFailure, type SimResult } from './simulator.js';

const defaultSeeds = 1000;

export function registerSeedTests(part: number, parts: number): void {
  const replay = process.env.SEED;
  if (replay !== undefined && replay !== '') {
    if (part !== 0) return;
    const seed = Number(replay);
    test(`simulation replays seed ${seed}`, (t) => {
      try {
        const { trace: _trace, ...result } = runSimulation({ seed, trace: true });
        t.log(JSON.stringify(result));
        t.pass();
      } catch (error) {
        if (error instanceof SimulationFailure) t.log(error.trace.join('\n'));
        throw error;
      }
    });
    return;
  }
  const total = Number(process.env.SIM_SEEDS ?? defaultSeeds);
  const per = Math.ceil(total / parts);
  const from = part * per + 1;
  const to = Math.min(total, from + per - 1);
  test(`simulation: seeds ${from}..${to} keep every safety property and recover once faults stop`, (t) => {
    const failures: string[] = [];
    const results: SimResult[] = [];
    for (let seed = from; seed <= to; seed++) {
      try {
        results.push(runSimulation({ seed }));
      } catch (error) {
        if (!(error instanceof SimulationFailure)) throw error;
        failures.push(`${error.message}\n  last events:\n    ${error.trace.slice(-40).join('\n    ')}`);
        if (failures.length >= 3) break;
      }
    }
    if (failures.length > 0) t.fail(failures.join('\n\n'));
    // the runs did real work: elections, crashes, snapshots, commits
    const sum = (f: (r: SimResult) => number) => results.reduce((a, r) => a + f(r), 0);
    t.true(sum((r) => r.leaderTerms) > results.length, 'leaders changed during chaos');
    t.true(sum((r) => r.crashes) > 0 && sum((r) => r.snapshotsSent) > 0 && sum((r) => r.partitions) > 0, 'faults happened');
    t.true(sum((r) => r.committed) > results.length * 50, 'entries were committed');
    t.log(
      `${results.length} seeds: ${sum((r) => r.events)} events, ${sum((r) => r.messages)} messages, ${sum((r) => r.crashes)} crashes, ` +
        `${sum((r) => r.partitions)} partitions, ${sum((r) => r.snapshotsSent)} snapshots sent, ${sum((r) => r.leaderTerms)} leader terms, ` +
        `${sum((r) => r.committed)} entries committed, ${sum((r) => r.reads)} reads`,
    );
  });
}
