// The watch hub: ordering, completeness and resumption under random workloads with slow streams and compaction,
// and etcd's watch behaviours case by case. "etcd 3.4.23:" notes record what a real etcd 3.4.23 answered through its
// JSON gateway for the same sequence.
import test from 'ava';
import fc from 'fast-check';
import type { WatchCreateRequest, WatchResponse } from '../../actors/api/types.js';
import { EventType, WatchFilter } from '../../actors/api/types.js';
import { prefixEnd } from '../../actors/mvcc/keys.js';
import type { WatchOutput } from '../../actors/mvcc/watch/hub.js';
import { opIntent, resolveOp, revisionIntent, resolveRevision, spanIntent, resolveSpan, type OpIntent, type RevisionIntent, type SpanIntent } from './arbitraries.js';
import { b, str } from './helpers.js';
import { WatchHarness } from './watch-harness.js';

const RUNS = Number(process.env.TETCD_MVCC_RUNS ?? 150);

type WatchOp =
  | { type: 'write'; intent: OpIntent }
  | { type: 'turn' }
  | { type: 'step' }
  | { type: 'create'; stream: number; span: SpanIntent; start: RevisionIntent | null; filter: number; prevKv: boolean }
  | { type: 'cancel'; stream: number; pick: number }
  | { type: 'block'; stream: number; blocked: boolean }
  | { type: 'suspend'; on: boolean };

const stream = fc.integer({ min: 1, max: 3 });
const watchOp: fc.Arbitrary<WatchOp> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ type: fc.constant('write' as const), intent: opIntent }) },
  { weight: 5, arbitrary: fc.constant({ type: 'turn' as const }) },
  { weight: 4, arbitrary: fc.constant({ type: 'step' as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('create' as const),
      stream,
      // wide watches see most writes, so slips at the edges of blocking and catching up show up quickly
      span: fc.oneof(spanIntent, fc.constant<SpanIntent>({ key: '\x00', end: 'all', endKey: 'a' }), fc.constant<SpanIntent>({ key: 'a', end: 'prefix', endKey: 'a' })),
      start: fc.option(revisionIntent, { nil: null }),
      filter: fc.constantFrom(-1, -1, -1, WatchFilter.NOPUT, WatchFilter.NODELETE),
      prevKv: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('cancel' as const), stream, pick: fc.nat(10) }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('block' as const), stream, blocked: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('suspend' as const), on: fc.boolean() }) },
);

function runWatchSequence(ops: WatchOp[]): string[] {
  const h = new WatchHarness({ syncRecordsPerStep: 5, batchRevisionsMax: 3, recipientSetMin: 2 }, 4);
  for (const op of ops) {
    switch (op.type) {
      case 'write': {
        const resolved = resolveOp(op.intent, h.model);
        if (resolved.kind === 'apply') h.apply(resolved.op);
        break;
      }
      case 'turn':
        h.endOfTurn();
        break;
      case 'step':
        h.syncStep();
        break;
      case 'create': {
        const req: WatchCreateRequest = { ...resolveSpan(op.span) };
        if (op.start) {
          const start = resolveRevision(op.start, h.model);
          if (start !== 0) req.startRevision = start;
        }
        if (op.filter >= 0) req.filters = [op.filter as 0 | 1];
        if (op.prevKv) req.prevKv = true;
        h.create(op.stream, req);
        break;
      }
      case 'cancel': {
        const mine = [...h.watchers.values()].filter((w) => w.streamId === op.stream && !w.canceled);
        const w = mine[op.pick % Math.max(1, mine.length)];
        if (w) h.cancel(w.streamId, w.watchId);
        break;
      }
      case 'block':
        h.hub.setStreamBlocked(op.stream, op.blocked);
        break;
      case 'suspend':
        h.hub.setSuspended(op.on);
        break;
    }
  }
  h.hub.setSuspended(false);
  for (const s of [1, 2, 3]) h.hub.setStreamBlocked(s, false);
  h.endOfTurn();
  h.syncAll();
  return h.verify();
}

