// Crash test with real processes: a child appends to a real WAL (real files, real fdatasync) and acknowledges each
// batch to this process once it is durable; we kill it with SIGKILL at random moments, boot the WAL ourselves, and
// check that every acknowledged batch is there, in order, with its bytes, and that nothing is there that the child did
// not write — beyond, possibly, a prefix of the one batch it had announced and not yet acknowledged.
//
// The child cuts segments every 64 KiB, overwrites its uncommitted tail now and then, writes snapshot markers and
// releases segments, so kills land during rotation, release and tail overwrite too; some kills land during boot.
// Every third child goes through the WAL actor on a worker thread (acknowledging on walDurable) instead of the class.
import test from 'ava';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Wal } from '../../actors/wal/wal.js';
import { realDisk } from '../../runtime/disk.js';
import { SeededRandom } from '../../runtime/random.js';
import type { Entry, HardState } from '../../actors/raft/core/types.js';
import { crashEntryData, type CrashLine } from '../fixtures/wal-crash-model.js';
import { captureLog, removeDir, tempDir } from './helpers.js';

const child = fileURLToPath(new URL('../fixtures/wal-crash-child.js', import.meta.url));
const cycles = 60;
const segmentBytes = 64 * 1024;

interface Written {
  term: number;
  maxBytes: number;
}

/** What the parent knows is on disk: the log as acknowledged (kept from the snapshot on). */
interface Model {
  log: Map<number, Written>;
  lastIndex: number;
  hardState: HardState;
  snapshot: { term: number; index: number } | undefined;
}

type Batch = Extract<CrashLine, { kind: 'W' }>;

/** One allowed outcome: the acknowledged log with the first `count` entries of the in-flight batch over it, and its
 * hard state and marker when `whole`. */
interface Outcome {
  name: string;
  batch: Batch | undefined;
  count: number;
  whole: boolean;
}

function outcomeSnapshot(model: Model, o: Outcome) {
  return o.whole && o.batch?.marker ? o.batch.marker : model.snapshot;
}

function outcomeEntry(model: Model, o: Outcome, index: number): Written | undefined {
  if (o.batch && o.count > 0 && index >= o.batch.first) return index < o.batch.first + o.count ? { term: o.batch.term, maxBytes: o.batch.maxBytes } : undefined;
  return model.log.get(index);
}

/** Makes an outcome the model (in place). */
function adopt(model: Model, o: Outcome): void {
  const batch = o.batch;
  if (!batch) return;
  if (o.count > 0) {
    for (let i = batch.first; i <= model.lastIndex; i++) model.log.delete(i);
    for (let i = 0; i < o.count; i++) model.log.set(batch.first + i, { term: batch.term, maxBytes: batch.maxBytes });
    model.lastIndex = batch.first + o.count - 1;
  }
  if (o.whole) {
    model.hardState = { term: batch.term, vote: '', commit: batch.commit };
    if (batch.marker) {
      model.snapshot = batch.marker;
      for (const index of model.log.keys()) if (index <= batch.marker.index) model.log.delete(index);
    }
  }
}

function describeEntries(list: readonly Entry[]): string {
  return list.length === 0 ? 'none' : `${list[0]!.index}..${list.at(-1)!.index}`;
}

/** Undefined when the booted state is exactly the outcome: same snapshot, hard state, and every entry after it. */
function mismatch(model: Model, o: Outcome, state: { entries: Entry[]; hardState: HardState; snapshot: { term: number; index: number } | undefined }): string | undefined {
  const snapshot = outcomeSnapshot(model, o);
  const snapshotIndex = snapshot?.index ?? 0;
  if ((state.snapshot?.index ?? 0) !== snapshotIndex || (state.snapshot?.term ?? 0) !== (snapshot?.term ?? 0)) return `snapshot ${JSON.stringify(state.snapshot)} != ${JSON.stringify(snapshot)}`;
  const hardState = o.whole && o.batch ? { term: o.batch.term, commit: o.batch.commit } : model.hardState;
  if (state.hardState.term !== hardState.term || state.hardState.commit !== hardState.commit || state.hardState.vote !== '') return `hard state ${JSON.stringify(state.hardState)} != ${JSON.stringify(hardState)}`;
  const lastIndex = o.batch && o.count > 0 ? o.batch.first + o.count - 1 : model.lastIndex;
  const expectedCount = Math.max(0, lastIndex - snapshotIndex);
  if (state.entries.length !== expectedCount) return `entries ${describeEntries(state.entries)} but expected ${snapshotIndex + 1}..${lastIndex}`;
  for (let i = 0; i < state.entries.length; i++) {
    const e = state.entries[i]!;
    const want = outcomeEntry(model, o, snapshotIndex + 1 + i);
    if (e.index !== snapshotIndex + 1 + i || !want || e.term !== want.term) return `entry ${e.index} term ${e.term} differs from the expected ${JSON.stringify(want)}`;
    if (!Buffer.from(e.data).equals(crashEntryData(e.index, e.term, want.maxBytes))) return `entry ${e.index} has other bytes than were written`;
  }
  return undefined;
}

