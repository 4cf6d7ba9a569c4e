// The mvcc actor shell: batching of outcomes, reads gated on the applied index, watch traffic, asks, snapshot
// streaming and restore — under the deterministic scheduler, plus one run on a real worker thread.
import test from 'ava';
import type { ActorFactory } from '../../runtime/actor.js';
import { ActorSystem } from '../../runtime/system.js';
import { RemoteError } from '../../runtime/errors.js';
import type { ApplyOutcome } from '../../actors/api/internal.js';
import type { RangeResponse } from '../../actors/api/types.js';
import mvccActor from '../../actors/mvcc/actor.js';
import type { MvccConfig, MvccOutput, MvccProtocol, ReadRequest } from '../../actors/mvcc/protocol.js';
import { b, entry, kvList, noop } from './helpers.js';

type Logged = { type: string } & Record<string, unknown>;

/** An actor that records what it receives, and forwards on request (so replies come back to it). */
function recorder(log: Logged[]): ActorFactory {
  return (ctx) => ({
    receive(message: Logged) {
      if (message.type === 'forward') {
        ctx.ref(message.to as string).tell(message.message as { type: string });
        return undefined;
      }
      log.push(message);
      return undefined;
    },
  });
}

const config: MvccConfig = { memberId: 'm1', clusterId: 'c1', responder: 'gateway', raft: 'raft', progressNotifyIntervalMs: 1000 };

async function deterministic() {
  const gateway: Logged[] = [];
  const raft: Logged[] = [];
  const system = new ActorSystem({ mode: 'deterministic', seed: 7, logLevel: 'error' });
  system.add({ name: 'gateway', factory: recorder(gateway) });
  system.add({ name: 'raft', factory: recorder(raft) });
  system.add({ name: 'mvcc', factory: mvccActor, config });
  system.add({ name: 'replica', factory: mvccActor, config: { ...config, raft: undefined } });
  await system.start();
  const sim = system.sim!;
  const mvcc = system.ref<MvccProtocol>('mvcc');
  const ask = async <T>(p: Promise<T>): Promise<T> => {
    await sim.runWhile(p);
    return p;
  };
  const outputs = () => gateway.filter((m): m is Logged & MvccOutput => m.type === 'mvccOutput');
  const viaGateway = (message: unknown) => system.ref('gateway').tell({ type: 'forward', to: 'mvcc', message } as never);
  return { system, sim, mvcc, gateway, raft, ask, outputs, viaGateway };
}

test('committed entries: this member gets its outcomes in one message per turn; raft gets the applied index', async (t) => {
  const { system, sim, mvcc, raft, outputs } = await deterministic();
  try {
    mvcc.tell({
      type: 'committed',
      entries: [
        noop(1, 2),
        entry(2, { type: 'put', req: { key: b('a'), value: b('1') } }, { id: 11, term: 2 }),
        entry(3, { type: 'put', req: { key: b('b'), value: b('2') } }, { id: 12, member: 'm2', term: 2 }),
        entry(4, { type: 'put', req: { key: b('c'), value: b('3') } }, { id: 0, term: 2 }),
        entry(5, { type: 'put', req: { key: b(''), value: b('x') } }, { id: 15, term: 2 }),
      ],
    });
    mvcc.tell({ type: 'committed', entries: [entry(6, { type: 'deleteRange', req: { key: b('a'), prevKv: true } }, { id: 16, term: 3 })] });
    await sim.runUntilIdle();
    const out = outputs();
    t.is(out.length, 1, 'two batches in one turn, one message');
    t.is(out[0]!.appliedIndex, 6);
    const results = out[0]!.results as ApplyOutcome[];
    t.deepEqual(results.map((r) => r.id), [11, 15, 16]);
    t.deepEqual(results[0], { id: 11, response: { header: { clusterId: 'c1', memberId: 'm1', revision: 2, raftTerm: 2 } } });
    t.deepEqual(results[1], { id: 15, error: { code: 3, message: 'etcdserver: key is not provided' } });
    t.like(results[2], { id: 16, response: { header: { revision: 5, raftTerm: 3 }, deleted: 1 } });
    t.deepEqual(raft, [{ type: 'applied', index: 6 }]);
  } finally {
    await system.stop();
  }
});

