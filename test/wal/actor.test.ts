// The WAL actor: boot, group commit per turn with one answer, unsynced turns, markers and release, on a worker thread
// and under the deterministic scheduler.
import test from 'ava';
import { ActorSystem } from '../../runtime/system.js';
import { silentLogger } from '../../runtime/log.js';
import type { WalActorConfig, WalInbox, WalProtocol } from '../../actors/wal/protocol.js';
import type { WalClientTestProtocol } from '../fixtures/wal-client-actor.js';
import { walLimits } from '../../actors/wal/limits.js';
import { entries, metadata, removeDir, tempDir } from './helpers.js';

const walModule = new URL('../../actors/wal/actor.js', import.meta.url);
const clientModule = new URL('../fixtures/wal-client-actor.js', import.meta.url);
const confState = { voters: [metadata.memberId], learners: [], votersOutgoing: [] };

function system(mode: 'threads' | 'deterministic', dataDir: string, segmentBytes = 64 * 1024): ActorSystem {
  const s = new ActorSystem({ mode, logLevel: 'error', logger: silentLogger, seed: 7 });
  s.add({ name: 'wal', module: walModule, config: { dataDir, metadata, segmentBytes } satisfies WalActorConfig });
  s.add({ name: 'client', module: clientModule });
  return s;
}

async function settle<T>(s: ActorSystem, promise: Promise<T>): Promise<T> {
  if (s.sim) await s.sim.runWhile(promise);
  return promise;
}

async function waitFor(s: ActorSystem, client: ReturnType<ActorSystem['ref']>, count: number) {
  const ref = client as unknown as { ask(m: { type: 'report' }): Promise<Array<{ seq: number; lastIndex: number }>> };
  const deadline = Date.now() + 10_000;
  for (;;) {
    const report = await settle(s, ref.ask({ type: 'report' }));
    if (report.length >= count || Date.now() > deadline) return report;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const append = (seq: number, from: number, to: number, sync = true, commit?: number): WalInbox => ({
  type: 'append',
  seq,
  entries: entries(from, to, 1),
  ...(commit === undefined ? {} : { hardState: { term: 1, vote: '', commit } }),
  sync,
});

for (const mode of ['deterministic', 'threads'] as const) {
  test(`${mode}: a turn of appends is one write, one fdatasync and one walDurable; state survives a restart`, async (t) => {
    const dataDir = tempDir();
    try {
      const s = system(mode, dataDir);
      await s.start();
      const wal = s.ref<WalProtocol>('wal');
      const client = s.ref<WalClientTestProtocol>('client');
      const booted = await settle(s, wal.ask({ type: 'boot' }));
      t.true(booted.created);
      t.deepEqual(booted.entries, []);
      await t.throwsAsync(settle(s, wal.ask({ type: 'boot' })), { message: /booted twice/ });

      const before = await settle(s, wal.ask({ type: 'stats' }));
      await settle(s, client.ask({ type: 'send', messages: [append(1, 1, 10), append(2, 11, 20, true, 5), append(3, 21, 30, false)] }));
      const first = await waitFor(s, client, 1);
      t.deepEqual(first, [{ type: 'walDurable', seq: 3, lastIndex: 30 }]);
      const after = await settle(s, wal.ask({ type: 'stats' }));
      t.is(after.fsyncs - before.fsyncs, 1, 'one fdatasync for the whole turn');
      t.is(after.writes - before.writes, 1, 'one write for the whole turn');
      t.is(after.turns - before.turns, 1);
      t.is(after.durableIndex, 30);

      // a turn where nothing needs a sync is answered without one
      await settle(s, client.ask({ type: 'send', messages: [append(4, 31, 32, false)] }));
      const second = await waitFor(s, client, 2);
      t.deepEqual(second[1], { type: 'walDurable', seq: 4, lastIndex: 32 });
      const unsynced = await settle(s, wal.ask({ type: 'stats' }));
      t.is(unsynced.fsyncs, after.fsyncs);

      // an overwrite of the uncommitted tail: lastIndex goes down
      await settle(s, client.ask({ type: 'send', messages: [{ type: 'append', seq: 5, entries: entries(25, 26, 2), hardState: { term: 2, vote: '', commit: 20 }, sync: true }] }));
      const third = await waitFor(s, client, 3);
      t.deepEqual(third[2], { type: 'walDurable', seq: 5, lastIndex: 26 });
      await settle(s, s.stop());

      const again = system(mode, dataDir);
      await again.start();
      const reboot = await settle(again, again.ref<WalProtocol>('wal').ask({ type: 'boot' }));
      t.false(reboot.created);
      t.deepEqual(reboot.hardState, { term: 2, vote: '', commit: 20 });
      t.deepEqual(reboot.entries, [...entries(1, 24, 1), ...entries(25, 26, 2)]);
      t.deepEqual(reboot.metadata, metadata);
      await settle(again, again.stop());
    } finally {
      removeDir(dataDir);
    }
  });
}

test('threads: snapshot marker is synced in its turn, release drops old segments, preparation runs between turns', async (t) => {
  const dataDir = tempDir();
  try {
    const s = system('threads', dataDir, 16 * 1024);
    await s.start();
    const wal = s.ref<WalProtocol>('wal');
    const client = s.ref<WalClientTestProtocol>('client');
    await wal.ask({ type: 'boot' });
    const total = walLimits.releaseCatchUpEntries + 2_000;
    let seq = 0;
    for (let i = 1; i <= total; i += 250) {
      seq++;
      await client.ask({ type: 'send', messages: [append(seq, i, i + 249, true, i + 249)] });
      await waitFor(s, client, seq);
      // let a background preparation step or two run, as between real turns
      await new Promise((r) => setTimeout(r, 2));
    }
    const before = await wal.ask({ type: 'stats' });
    t.true(before.segments > 10);
    await client.ask({ type: 'send', messages: [{ type: 'snapshotMarker', term: 1, index: total - 100, confState }, { type: 'release', index: total - 100 }] });
    let after = await wal.ask({ type: 'stats' });
    const deadline = Date.now() + 5_000;
    while (after.segmentsReleased === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
      after = await wal.ask({ type: 'stats' });
    }
    t.true(after.segmentsReleased > 0);
    t.is(after.segments, before.segments - after.segmentsReleased);
    t.true(after.fsyncs > before.fsyncs, 'the marker was synced');
    t.true(after.rotations > 10);
    t.true(after.preparationStalls < after.rotations, 'most segments were prepared in the background');
    await s.stop();
    const again = system('threads', dataDir, 16 * 1024);
    await again.start();
    const reboot = await again.ref<WalProtocol>('wal').ask({ type: 'boot' });
    t.is(reboot.snapshot?.index, total - 100);
    t.is(reboot.entries.length, 100);
    await again.stop();
  } finally {
    removeDir(dataDir);
  }
});

test('deterministic: an append before boot crashes the actor with a usage error', async (t) => {
  const dataDir = tempDir();
  try {
    const s = system('deterministic', dataDir);
    await s.start();
    s.ref<WalProtocol>('wal').tell(append(1, 1, 1));
    await s.sim!.runUntilIdle();
    const failure = await s.failed();
    t.regex(failure.message, /before boot/);
    await s.stop();
  } finally {
    removeDir(dataDir);
  }
});