test('random workloads: every watcher gets exactly its events, in order, through slow streams and compactions', (t) => {
  fc.assert(
    fc.property(fc.array(watchOp, { minLength: 1, maxLength: 150, size: 'max' }), (ops) => {
      const problems = runWatchSequence(ops);
      if (problems.length > 0) throw new Error(problems.join('\n'));
    }),
    { numRuns: RUNS, seed: Number(process.env.TETCD_MVCC_SEED ?? 424_242) },
  );
  t.pass();
});

// ---------------------------------------------------------------- etcd behaviours, case by case

function responses(items: WatchOutput[]): Array<{ streamId: number; response: WatchResponse }> {
  return items.filter((i): i is Extract<WatchOutput, { kind: 'response' }> => i.kind === 'response').map((i) => ({ streamId: i.streamId, response: i.response }));
}


test('create, ids, duplicates and cancel (etcd 3.4.23)', (t) => {
  // etcd 3.4.23 on one stream: create id 7 -> created 7; create auto -> created 0; create id 7 again -> watch id -1,
  // created and canceled with "mvcc: duplicate watch ID provided on the WatchStream"; cancel 7 -> canceled 7;
  // cancel 99 -> no answer.
  const h = new WatchHarness();
  h.create(1, { key: b('t'), watchId: 7 });
  h.create(1, { key: b('t') });
  h.create(1, { key: b('t'), watchId: 7 });
  h.hub.cancel(1, 7);
  h.hub.cancel(1, 99);
  h.create(2, { key: b('t') });
  const r = responses(h.log).map((x) => ({ stream: x.streamId, ...x.response, header: x.response.header.revision }));
  t.deepEqual(r, [
    { stream: 1, header: 1, watchId: 7, created: true, events: [] },
    { stream: 1, header: 1, watchId: 0, created: true, events: [] },
    { stream: 1, header: 1, watchId: -1, created: true, canceled: true, cancelReason: 'mvcc: duplicate watch ID provided on the WatchStream', events: [] },
    { stream: 1, header: 1, watchId: 7, canceled: true, events: [] },
    { stream: 2, header: 1, watchId: 0, created: true, events: [] },
  ]);
  h.create(1, { key: b('t') });
  t.is(responses(h.log).at(-1)!.response.watchId, 1, 'auto ids count on from the last one given');
});

test('a range whose end is not after its key is refused and uses no id (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: create {key b, range_end a} -> watch id -1, created, canceled, "mvcc: watcher range is empty"; the
  // next automatic id is still 0. A "\0" end (from key) is fine.
  const h = new WatchHarness();
  h.create(1, { key: b('b'), rangeEnd: b('a') });
  h.create(1, { key: b('b'), rangeEnd: b('b') });
  h.create(1, { key: b('b'), rangeEnd: b('\0') });
  const r = responses(h.log).map((x) => x.response);
  t.like(r[0], { watchId: -1, created: true, canceled: true, cancelReason: 'mvcc: watcher range is empty' });
  t.like(r[1], { watchId: -1, canceled: true, cancelReason: 'mvcc: watcher range is empty' });
  t.like(r[2], { watchId: 0, created: true });
  t.is(r[2]!.canceled, undefined);
});

test('a start revision below the compaction: created, then canceled with compact_revision and no header revision (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: after compacting at 15, a watch from 1 and a watch from 14 were each answered created (header
  // revision current) then canceled with compact_revision 15 and a header without revision; on a fresh store a
  // watch from -5 was canceled with compact_revision -1.
  const fresh = new WatchHarness();
  fresh.create(1, { key: b('t'), startRevision: -5 });
  fresh.syncAll();
  t.deepEqual(
    responses(fresh.log).map((x) => x.response),
    [
      { header: fresh.store.header(1), watchId: 0, created: true, events: [] },
      { header: fresh.store.header(0), watchId: 0, canceled: true, compactRevision: -1, events: [] },
    ],
  );
  const h = new WatchHarness();
  for (let i = 0; i < 6; i++) h.apply({ type: 'put', req: { key: b(`k${i}`), value: b('v') } });
  h.apply({ type: 'compaction', req: { revision: 5 } });
  h.endOfTurn();
  h.create(1, { key: b('k'), rangeEnd: b('l'), startRevision: 4 });
  h.create(1, { key: b('k'), rangeEnd: b('l'), startRevision: 5 });
  h.syncAll();
  const r = responses(h.log);
  t.deepEqual(r[2]!.response, { header: h.store.header(0), watchId: 0, canceled: true, compactRevision: 5, events: [] });
  const got = h.deliveries();
  t.is(got.length, 1);
  t.deepEqual(got[0]!.watchIds, [1]);
  t.deepEqual(got[0]!.events.map((e) => e.kv.modRevision), [5, 6, 7], 'a watch from the compaction revision itself works');
  t.deepEqual(h.verify(), []);
});