test('reads wait for their applied index; serializable ones are served at once', async (t) => {
  const { system, sim, mvcc, outputs, viaGateway } = await deterministic();
  try {
    mvcc.tell({ type: 'committed', entries: [entry(1, { type: 'put', req: { key: b('k'), value: b('old') } })] });
    const reads: ReadRequest[] = [
      { id: 1, minAppliedIndex: 2, op: { type: 'range', req: { key: b('k') } } },
      { id: 2, minAppliedIndex: 0, op: { type: 'range', req: { key: b('k') } } },
      { id: 3, minAppliedIndex: 0, op: { type: 'range', req: { key: b('k'), revision: 99 } } },
      { id: 4, minAppliedIndex: 0, op: { type: 'txn', req: { compare: [], success: [{ requestRange: { key: b('k') } }], failure: [] } } },
    ];
    viaGateway({ type: 'read', reads });
    await sim.runUntilIdle();
    let answered = outputs().flatMap((o) => o.reads);
    t.deepEqual(answered.map((r) => r.id), [2, 3, 4]);
    t.deepEqual(kvList((answered[0] as { response: RangeResponse }).response.kvs), ['k=old@2']);
    t.deepEqual(answered[1], { id: 3, error: { code: 11, message: 'etcdserver: mvcc: required revision is a future revision' } });
    mvcc.tell({ type: 'committed', entries: [entry(2, { type: 'put', req: { key: b('k'), value: b('new') } }, { member: 'm9' })] });
    await sim.runUntilIdle();
    answered = outputs().flatMap((o) => o.reads);
    t.deepEqual(answered.map((r) => r.id), [2, 3, 4, 1]);
    t.deepEqual(kvList((answered[3] as { response: RangeResponse }).response.kvs), ['k=new@3']);
  } finally {
    await system.stop();
  }
});

test('watch traffic goes through the responder in delivery order; progress notifications come on the timer', async (t) => {
  const { system, sim, mvcc, outputs, viaGateway } = await deterministic();
  try {
    const entries = Array.from({ length: 30 }, (_, i) => entry(i + 1, { type: 'put', req: { key: b(`w${i % 3}`), value: b(`${i}`) } }));
    mvcc.tell({ type: 'committed', entries });
    await sim.runUntilIdle();
    viaGateway({
      type: 'watch',
      requests: [
        { type: 'create', streamId: 5, req: { key: b('w'), rangeEnd: b('x'), startRevision: 2 } },
        { type: 'create', streamId: 5, req: { key: b('w0'), progressNotify: true } },
      ],
    });
    await sim.runUntilIdle();
    mvcc.tell({ type: 'committed', entries: [entry(31, { type: 'put', req: { key: b('w1'), value: b('late') } })] });
    await sim.advance(0);
    const watch = outputs().flatMap((o) => o.watch);
    t.like(watch[0], { kind: 'response', streamId: 5, response: { watchId: 0, created: true } });
    t.like(watch[1], { kind: 'response', streamId: 5, response: { watchId: 1, created: true } });
    const events = watch.filter((w) => w.kind === 'events').flatMap((w) => (w.kind === 'events' ? w.events.map((e) => e.kv.modRevision) : []));
    t.deepEqual(events, Array.from({ length: 31 }, (_, i) => i + 2), 'catch-up then live, nothing missing or repeated');
    const before = outputs().length;
    await sim.advance(1000);
    const progress = outputs().slice(before).flatMap((o) => o.watch);
    t.like(progress, [{ kind: 'events', events: [], streamIds: [5], watchIds: [1] }]);
    viaGateway({ type: 'watch', requests: [{ type: 'cancel', streamId: 5, watchId: 0 }, { type: 'progress', streamId: 5 }] });
    await sim.runUntilIdle();
    t.like(outputs().at(-1)!.watch, [
      { kind: 'response', response: { watchId: 0, canceled: true } },
      { kind: 'response', response: { watchId: -1, header: { revision: 32 } } },
    ]);
    const status = await (async () => {
      const p = mvcc.ask({ type: 'status' });
      await sim.runWhile(p);
      return p;
    })();
    t.like(status, { revision: 32, appliedIndex: 31, keys: 3, watch: { streams: 1, synced: 1, unsynced: 0, victims: 0 } });
  } finally {
    await system.stop();
  }
});

