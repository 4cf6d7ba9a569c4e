// The raft actor shell in a real ActorSystem: three members, each with an in-memory WAL that answers late (group
// commit on a timer), an applier and a loopback network, plus a client. Once under the deterministic scheduler
// (simulated time, seeded interleaving: a run replays exactly), once on worker threads.
import test from 'ava';
import { ActorSystem } from '../../runtime/system.js';
import type { NodeId } from '../../actors/raft/core/types.js';
import type { RaftProtocol, RaftShellConfig, ShellStatus } from '../../actors/raft/protocol.js';
import { Errors } from '../../actors/api/errors.js';
import type { ApplyRecorderProtocol } from './fixtures/apply-recorder.js';
import type { RaftClientProtocol } from './fixtures/raft-client.js';
import type { MemoryWalProtocol } from './fixtures/memory-wal.js';
import type { LoopNetworkProtocol } from './fixtures/loop-network.js';
import type { SnapshotSourceProtocol } from './fixtures/snapshot-source.js';

const raftModule = new URL('../../actors/raft/actor.js', import.meta.url);
const walModule = new URL('./fixtures/memory-wal.js', import.meta.url);
const applyModule = new URL('./fixtures/apply-recorder.js', import.meta.url);
const netModule = new URL('./fixtures/loop-network.js', import.meta.url);
const clientModule = new URL('./fixtures/raft-client.js', import.meta.url);
const snapshotModule = new URL('./fixtures/snapshot-source.js', import.meta.url);

const ids: NodeId[] = ['00000000000000a1', '00000000000000a2', '00000000000000a3'];

function buildSystem(mode: 'deterministic' | 'threads', seed: number, extra: Partial<RaftShellConfig> = {}): ActorSystem {
  const system = new ActorSystem({ mode, seed, logLevel: 'error', stopOrder: ['client', 'raft-0', 'raft-1', 'raft-2'] });
  const routes: Record<NodeId, string> = {};
  ids.forEach((id, i) => (routes[id] = `raft-${i}`));
  system.add({ name: 'net', module: netModule, config: { routes } });
  system.add({ name: 'snap', module: snapshotModule, config: { routes } });
  ids.forEach((_, i) => {
    system.add({ name: `wal-${i}`, module: walModule, config: { delayMs: 2 + i } });
    system.add({ name: `apply-${i}`, module: applyModule, config: { raft: `raft-${i}` } });
  });
  ids.forEach((id, i) => {
    const config: RaftShellConfig = {
      memberId: id,
      initialVoters: ids,
      tickMs: 100,
      actors: { wal: `wal-${i}`, transport: 'net', apply: [`apply-${i}`], notify: [], snapshot: 'snap' },
      ...extra,
    };
    system.add({ name: `raft-${i}`, module: raftModule, config });
  });
  system.add({ name: 'client', module: clientModule });
  return system;
}

async function statuses(system: ActorSystem, settle: (p: Promise<unknown>) => Promise<void>): Promise<ShellStatus[]> {
  const out: ShellStatus[] = [];
  for (let i = 0; i < ids.length; i++) {
    const p = system.ref<RaftProtocol>(`raft-${i}`).ask({ type: 'status' });
    await settle(p);
    out.push(await p);
  }
  return out;
}

async function deterministicRun(seed: number): Promise<{ trace: string[]; applied: number; hashes: number[] }> {
  const system = buildSystem('deterministic', seed);
  await system.start();
  const sim = system.sim!;
  const settle = async (p: Promise<unknown>) => {
    await sim.runWhile(p);
  };
  try {
    await sim.advance(3_000); // elections run on simulated ticks
    const before = await statuses(system, settle);
    const leaders = before.filter((s) => s.role === 'leader');
    if (leaders.length !== 1) throw new Error(`expected one leader, got ${leaders.length}`);
    const client = system.ref<RaftClientProtocol>('client');
    // proposals through every member: followers forward to the leader
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < ids.length; i++) client.tell({ type: 'propose', to: `raft-${i}`, from: 1 + round * 300 + i * 100, count: 100, bytes: 64 });
      await sim.advance(50);
    }
    await sim.advance(1_000);
    const report = client.ask({ type: 'report' });
    await settle(report);
    const r = await report;
    if (r.failed.length > 0) throw new Error(`proposals failed: ${JSON.stringify(r.failed.slice(0, 3))}`);
    const after = await statuses(system, settle);
    const hashes: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const p = system.ref<ApplyRecorderProtocol>(`apply-${i}`).ask({ type: 'report' });
      await settle(p);
      const a = await p;
      if (a.payloads !== 1500) throw new Error(`applier ${i} applied ${a.payloads} proposals`);
      hashes.push(a.hash);
    }
    if (r.applied.length !== 1500) throw new Error(`client saw ${r.applied.length} applied`);
    if (after.some((s) => s.commit !== after[0]!.commit)) throw new Error('commit indexes differ');
    return { trace: [...sim.trace], applied: r.applied.length, hashes };
  } finally {
    await system.stop();
  }
}