test('catching up from the compaction revision skips the delete at that revision, keeps its puts (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: put t1@17; txn{delete t1, put t2}@18; compact 18; watch all from 18 with prev_kv -> only PUT t2.
  // (The same holds with physical: true, which waits for etcd's background freeing.)
  const h = new WatchHarness();
  h.apply({ type: 'put', req: { key: b('t1'), value: b('x') } });
  h.apply({ type: 'txn', req: { compare: [], success: [{ requestDeleteRange: { key: b('t1') } }, { requestPut: { key: b('t2'), value: b('1') } }], failure: [] } });
  h.apply({ type: 'compaction', req: { revision: 3 } });
  h.endOfTurn();
  h.create(1, { key: b('\0'), rangeEnd: b('\0'), startRevision: 3, prevKv: true });
  h.syncAll();
  const got = h.deliveries();
  t.deepEqual(
    got.flatMap((d) => d.events.map((e) => `${e.type === EventType.PUT ? 'PUT' : 'DELETE'} ${str(e.kv.key)}@${e.kv.modRevision} prev:${e.prevKv ? 'yes' : 'no'}`)),
    ['PUT t2@3 prev:no'],
  );
});

test('catching up from the compaction revision also skips a put that the same txn deleted again', (t) => {
  // etcd 3.4.23: put a@2; txn [put a, put b, delete from a] at 3; put a@4; compaction at 3 with physical: true; a
  // watch from 3 then got only PUT a@4 — compaction keeps, per key, only the newest record at or below 3, and not
  // even that one when it is a delete. (Without physical: true etcd frees those records in the background, and a
  // watcher created at once may still catch them; here compaction is the same on every member, at once.)
  const h = new WatchHarness();
  h.apply({ type: 'txn', req: { compare: [], success: [{ requestPut: { key: b('a'), value: b('1') } }, { requestPut: { key: b('b'), value: b('2') } }, { requestDeleteRange: { key: b('a'), rangeEnd: b('\0') } }], failure: [] } });
  h.apply({ type: 'put', req: { key: b('a'), value: b('3') } });
  h.apply({ type: 'compaction', req: { revision: 2 } });
  h.endOfTurn();
  h.create(1, { key: b('\0'), rangeEnd: b('\0'), startRevision: 2 });
  h.syncAll();
  t.deepEqual(
    h.deliveries().flatMap((d) => d.events.map((e) => `${e.type === EventType.PUT ? 'PUT' : 'DELETE'} ${str(e.kv.key)}@${e.kv.modRevision}`)),
    ['PUT a@3'],
  );
  // (b was deleted by the same from-key delete; it too is gone at 2)
  t.deepEqual(h.verify(), []);
});

