// The snapshot actor: building a file from chunk messages, streaming one back within a credit window, damage reported
// to the reader, loading, listing and pruning — under the deterministic scheduler and on worker threads.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ActorSystem } from '../../runtime/system.js';
import { silentLogger } from '../../runtime/log.js';
import { crc32c } from '../../actors/wal/crc32c.js';
import type { SnapshotActorConfig, SnapshotProtocol } from '../../actors/snapshot/protocol.js';
import { snapshotLimits } from '../../actors/snapshot/limits.js';
import { testChunk, type SnapshotClientProtocol } from '../fixtures/wal-snapshot-client-actor.js';
import { removeDir, tempDir } from '../wal/helpers.js';

const snapshotModule = new URL('../../actors/snapshot/actor.js', import.meta.url);
const clientModule = new URL('../fixtures/wal-snapshot-client-actor.js', import.meta.url);
const confState = { voters: ['8e9e05c52164694d'], learners: [], votersOutgoing: [] };

function system(mode: 'threads' | 'deterministic', dataDir: string): ActorSystem {
  const s = new ActorSystem({ mode, logger: silentLogger, logLevel: 'error', seed: 3 });
  s.add({ name: 'snapshot', module: snapshotModule, config: { dataDir, keep: 2 } satisfies SnapshotActorConfig });
  s.add({ name: 'client', module: clientModule });
  return s;
}

async function run<T>(s: ActorSystem, promise: Promise<T>): Promise<T> {
  if (s.sim) await s.sim.runWhile(promise);
  return promise;
}

function expectedCrc(writeId: number, sizes: number[]): number {
  let crc = 0;
  sizes.forEach((size, i) => (crc = crc32c(crc, testChunk(writeId, i, size))));
  return crc;
}

test('deterministic: write from chunks, then read back within the window, only as far as credits allow', async (t) => {
  const dataDir = tempDir('tetcd-snap-actor-');
  const s = system('deterministic', dataDir);
  try {
    await s.start();
    const client = s.ref<SnapshotClientProtocol>('client');
    const snapshot = s.ref<SnapshotProtocol>('snapshot');
    const sizes = [1000, 1, 5000, 300, 70_000, 12, 9, 4096, 100, 2];
    const written = await run(s, client.ask({ type: 'write', writeId: 1, metadata: { term: 2, index: 50, confState }, sizes, progressEvery: 3 }));
    t.is(written.error, null);
    t.is(written.committed?.name, '0000000000000002-0000000000000032.snap');
    t.is(written.committed?.chunks, sizes.length);
    t.is(written.progressReplies, 3);
    t.is(written.crc, expectedCrc(1, sizes));
    t.deepEqual((await run(s, snapshot.ask({ type: 'list' }))).map((f) => f.index), [50]);

    // window of 3, credits by hand: exactly 3 chunks arrive, then one more per credit
    await run(s, client.ask({ type: 'read', readId: 7, term: 2, index: 50, window: 3, autoCredit: false }));
    await s.sim!.runUntilIdle();
    let report = (await run(s, client.ask({ type: 'report' })))[7]!;
    t.is(report.chunks, 3);
    t.false(report.ended);
    await run(s, client.ask({ type: 'grant', readId: 7, chunks: 1 }));
    await s.sim!.runUntilIdle();
    report = (await run(s, client.ask({ type: 'report' })))[7]!;
    t.is(report.chunks, 4);
    t.is(report.maxOutstanding, 3, 'never more than the window beyond the credits');
    // credits are for chunks consumed: granting more than were received does not widen the window
    await run(s, client.ask({ type: 'grant', readId: 7, chunks: 100 }));
    await s.sim!.runUntilIdle();
    report = (await run(s, client.ask({ type: 'report' })))[7]!;
    t.is(report.chunks, 7);
    for (let round = 0; round < 10 && !report.ended; round++) {
      await run(s, client.ask({ type: 'grant', readId: 7, chunks: 3 }));
      await s.sim!.runUntilIdle();
      report = (await run(s, client.ask({ type: 'report' })))[7]!;
    }
    t.is(report.chunks, sizes.length);
    t.true(report.ended);
    t.true(report.seqInOrder);
    t.is(report.crc, written.crc, 'every byte came back in order');

    // a reader that credits each chunk as it arrives never has more than the window outstanding
    await run(s, client.ask({ type: 'read', readId: 8, term: 2, index: 50, window: 2, autoCredit: true }));
    await s.sim!.runUntilIdle();
    report = (await run(s, client.ask({ type: 'report' })))[8]!;
    t.true(report.ended);
    t.true(report.maxOutstanding <= 2);
    t.is(report.crc, written.crc);

    // a snapshot that does not exist
    await run(s, client.ask({ type: 'read', readId: 9, term: 9, index: 9, window: 2, autoCredit: true }));
    await s.sim!.runUntilIdle();
    report = (await run(s, client.ask({ type: 'report' })))[9]!;
    t.regex(report.failed ?? '', /no snapshot at term 9, index 9/);
  } finally {
    await run(s, s.stop());
    removeDir(dataDir);
  }
});