test('deterministic: three shells elect a leader and commit proposals from every member, identically on replay', async (t) => {
  const a = await deterministicRun(7);
  t.is(a.applied, 1500);
  t.is(new Set(a.hashes).size, 1, 'every member applied the same entries');
  const b = await deterministicRun(7);
  t.deepEqual(b.trace, a.trace, 'one seed, one trace');
  t.deepEqual(b.hashes, a.hashes);
  const c = await deterministicRun(8);
  t.notDeepEqual(c.trace, a.trace);
});

test('deterministic: batching turns a turn of proposals into one WAL append and one apply batch', async (t) => {
  const system = buildSystem('deterministic', 3);
  await system.start();
  const sim = system.sim!;
  try {
    await sim.advance(3_000);
    const st = await (async () => {
      const out: ShellStatus[] = [];
      for (let i = 0; i < 3; i++) {
        const p = system.ref<RaftProtocol>(`raft-${i}`).ask({ type: 'status' });
        await sim.runWhile(p);
        out.push(await p);
      }
      return out;
    })();
    const leader = st.findIndex((s) => s.role === 'leader');
    t.true(leader >= 0);
    const walReport = async () => {
      const p = system.ref<MemoryWalProtocol>(`wal-${leader}`).ask({ type: 'report' });
      await sim.runWhile(p);
      return p;
    };
    const applyReport = async () => {
      const p = system.ref<ApplyRecorderProtocol>(`apply-${leader}`).ask({ type: 'report' });
      await sim.runWhile(p);
      return p;
    };
    const walBefore = await walReport();
    const applyBefore = await applyReport();
    const client = system.ref<RaftClientProtocol>('client');
    // 20 propose messages of 50 each, all handled by the leader in one turn
    for (let k = 0; k < 20; k++) client.tell({ type: 'propose', to: `raft-${leader}`, from: 1 + k * 50, count: 50, bytes: 32 });
    await sim.advance(500);
    const walAfter = await walReport();
    const applyAfter = await applyReport();
    t.is(applyAfter.payloads - applyBefore.payloads, 1000);
    // one append for the 1,000 entries (plus at most a couple for commit-only hard states)
    t.true(walAfter.appends - walBefore.appends <= 4, `appends: ${walAfter.appends - walBefore.appends}`);
    t.true(applyAfter.batches - applyBefore.batches <= 2, `apply batches: ${applyAfter.batches - applyBefore.batches}`);
    const report = client.ask({ type: 'report' });
    await sim.runWhile(report);
    const r = await report;
    t.is(r.applied.length, 1000);
    t.true(r.resultMessages <= 3, `results came in ${r.resultMessages} messages`);
  } finally {
    await system.stop();
  }
});