test('prev_kv: live events carry the previous state; catch-up at the compaction revision cannot', (t) => {
  const h = new WatchHarness();
  h.create(1, { key: b('a'), prevKv: true });
  h.apply({ type: 'put', req: { key: b('a'), value: b('1') } });
  h.apply({ type: 'put', req: { key: b('a'), value: b('2') } });
  h.apply({ type: 'compaction', req: { revision: 3 } });
  h.endOfTurn();
  const live = h.deliveries().flatMap((d) => d.events);
  t.deepEqual(live.map((e) => (e.prevKv ? str(e.prevKv.value) : null)), [null, '1'], 'delivered before the compaction was carried out');
  h.create(2, { key: b('a'), prevKv: true, startRevision: 3 });
  h.apply({ type: 'deleteRange', req: { key: b('a') } });
  h.syncAll();
  const caught = h.deliveries().filter((d) => d.streamIds[0] === 2).flatMap((d) => d.events);
  t.deepEqual(caught.map((e) => [e.kv.modRevision, e.prevKv ? str(e.prevKv.value) : null]), [
    [3, null],
    [4, '2'],
  ]);
  t.deepEqual(h.verify(), []);
});

test('a watcher resumed from the last revision it saw plus one gets exactly the rest', (t) => {
  const h = new WatchHarness();
  h.create(1, { key: b('k'), rangeEnd: prefixEnd(b('k')) });
  for (let i = 0; i < 40; i++) {
    h.apply({ type: 'put', req: { key: b(`k${i % 7}`), value: b(`${i}`) } });
    if (i % 3 === 0) h.apply({ type: 'deleteRange', req: { key: b(`k${i % 5}`) } });
    if (i % 4 === 0) h.endOfTurn();
  }
  h.endOfTurn();
  const first = h.watchers.get('1/0')!.received.map((r) => r.event);
  const cut = Math.floor(first.length / 2);
  const lastSeen = first[cut - 1]!.kv.modRevision;
  // the events of the last seen revision may continue past the cut; a resumed watch restarts after that revision
  const expectedRest = first.filter((e) => e.kv.modRevision > lastSeen);
  h.create(2, { key: b('k'), rangeEnd: prefixEnd(b('k')), startRevision: lastSeen + 1 });
  h.syncAll();
  t.deepEqual(
    h.watchers.get('2/0')!.received.map((r) => `${r.event.type}${str(r.event.kv.key)}@${r.event.kv.modRevision}`),
    expectedRest.map((e) => `${e.type}${str(e.kv.key)}@${e.kv.modRevision}`),
  );
  t.deepEqual(h.verify(), []);
});

test('compaction while watchers catch up: those it passes are canceled, the others finish', (t) => {
  const h = new WatchHarness({ syncRecordsPerStep: 10, batchRevisionsMax: 10 });
  for (let i = 0; i < 200; i++) h.apply({ type: 'put', req: { key: b(`k${i % 10}`), value: b(`${i}`) } });
  h.endOfTurn();
  h.create(1, { key: b('k'), rangeEnd: b('l'), startRevision: 2 }); // far behind
  h.create(2, { key: b('k'), rangeEnd: b('l'), startRevision: 150 }); // close to the present
  h.syncStep();
  h.syncStep();
  const behind = h.watchers.get('1/0')!;
  t.true(behind.received.length > 0 && behind.received.length < 100, `${behind.received.length} events after two steps`);
  h.apply({ type: 'compaction', req: { revision: 120 } });
  h.endOfTurn();
  h.syncAll();
  t.is(behind.canceled?.compactRevision, 120);
  t.is(h.watchers.get('2/0')!.canceled, undefined);
  t.is(h.watchers.get('2/0')!.received.length, 52);
  t.deepEqual(h.verify(), []);
  // catch-up steps stay bounded: no delivery spans more than the allowed revisions
  for (const d of h.deliveries()) {
    const revisions = new Set(d.events.map((e) => e.kv.modRevision));
    t.true(revisions.size <= 10);
  }
});