interface ChildRun {
  lines: CrashLine[];
  stderr: string;
  killed: boolean;
  code: number | null;
}

function runChild(dir: string, term: number, seed: number, killAfterMs: number, killBeforeReady: boolean, viaActor: boolean): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, JSON.stringify({ dir, segmentBytes, term, seed, viaActor })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const kill = () => {
      if (!killed && proc.pid !== undefined && proc.exitCode === null) {
        killed = true;
        process.kill(proc.pid, 'SIGKILL');
      }
    };
    // never outlive the test: a child that does not die in time is killed anyway and the run fails
    const guard = setTimeout(kill, 20_000);
    if (killBeforeReady) timer = setTimeout(kill, killAfterMs);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      if (!killBeforeReady && timer === undefined && out.length === 0) timer = setTimeout(kill, killAfterMs);
      out += chunk;
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => {
      clearTimeout(guard);
      clearTimeout(timer);
      const lines: CrashLine[] = [];
      for (const line of out.split('\n')) {
        if (line.length === 0) continue;
        try {
          lines.push(JSON.parse(line) as CrashLine);
        } catch {
          // a line cut by the kill: the child had not acted on it yet
        }
      }
      resolve({ lines, stderr, killed, code });
    });
  });
}

test(`acknowledged batches survive ${cycles} SIGKILLs at random moments; nothing unacknowledged is reported acknowledged`, async (t) => {
  const root = tempDir();
  const dir = path.join(root, 'member', 'wal');
  const random = new SeededRandom(0xc0ffee);
  const model: Model = { log: new Map(), lastIndex: 0, hardState: { term: 0, vote: '', commit: 0 }, snapshot: undefined };
  const tally = { viaActor: 0, acknowledged: 0, inFlightAbsent: 0, inFlightPartial: 0, inFlightWhole: 0, tornRepairs: 0, killedBeforeReady: 0, snapshotIndex: 0, lastIndex: 0 };
  try {
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const killBeforeReady = cycle > 1 && random.next() < 0.1;
      const killAfterMs = killBeforeReady ? random.int(120) : 5 + random.int(150);
      // every third child appends through the WAL actor on a worker thread, the others through the Wal class
      const viaActor = cycle % 3 === 0;
      if (viaActor) tally.viaActor++;
      const run = await runChild(dir, cycle, cycle * 7919, killAfterMs + (viaActor ? 100 : 0), killBeforeReady, viaActor);
      if (!run.killed) {
        t.fail(`cycle ${cycle}: the child exited by itself with code ${run.code}: ${run.stderr}`);
        return;
      }
      if (!run.lines.some((l) => l.kind === 'R')) tally.killedBeforeReady++;
      let inFlight: Batch | undefined;
      for (const line of run.lines) {
        if (line.kind === 'W') inFlight = line;
        else if (line.kind === 'D') {
          if (!inFlight || line.last !== inFlight.last) {
            t.fail(`cycle ${cycle}: an acknowledgement without its announcement`);
            return;
          }
          adopt(model, { name: 'acknowledged', batch: inFlight, count: inFlight.last - inFlight.first + 1, whole: true });
          tally.acknowledged++;
          inFlight = undefined;
        }
      }
      const captured = captureLog();
      const { wal, state } = Wal.open({ dir, disk: realDisk, log: captured.log, segmentBytes });
      wal.close();
      if (state.tornBytesRepaired > 0) tally.tornRepairs++;
      const outcomes: Outcome[] = [{ name: 'acknowledged log', batch: undefined, count: 0, whole: false }];
      if (inFlight) {
        const count = inFlight.last - inFlight.first + 1;
        for (let k = 1; k <= count; k++) outcomes.push({ name: `${k} of ${count} in-flight entries`, batch: inFlight, count: k, whole: false });
        outcomes.push({ name: 'whole in-flight batch', batch: inFlight, count, whole: true });
      }
      const reasons: string[] = [];
      const matched = outcomes.find((o) => {
        const reason = mismatch(model, o, state);
        if (reason) reasons.push(`${o.name}: ${reason}`);
        return reason === undefined;
      });
      if (!matched) {
        t.fail(`cycle ${cycle}: the booted log is none of the allowed outcomes:\n${reasons.slice(0, 5).join('\n')}`);
        return;
      }
      if (matched !== outcomes[0]) {
        if (matched.whole) tally.inFlightWhole++;
        else tally.inFlightPartial++;
      } else if (inFlight) tally.inFlightAbsent++;
      // boot made whatever it read durable: that is the log the next child starts from
      adopt(model, matched);
      tally.snapshotIndex = model.snapshot?.index ?? 0;
      tally.lastIndex = model.lastIndex;
    }
    // not vacuous: batches were acknowledged (how many depends on the machine's load, so the bar is low)
    t.true(tally.acknowledged > cycles, `${tally.acknowledged} batches acknowledged`);
    t.log(JSON.stringify(tally));
  } finally {
    removeDir(root);
  }
});