test('deterministic: reads get a safe index; an isolated member fails proposals and reads with "no leader"', async (t) => {
  const system = buildSystem('deterministic', 11);
  await system.start();
  const sim = system.sim!;
  const ask = async <T>(p: Promise<T>): Promise<T> => {
    await sim.runWhile(p);
    return p;
  };
  try {
    await sim.advance(3_000);
    const st: ShellStatus[] = [];
    for (let i = 0; i < 3; i++) st.push(await ask(system.ref<RaftProtocol>(`raft-${i}`).ask({ type: 'status' })));
    const leader = st.findIndex((s) => s.role === 'leader');
    const follower = (leader + 1) % 3;
    const client = system.ref<RaftClientProtocol>('client');
    client.tell({ type: 'propose', to: `raft-${leader}`, from: 1, count: 10, bytes: 16 });
    await sim.advance(300);
    const commitBefore = (await ask(system.ref<RaftProtocol>(`raft-${leader}`).ask({ type: 'status' }))).commit;
    client.tell({ type: 'read', to: `raft-${follower}`, from: 1000, count: 5 });
    client.tell({ type: 'read', to: `raft-${leader}`, from: 2000, count: 5 });
    await sim.advance(300);
    let r = await ask(client.ask({ type: 'report' }));
    t.is(r.reads.length, 10, 'every read got an index');
    t.true(r.reads.every((x) => x.index >= commitBefore), 'read index covers everything committed before the read');
    t.is(new Set(r.reads.filter((x) => x.id < 2000).map((x) => x.index)).size, 1, "one round served the follower's reads");

    // cut the follower off: after an election timeout it knows no leader
    system.ref<LoopNetworkProtocol>('net').tell({ type: 'isolate', members: [ids[follower]!] });
    await sim.advance(4_000);
    client.tell({ type: 'propose', to: `raft-${follower}`, from: 5000, count: 3, bytes: 16 });
    client.tell({ type: 'read', to: `raft-${follower}`, from: 6000, count: 2 });
    await sim.advance(8_000);
    r = await ask(client.ask({ type: 'report' }));
    const failed = r.failed.filter((f) => f.id >= 5000);
    t.is(failed.length, 3);
    t.true(failed.every((f) => f.message === Errors.noLeader.message && f.code === Errors.noLeader.code), JSON.stringify(failed));
    const readsFailed = r.readsFailed.filter((f) => f.id >= 6000);
    t.is(readsFailed.length, 2);
    t.true(readsFailed.every((f) => f.message === Errors.noLeader.message), JSON.stringify(readsFailed));
  } finally {
    await system.stop();
  }
});

test('deterministic: membership change and leadership transfer through the shell', async (t) => {
  const system = buildSystem('deterministic', 5);
  await system.start();
  const sim = system.sim!;
  const ask = async <T>(p: Promise<T>): Promise<T> => {
    await sim.runWhile(p);
    return p;
  };
  try {
    await sim.advance(3_000);
    const st: ShellStatus[] = [];
    for (let i = 0; i < 3; i++) st.push(await ask(system.ref<RaftProtocol>(`raft-${i}`).ask({ type: 'status' })));
    const leader = st.findIndex((s) => s.role === 'leader');
    const other = (leader + 2) % 3;
    // add a learner that does not exist (it will never catch up, which is fine for a learner)
    const learner = '00000000000000b1';
    const added = await ask(system.ref<RaftProtocol>(`raft-${other}`).ask({ type: 'changeMembership', change: { op: 'addLearner', nodeId: learner } }, { timeoutMs: 60_000 }));
    t.deepEqual(added.confState.learners, [learner]);
    // promoting it is refused: it has not caught up
    const refused = await t.throwsAsync(ask(system.ref<RaftProtocol>(`raft-${leader}`).ask({ type: 'changeMembership', change: { op: 'promote', nodeId: learner } }, { timeoutMs: 60_000 })));
    t.is(refused?.message, Errors.learnerNotReady.message);
    const removed = await ask(system.ref<RaftProtocol>(`raft-${leader}`).ask({ type: 'changeMembership', change: { op: 'remove', nodeId: learner } }, { timeoutMs: 60_000 }));
    t.deepEqual(removed.confState.learners, []);
    const missing = await t.throwsAsync(ask(system.ref<RaftProtocol>(`raft-${leader}`).ask({ type: 'changeMembership', change: { op: 'remove', nodeId: learner } })));
    t.is(missing?.message, Errors.memberNotFound.message);
    // leadership moves where we ask
    const moved = await ask(system.ref<RaftProtocol>(`raft-${leader}`).ask({ type: 'transferLeadership', to: ids[other]! }, { timeoutMs: 60_000 }));
    t.is(moved.leader, ids[other]);
    const now = await ask(system.ref<RaftProtocol>(`raft-${other}`).ask({ type: 'status' }));
    t.is(now.role, 'leader');
    const bad = await t.throwsAsync(ask(system.ref<RaftProtocol>(`raft-${other}`).ask({ type: 'transferLeadership', to: learner })));
    t.is(bad?.message, Errors.badLeaderTransferee.message);
  } finally {
    await system.stop();
  }
});