test('a blocked stream gets nothing, costs nothing, and resumes without loss; others are not held up', (t) => {
  const h = new WatchHarness();
  h.create(1, { key: b('k'), rangeEnd: b('l') });
  h.create(2, { key: b('k'), rangeEnd: b('l') });
  h.apply({ type: 'put', req: { key: b('k1'), value: b('a') } });
  h.endOfTurn();
  h.hub.setStreamBlocked(1, true);
  for (let i = 0; i < 50; i++) {
    h.apply({ type: 'put', req: { key: b(`k${i % 4}`), value: b(`${i}`) } });
    h.endOfTurn();
    h.syncStep();
  }
  t.is(h.watchers.get('1/0')!.received.length, 1, 'nothing sent while blocked');
  t.is(h.watchers.get('2/0')!.received.length, 51, 'the other stream kept up');
  t.deepEqual(h.hub.stats(), { streams: 2, synced: 1, unsynced: 0, victims: 1, syncedGroups: 1 });
  h.hub.setStreamBlocked(1, false);
  h.syncAll();
  t.is(h.watchers.get('1/0')!.received.length, 51);
  t.deepEqual(h.hub.stats().victims, 0);
  // blocked again, and compaction passes it: canceled on resume
  h.hub.setStreamBlocked(1, true);
  h.apply({ type: 'put', req: { key: b('k9'), value: b('z') } });
  h.apply({ type: 'put', req: { key: b('k9'), value: b('zz') } });
  h.apply({ type: 'compaction', req: { revision: h.store.revision } });
  h.endOfTurn();
  h.hub.setStreamBlocked(1, false);
  h.syncAll();
  t.is(h.watchers.get('1/0')!.canceled?.compactRevision, h.store.revision);
  t.deepEqual(h.verify(), []);
});

test('one event for many watchers of one prefix is one delivery sharing one events array and one recipient set', (t) => {
  const h = new WatchHarness();
  for (let s = 1; s <= 1000; s++) h.create(s, { key: b('p/'), rangeEnd: prefixEnd(b('p/')) });
  for (let s = 1; s <= 10; s++) h.create(s, { key: b('p/'), rangeEnd: prefixEnd(b('p/')), prevKv: true });
  const mark = h.log.length;
  h.apply({ type: 'put', req: { key: b('p/x'), value: b('1') } });
  h.endOfTurn();
  const got = h.deliveries(mark);
  t.is(got.length, 2, 'one delivery per class of watchers');
  t.is(got[0]!.streamIds.length + got[1]!.streamIds.length, 1010);
  const big = got.find((d) => d.streamIds.length === 1000)!;
  t.is(big.events[0]!.prevKv, undefined);
  t.not(big.setId, 0, 'the large class goes by a shared set');
  t.is(got.find((d) => d.streamIds.length === 10)!.setId, 0, 'a small class is addressed inline');
  // the next event reuses the set: nothing about the recipients travels again
  const mark2 = h.log.length;
  h.apply({ type: 'put', req: { key: b('p/y'), value: b('2') } });
  h.endOfTurn();
  const second = h.log.slice(mark2);
  t.deepEqual(second.map((i) => i.kind), ['events', 'events']);
  t.is(second.find((i) => i.kind === 'events' && i.setId === big.setId) !== undefined, true);
  // a membership change resends the set once; the last watcher leaving forgets it
  h.cancel(1, 0);
  const mark3 = h.log.length;
  h.apply({ type: 'put', req: { key: b('p/z'), value: b('3') } });
  h.endOfTurn();
  t.deepEqual(h.log.slice(mark3).map((i) => i.kind), ['recipients', 'events', 'events']);
  for (let s = 2; s <= 1000; s++) h.cancel(s, 0);
  t.true(h.log.some((i) => i.kind === 'forget' && i.setId === big.setId));
  t.is(h.sets.size, 0);
  t.deepEqual(h.verify(), []);
});

test('fragments: a large response is split for watchers that asked, with fragment set on all but the last piece', (t) => {
  const h = new WatchHarness({ fragmentBytes: 1000 });
  const value = b('v'.repeat(300));
  for (let i = 0; i < 10; i++) h.apply({ type: 'put', req: { key: b(`f${i}`), value } });
  h.endOfTurn();
  h.create(1, { key: b('f'), rangeEnd: b('g'), startRevision: 1, fragment: true });
  h.create(2, { key: b('f'), rangeEnd: b('g'), startRevision: 1 });
  h.syncAll();
  const pieces = h.deliveries().filter((d) => d.streamIds[0] === 1);
  t.true(pieces.length >= 4, `${pieces.length} pieces`);
  t.deepEqual(pieces.map((p) => p.fragment), [...pieces.slice(1).map(() => true), false]);
  t.is(pieces.flatMap((p) => p.events).length, 10);
  for (const p of pieces) t.true(p.events.length >= 1 && p.events.length <= 3);
  const whole = h.deliveries().filter((d) => d.streamIds[0] === 2);
  t.is(whole.length, 1);
  t.is(whole[0]!.events.length, 10);
  t.deepEqual(h.verify(), []);
});