test('asks: hashKV and its errors, the lease table', async (t) => {
  const { system, mvcc, ask } = await deterministic();
  try {
    mvcc.tell({
      type: 'committed',
      entries: [entry(1, { type: 'leaseGrant', req: { ID: 5n, TTL: 20 } }), entry(2, { type: 'put', req: { key: b('a'), value: b('1'), lease: 5n } }), entry(3, { type: 'compaction', req: { revision: 2 } })],
    });
    const hash = await ask(mvcc.ask({ type: 'hashKV', revision: 0 }));
    t.like(hash, { compactRevision: 2, revision: 2 });
    t.is(typeof hash.hash, 'number');
    const error = await t.throwsAsync(ask(mvcc.ask({ type: 'hashKV', revision: 1 })), { instanceOf: RemoteError });
    t.is((error as RemoteError).code, 11);
    t.is(error?.message, 'etcdserver: mvcc: required revision has been compacted');
    t.deepEqual(await ask(mvcc.ask({ type: 'leases' })), [{ ID: 5n, grantedTTL: 20, remainingMs: 0 }]);
  } finally {
    await system.stop();
  }
});

test('snapshot: stream the image in pulls, restore it into another member, same hash and history', async (t) => {
  const { system, sim, mvcc, gateway, ask } = await deterministic();
  try {
    const big = new Uint8Array(200_000).fill(3);
    const entries = Array.from({ length: 40 }, (_, i) => entry(i + 1, { type: 'put', req: { key: b(`k${i % 13}`), value: big } }, { term: 4 }));
    mvcc.tell({ type: 'committed', entries });
    const opened = await ask(mvcc.ask({ type: 'imageOpen' }));
    t.like(opened, { revision: 41, appliedIndex: 40, raftTerm: 4 });
    // the store moves on while the image is read: the image still describes revision 41
    mvcc.tell({ type: 'committed', entries: [entry(41, { type: 'put', req: { key: b('after'), value: b('x') } })] });
    const chunks: Uint8Array[] = [];
    for (;;) {
      const pulled = await ask(mvcc.ask({ type: 'imagePull', streamId: opened.streamId, maxChunks: 2 }));
      t.true(pulled.chunks.length <= 2);
      chunks.push(...pulled.chunks);
      if (pulled.done) break;
    }
    t.true(chunks.length > 4);
    await t.throwsAsync(ask(mvcc.ask({ type: 'imagePull', streamId: opened.streamId, maxChunks: 1 })), { message: /no image stream/ });
    const replica = system.ref<MvccProtocol>('replica');
    const toReplica = (message: unknown) => system.ref('gateway').tell({ type: 'forward', to: 'replica', message } as never);
    // a watcher on the (empty) replica before the restore, and one asked for while it runs
    toReplica({ type: 'watch', requests: [{ type: 'create', streamId: 8, req: { key: b('\0'), rangeEnd: b('\0') } }] });
    await ask(replica.ask({ type: 'status' }));
    await ask(replica.ask({ type: 'restoreBegin' }));
    toReplica({ type: 'watch', requests: [{ type: 'create', streamId: 9, req: { key: b('after') } }] });
    // entries that arrive during the restore wait for it
    replica.tell({ type: 'committed', entries: [entry(41, { type: 'put', req: { key: b('after'), value: b('x') } })] });
    for (let i = 0; i < chunks.length; i += 3) await ask(replica.ask({ type: 'restoreChunks', chunks: chunks.slice(i, i + 3) }));
    t.deepEqual(await ask(replica.ask({ type: 'restoreEnd' })), { revision: 42, appliedIndex: 41 });
    t.deepEqual(await ask(replica.ask({ type: 'hashKV', revision: 0 })), await ask(mvcc.ask({ type: 'hashKV', revision: 0 })));
    t.deepEqual(await ask(replica.ask({ type: 'hashKV', revision: 30 })), await ask(mvcc.ask({ type: 'hashKV', revision: 30 })));
    // the early watcher caught up from the restored history, the late one sees the held entry: nothing lost
    await sim.advance(0);
    const replicaWatch = gateway.filter((m) => m.type === 'mvccOutput').flatMap((m) => (m as unknown as MvccOutput).watch);
    const byStream = (streamId: number) =>
      replicaWatch.filter((w) => w.kind === 'events' && w.streamIds.includes(streamId)).flatMap((w) => (w.kind === 'events' ? w.events.map((e) => e.kv.modRevision) : []));
    t.deepEqual(byStream(8), Array.from({ length: 41 }, (_, i) => i + 2));
    // requests held during the restore are handled after the held entries: the late watcher starts after them
    t.deepEqual(byStream(9), []);
    replica.tell({ type: 'committed', entries: [entry(42, { type: 'put', req: { key: b('after'), value: b('y') } })] });
    await sim.advance(0);
    const late = gateway
      .filter((m) => m.type === 'mvccOutput')
      .flatMap((m) => (m as unknown as MvccOutput).watch)
      .filter((w) => w.kind === 'events' && w.streamIds.includes(9));
    t.deepEqual(late.flatMap((w) => (w.kind === 'events' ? w.events.map((e) => e.kv.modRevision) : [])), [43]);
  } finally {
    await system.stop();
  }
});