test('deterministic: a follower back from a partition gets a snapshot through the snapshot source and catches up', async (t) => {
  const system = buildSystem('deterministic', 9, { keepEntriesAfterSnapshot: 0 });
  await system.start();
  const sim = system.sim!;
  const ask = async <T>(p: Promise<T>): Promise<T> => {
    await sim.runWhile(p);
    return p;
  };
  try {
    await sim.advance(3_000);
    const st: ShellStatus[] = [];
    for (let i = 0; i < 3; i++) st.push(await ask(system.ref<RaftProtocol>(`raft-${i}`).ask({ type: 'status' })));
    const leader = st.findIndex((s) => s.role === 'leader');
    const away = (leader + 1) % 3;
    const net = system.ref<LoopNetworkProtocol>('net');
    net.tell({ type: 'isolate', members: [ids[away]!] });
    const client = system.ref<RaftClientProtocol>('client');
    client.tell({ type: 'propose', to: `raft-${leader}`, from: 1, count: 300, bytes: 40 });
    await sim.advance(500);
    const before = await ask(system.ref<RaftProtocol>(`raft-${leader}`).ask({ type: 'status' }));
    // the snapshot actor saved a snapshot at the applied index: the leader drops its log up to there
    system.ref<RaftProtocol>(`raft-${leader}`).tell({ type: 'snapshotSaved', index: before.appliedByAll });
    await sim.advance(100);
    const compacted = await ask(system.ref<RaftProtocol>(`raft-${leader}`).ask({ type: 'status' }));
    t.is(compacted.firstIndex, before.appliedByAll + 1);
    const walLeader = await ask(system.ref<MemoryWalProtocol>(`wal-${leader}`).ask({ type: 'report' }));
    t.is(walLeader.snapshotIndex, before.appliedByAll, 'the WAL got a snapshot marker');
    t.is(walLeader.released, before.appliedByAll, 'and may release what the snapshot covers');
    net.tell({ type: 'isolate', members: [] });
    client.tell({ type: 'propose', to: `raft-${leader}`, from: 1000, count: 10, bytes: 40 });
    await sim.advance(3_000);
    const shipped = await ask(system.ref<SnapshotSourceProtocol>('snap').ask({ type: 'report' }));
    t.deepEqual(shipped.sent, [before.appliedByAll]);
    const follower = await ask(system.ref<RaftProtocol>(`raft-${away}`).ask({ type: 'status' }));
    const now = await ask(system.ref<RaftProtocol>(`raft-${leader}`).ask({ type: 'status' }));
    t.is(follower.commit, now.commit);
    t.is(follower.firstIndex, before.appliedByAll + 1);
    const applier = await ask(system.ref<ApplyRecorderProtocol>(`apply-${away}`).ask({ type: 'report' }));
    t.is(applier.snapshots, 1, 'the applier restored from the snapshot');
    t.is(applier.applied, now.commit, 'and applied everything after it');
    const wal = await ask(system.ref<MemoryWalProtocol>(`wal-${away}`).ask({ type: 'report' }));
    t.is(wal.snapshotIndex, before.appliedByAll);
    const report = await ask(client.ask({ type: 'report' }));
    t.is(report.applied.length, 310);
  } finally {
    await system.stop();
  }
});

test('threads: three shells on worker threads elect a leader and commit proposals', async (t) => {
  // Generous timing: on a loaded machine a starved worker must not miss an election timeout and fail the test;
  // what this test proves is that the shell works on real workers, not how fast.
  const system = buildSystem('threads', 1, { electionTicks: 50, proposalTimeoutMs: 30_000 });
  await system.start();
  try {
    const deadline = Date.now() + 60_000;
    let leader = -1;
    while (leader < 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 3; i++) {
        const s = await system.ref<RaftProtocol>(`raft-${i}`).ask({ type: 'status' });
        if (s.role === 'leader') leader = i;
      }
    }
    t.true(leader >= 0, 'a leader was elected');
    const client = system.ref<RaftClientProtocol>('client');
    for (let i = 0; i < 3; i++) client.tell({ type: 'propose', to: `raft-${i}`, from: 1 + i * 1000, count: 500, bytes: 128 });
    let report = await client.ask({ type: 'report' });
    while (report.applied.length + report.failed.length < 1500 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      report = await client.ask({ type: 'report' });
    }
    t.deepEqual(report.failed, []);
    t.is(report.applied.length, 1500);
    const hashes = new Set<number>();
    for (let i = 0; i < 3; i++) {
      let a = await system.ref<ApplyRecorderProtocol>(`apply-${i}`).ask({ type: 'report' });
      while (a.payloads < 1500 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        a = await system.ref<ApplyRecorderProtocol>(`apply-${i}`).ask({ type: 'report' });
      }
      t.is(a.payloads, 1500);
      hashes.add(a.hash);
    }
    t.is(hashes.size, 1, 'every member applied the same entries');
  } finally {
    await system.stop();
  }
  t.is(system.threadsAlive(), 0);
});