test('progress: requests answer with watch id -1 and the current revision; periodic ones go to idle synced watchers (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: a progress_request on a stream with or without watchers answered {"watch_id":"-1"} with the current
  // revision; with --experimental-watch-progress-notify-interval, a watcher with progress_notify and no traffic got
  // {"header":{...revision}} (watch id 0 omitted, no events) each interval.
  const h = new WatchHarness();
  h.hub.requestProgress(9);
  t.deepEqual(h.hub.takeOutput(), [{ kind: 'response', streamId: 9, response: { header: h.store.header(1), watchId: -1, events: [] } }]);
  h.create(1, { key: b('a'), progressNotify: true });
  h.create(1, { key: b('b'), progressNotify: true });
  h.create(1, { key: b('c') });
  h.create(2, { key: b('a'), progressNotify: true, startRevision: 50 }); // not synced: no progress
  h.log.length = 0;
  h.apply({ type: 'put', req: { key: b('a'), value: b('1') } });
  h.endOfTurn();
  h.hub.progressTick();
  const tick1 = h.hub.takeOutput();
  t.deepEqual(tick1, [{ kind: 'events', header: h.store.header(2), events: [], fragment: false, setId: 0, streamIds: [1], watchIds: [1] }], 'a saw events this interval');
  h.hub.progressTick();
  const tick2 = h.hub.takeOutput() as Array<Extract<WatchOutput, { kind: 'events' }>>;
  t.deepEqual(tick2.map((d) => d.watchIds), [[0, 1]]);
});

test('a future start revision waits and then delivers from exactly that revision', (t) => {
  const h = new WatchHarness();
  h.create(1, { key: b('k'), rangeEnd: b('l'), startRevision: 5 });
  for (let i = 0; i < 8; i++) {
    h.apply({ type: 'put', req: { key: b('k'), value: b(`${i}`) } });
    h.endOfTurn();
    h.syncStep();
  }
  t.deepEqual(h.watchers.get('1/0')!.received.map((r) => r.event.kv.modRevision), [5, 6, 7, 8, 9]);
  t.deepEqual(h.verify(), []);
});

test('filters: NOPUT and NODELETE', (t) => {
  const h = new WatchHarness();
  h.create(1, { key: b('k'), filters: [WatchFilter.NOPUT] });
  h.create(1, { key: b('k'), filters: [WatchFilter.NODELETE] });
  h.create(1, { key: b('k'), filters: [WatchFilter.NOPUT, WatchFilter.NODELETE] });
  h.apply({ type: 'put', req: { key: b('k'), value: b('1') } });
  h.apply({ type: 'deleteRange', req: { key: b('k') } });
  h.endOfTurn();
  t.deepEqual(h.watchers.get('1/0')!.received.map((r) => r.event.type), [EventType.DELETE]);
  t.deepEqual(h.watchers.get('1/1')!.received.map((r) => r.event.type), [EventType.PUT]);
  t.deepEqual(h.watchers.get('1/2')!.received, []);
});

test('lease revoke: every delete arrives in one delivery at one revision, in key order', (t) => {
  const h = new WatchHarness();
  h.apply({ type: 'leaseGrant', req: { ID: 1n, TTL: 10 } });
  for (const k of ['lz', 'la', 'lm']) h.apply({ type: 'put', req: { key: b(k), value: b('x'), lease: 1n } });
  h.endOfTurn();
  h.create(1, { key: b('l'), rangeEnd: b('m') });
  h.apply({ type: 'leaseRevoke', req: { ID: 1n } });
  h.endOfTurn();
  const d = h.deliveries();
  t.is(d.length, 1);
  t.deepEqual(d[0]!.events.map((e) => `${e.type}:${str(e.kv.key)}@${e.kv.modRevision}`), ['1:la@5', '1:lm@5', '1:lz@5']);
});

