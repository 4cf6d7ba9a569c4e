// Crash test for snapshot files with real processes: a child writes snapshot after snapshot and acknowledges each
// once committed; we kill it with SIGKILL at random moments. After every kill: no file under a .snap name is damaged
// (a partial write never has a real name), the newest acknowledged snapshot is there and loads with the exact bytes
// written, and nothing newer than the one announced in flight appears.
import test from 'ava';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SnapshotStore } from '../../actors/snapshot/store.js';
import { verifySnapshotFile } from '../../actors/snapshot/file.js';
import { crc32c } from '../../actors/wal/crc32c.js';
import { realDisk } from '../../runtime/disk.js';
import { SeededRandom } from '../../runtime/random.js';
import { testChunk } from '../fixtures/wal-snapshot-client-actor.js';
import { SnapshotReader } from '../../actors/snapshot/file.js';
import { captureLog, removeDir, tempDir } from '../wal/helpers.js';

const child = fileURLToPath(new URL('../fixtures/wal-snapshot-crash-child.js', import.meta.url));
const cycles = 50;

type Line = { kind: 'R' } | { kind: 'W'; index: number; sizes: number[] } | { kind: 'D'; index: number };

function runChild(dir: string, firstIndex: number, seed: number, killAfterMs: number): Promise<{ lines: Line[]; killed: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, JSON.stringify({ dir, firstIndex, seed })], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const guard = setTimeout(kill, 20_000);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      if (timer === undefined) timer = setTimeout(kill, killAfterMs);
      out += chunk;
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('close', () => {
      clearTimeout(guard);
      clearTimeout(timer);
      const lines: Line[] = [];
      for (const line of out.split('\n')) {
        try {
          if (line) lines.push(JSON.parse(line) as Line);
        } catch {
          // cut by the kill
        }
      }
      resolve({ lines, killed, stderr });
    });
  });
}

function imageCrc(index: number, sizes: number[]): number {
  let crc = 0;
  sizes.forEach((size, i) => (crc = crc32c(crc, testChunk(index, i, size))));
  return crc;
}

test(`acknowledged snapshots survive ${cycles} SIGKILLs; a partial file never appears under a real name`, async (t) => {
  const root = tempDir('tetcd-snap-crash-');
  const dir = path.join(root, 'member', 'snap');
  const random = new SeededRandom(0x5eed);
  const sizesOf = new Map<number, number[]>();
  let acknowledged = 0;
  let next = 1;
  const tally = { acknowledged: 0, inFlightFound: 0 };
  try {
    for (let cycle = 1; cycle <= cycles; cycle++) {
      const run = await runChild(dir, next, cycle, 5 + random.int(100));
      if (!run.killed) {
        t.fail(`cycle ${cycle}: the child exited by itself: ${run.stderr}`);
        return;
      }
      let inFlight: number | undefined;
      for (const line of run.lines) {
        if (line.kind === 'W') {
          sizesOf.set(line.index, line.sizes);
          inFlight = line.index;
        } else if (line.kind === 'D') {
          acknowledged = line.index;
          tally.acknowledged++;
          inFlight = undefined;
        }
      }
      const store = new SnapshotStore({ dir, disk: realDisk, log: captureLog().log, keep: 3 });
      for (const file of store.list()) {
        // every file under a real name is whole: verify throws otherwise
        const verified = verifySnapshotFile(realDisk, file.path);
        t.true(verified.index <= (inFlight ?? acknowledged), `no snapshot beyond what was written (${verified.index})`);
      }
      const loaded = store.loadNewest();
      t.deepEqual(loaded.damaged, [], `cycle ${cycle}: no damaged snapshot`);
      if (acknowledged > 0) {
        const newest = loaded.newest!;
        t.true(newest.index === acknowledged || newest.index === inFlight, `cycle ${cycle}: newest is ${newest.index}, acknowledged ${acknowledged}, in flight ${inFlight}; ${JSON.stringify(run.lines.map((l) => l.kind + ('index' in l ? l.index : '')))}`);
        if (newest.index === inFlight) {
          // committed, killed before it could say so: from now on it is the newest snapshot like an acknowledged one
          tally.inFlightFound++;
          acknowledged = inFlight;
        }
        const reader = SnapshotReader.open(realDisk, newest.path);
        let crc = 0;
        for (let c = reader.next(); c !== undefined; c = reader.next()) crc = crc32c(crc, c);
        reader.close();
        t.is(crc, imageCrc(newest.index, sizesOf.get(newest.index)!), 'the exact bytes written');
        t.true(store.list().some((f) => f.index === acknowledged), 'the acknowledged snapshot is kept');
      }
      next = Math.max(acknowledged, inFlight ?? 0) + 1;
    }
    // not vacuous: snapshots were acknowledged (how many depends on the machine's load, so the bar is low)
    t.true(tally.acknowledged >= cycles / 5, `${tally.acknowledged} snapshots acknowledged`);
    t.log(JSON.stringify(tally));
  } finally {
    removeDir(root);
  }
});