test('deterministic: damage found mid-stream is reported to the reader with file and offset; boot skips the file', async (t) => {
  const dataDir = tempDir('tetcd-snap-actor-');
  const s = system('deterministic', dataDir);
  try {
    await s.start();
    const client = s.ref<SnapshotClientProtocol>('client');
    const snapshot = s.ref<SnapshotProtocol>('snapshot');
    const sizes = [100, 100, 100, 100];
    await run(s, client.ask({ type: 'write', writeId: 1, metadata: { term: 1, index: 10, confState }, sizes, progressEvery: 0 }));
    const second = await run(s, client.ask({ type: 'write', writeId: 2, metadata: { term: 1, index: 20, confState }, sizes, progressEvery: 0 }));
    const file = second.committed!.path;
    const bytes = new Uint8Array(fs.readFileSync(file));
    bytes[bytes.length - 40 - 50] ^= 0x10; // inside the last chunk
    fs.writeFileSync(file, bytes);
    await run(s, client.ask({ type: 'read', readId: 1, term: 1, index: 20, window: 8, autoCredit: true }));
    await s.sim!.runUntilIdle();
    const report = (await run(s, client.ask({ type: 'report' })))[1]!;
    t.is(report.chunks, 3, 'the chunks before the damage were delivered');
    t.false(report.ended);
    t.regex(report.failed ?? '', /0000000000000001-0000000000000014\.snap is damaged at byte offset/);
    t.is(typeof report.failedOffset, 'number');

    const loaded = await run(s, snapshot.ask({ type: 'loadNewest' }));
    t.is(loaded.newest?.index, 10);
    t.is(loaded.damaged.length, 1);
    const onlyTwenty = await run(s, snapshot.ask({ type: 'loadNewest', acceptable: [{ term: 1, index: 20 }] }));
    t.is(onlyTwenty.newest, null);

    // a failed write is reported on its commit and leaves nothing behind
    const failed = await run(s, client.ask({ type: 'write', writeId: 3, metadata: { term: 1, index: 30, confState }, sizes: [10, 0, 10], progressEvery: 0 }));
    t.regex(failed.error ?? '', /must hold 1 to/);
    t.false(fs.readdirSync(path.join(dataDir, 'member', 'snap')).some((n) => n.endsWith('.tmp')));
    // an aborted write too
    await run(s, client.ask({ type: 'raw', message: { type: 'begin', writeId: 4, metadata: { term: 1, index: 40, confState } } }));
    await run(s, client.ask({ type: 'raw', message: { type: 'chunk', writeId: 4, bytes: new Uint8Array(10) } }));
    await run(s, client.ask({ type: 'raw', message: { type: 'abort', writeId: 4 } }));
    await s.sim!.runUntilIdle();
    t.false(fs.readdirSync(path.join(dataDir, 'member', 'snap')).some((n) => n.endsWith('.tmp')));

    for (const [writeId, index] of [[5, 50], [6, 60]] as const) {
      await run(s, client.ask({ type: 'write', writeId, metadata: { term: 1, index, confState }, sizes: [1], progressEvery: 0 }));
    }
    const removed = await run(s, snapshot.ask({ type: 'prune' }));
    t.is(removed.length, 1, 'keeps the configured two');
    t.deepEqual((await run(s, snapshot.ask({ type: 'list' }))).map((f) => f.index), [60, 50]);
  } finally {
    await run(s, s.stop());
    removeDir(dataDir);
  }
});

test('threads: a multi-megabyte snapshot streams between worker actors within the window', async (t) => {
  const dataDir = tempDir('tetcd-snap-actor-');
  const s = system('threads', dataDir);
  try {
    await s.start();
    const client = s.ref<SnapshotClientProtocol>('client');
    const sizes = Array.from({ length: 48 }, (_, i) => 1024 * 1024 - i);
    const written = await client.ask({ type: 'write', writeId: 1, metadata: { term: 3, index: 999, confState }, sizes, progressEvery: 4 }, { timeoutMs: 60_000 });
    t.is(written.error, null);
    await client.ask({ type: 'read', readId: 1, term: 3, index: 999, window: 4, autoCredit: true });
    const deadline = Date.now() + 30_000;
    let report = (await client.ask({ type: 'report' }))[1]!;
    while (!report.ended && !report.failed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      report = (await client.ask({ type: 'report' }))[1]!;
    }
    t.true(report.ended);
    t.is(report.chunks, sizes.length);
    t.is(report.crc, written.crc);
    t.true(report.maxOutstanding <= 4);
    t.true(4 <= snapshotLimits.readWindowChunksMax);
  } finally {
    await s.stop();
    removeDir(dataDir);
  }
});