test('synced watchers get one delivery per revision applied in a turn, with that revision in the header (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: 20 concurrent puts of one key to a watched key came as 20 responses, each with one event and the
  // event's revision in its header. Past the split bound a turn's events go together under the current revision.
  const h = new WatchHarness({ splitRevisionsMax: 4, recipientSetMin: 2 });
  h.create(1, { key: b('a') });
  h.create(2, { key: b('a') });
  h.create(2, { key: b('a'), rangeEnd: b('c') });
  for (const k of ['a', 'b', 'a']) h.apply({ type: 'put', req: { key: b(k), value: b('x') } });
  h.endOfTurn();
  const perRevision = h.log.filter((i): i is Extract<WatchOutput, { kind: 'events' }> => i.kind === 'events');
  t.deepEqual(
    perRevision.map((d) => [d.header.revision, d.events.map((e) => e.kv.modRevision)]),
    [
      [2, [2]],
      [4, [4]],
      [2, [2]],
      [3, [3]],
      [4, [4]],
    ],
  );
  t.is(perRevision[0]!.header, perRevision[2]!.header, 'one header object per revision, shared by every class');
  const before = h.log.length;
  for (let i = 0; i < 5; i++) h.apply({ type: 'put', req: { key: b('a'), value: b(`${i}`) } });
  h.endOfTurn();
  const burst = h.log.slice(before).filter((i): i is Extract<WatchOutput, { kind: 'events' }> => i.kind === 'events');
  t.deepEqual(burst.map((d) => [d.header.revision, d.events.length]), [
    [9, 5],
    [9, 5],
  ]);
  t.deepEqual(h.verify(), []);
});

test('after a restore, synced watchers catch up from the restored history without gaps', (t) => {
  const source = new WatchHarness();
  for (let i = 0; i < 30; i++) source.apply({ type: 'put', req: { key: b(`k${i % 3}`), value: b(`${i}`) } });
  const h = new WatchHarness();
  for (let i = 0; i < 10; i++) h.apply({ type: 'put', req: { key: b(`k${i % 3}`), value: b(`${i}`) } });
  h.endOfTurn();
  h.create(1, { key: b('k'), rangeEnd: b('l') });
  // the member falls behind and installs the source's snapshot (same history, further along)
  h.store.restore(source.store.image());
  for (let i = 10; i < 30; i++) h.model.apply({ type: 'put', req: { key: b(`k${i % 3}`), value: b(`${i}`) } });
  h.endOfTurn();
  h.syncAll();
  t.deepEqual(h.watchers.get('1/0')!.received.map((r) => r.event.kv.modRevision), Array.from({ length: 20 }, (_, i) => 12 + i));
  t.deepEqual(h.verify(), []);
});

test('limits: creates beyond the watcher or stream bound are refused, not queued', (t) => {
  const h = new WatchHarness({ watchersMax: 2, streamsMax: 2 });
  h.create(1, { key: b('a') });
  h.create(2, { key: b('a') });
  h.create(3, { key: b('a') }); // third stream
  h.create(1, { key: b('b') }); // third watcher
  const refused = responses(h.log).filter((r) => r.response.canceled);
  t.deepEqual(
    refused.map((r) => [r.streamId, r.response.watchId, r.response.cancelReason]),
    [
      [3, -1, 'etcdserver: too many requests'],
      [1, -1, 'etcdserver: too many requests'],
    ],
  );
  h.hub.setStreamBlocked(9, true); // unknown stream at the bound: ignored
  t.is(h.hub.stats().streams, 2);
  h.apply({ type: 'put', req: { key: b('a'), value: b('1') } });
  h.endOfTurn();
  t.deepEqual(h.deliveries().map((d) => d.streamIds), [[1, 2]]);
  t.deepEqual(h.verify(), []);
});