test('on a worker thread: entries in, outcomes and watch events out', async (t) => {
  const gateway: Logged[] = [];
  const system = new ActorSystem({ mode: 'threads', logLevel: 'error' });
  system.add({ name: 'gateway', factory: recorder(gateway), thread: 'main' });
  system.add({ name: 'mvcc', module: new URL('../../actors/mvcc/actor.js', import.meta.url), config: { ...config, raft: undefined } });
  await system.start();
  try {
    system.ref('gateway').tell({ type: 'forward', to: 'mvcc', message: { type: 'watch', requests: [{ type: 'create', streamId: 1, req: { key: b('k'), rangeEnd: b('l') } }] } } as never);
    const mvcc = system.ref<MvccProtocol>('mvcc');
    await mvcc.ask({ type: 'status' });
    const count = 5_000;
    for (let i = 0; i < count; i += 500) {
      mvcc.tell({ type: 'committed', entries: Array.from({ length: 500 }, (_, j) => entry(i + j + 1, { type: 'put', req: { key: b(`k${(i + j) % 50}`), value: b('v') } }, { id: i + j + 1 })) });
    }
    const deadline = Date.now() + 20_000;
    const outcomes = () => gateway.flatMap((m) => (m.type === 'mvccOutput' ? (m as unknown as MvccOutput).results : []));
    while (outcomes().length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    t.deepEqual(outcomes().map((o) => o.id), Array.from({ length: count }, (_, i) => i + 1));
    const events = gateway.flatMap((m) => (m.type === 'mvccOutput' ? (m as unknown as MvccOutput).watch : [])).flatMap((w) => (w.kind === 'events' ? w.events : []));
    t.deepEqual(events.map((e) => e.kv.modRevision), Array.from({ length: count }, (_, i) => i + 2));
    t.true(events[0]!.kv.value instanceof Uint8Array);
  } finally {
    await system.stop();
  }
});
