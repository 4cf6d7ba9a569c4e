// Snapshot images: restored exactly (history, compaction point, leases and their keys, alarms, applied index), in
// bounded chunks, consistent while the store keeps changing, and refused when damaged.
import test from 'ava';
import { ImageCorruptError, ImageStreamClosedError } from '../../actors/mvcc/errors.js';
import { mvccLimits } from '../../actors/mvcc/limits.js';
import { MvccStore } from '../../actors/mvcc/store.js';
import { b, entry, kvList } from './helpers.js';

function busyStore(): MvccStore {
  const s = new MvccStore({ clusterId: 'c1', memberId: 'm1' });
  let index = 0;
  const apply = (op: Parameters<MvccStore['apply']>[0]) => s.applyEntries([entry(++index, op, { term: 3 })]);
  apply({ type: 'leaseGrant', req: { ID: 7n, TTL: 30 } });
  apply({ type: 'leaseGrant', req: { ID: 8n, TTL: 60 } });
  for (let i = 0; i < 500; i++) {
    apply({ type: 'put', req: { key: b(`key/${i % 37}`), value: b(`value-${i}`), ...(i % 5 === 0 ? { lease: i % 10 === 0 ? 7n : 8n } : {}) } });
    if (i % 17 === 0) apply({ type: 'deleteRange', req: { key: b(`key/${i % 11}`) } });
  }
  apply({ type: 'leaseCheckpoint', checkpoints: [{ ID: 7n, remainingMs: 12 }] });
  apply({ type: 'alarm', action: 'activate', memberId: 'm2', alarm: 'NOSPACE' });
  apply({ type: 'compaction', req: { revision: 300 } });
  return s;
}

function sameStore(t: import('ava').ExecutionContext, a: MvccStore, b2: MvccStore): void {
  t.deepEqual(a.hashKV(), b2.hashKV());
  t.is(a.revision, b2.revision);
  t.is(a.compactRevision, b2.compactRevision);
  t.is(a.appliedIndex, b2.appliedIndex);
  t.is(a.raftTerm, b2.raftTerm);
  t.deepEqual(a.alarms(), b2.alarms());
  t.deepEqual(a.leaseTable(), b2.leaseTable());
  for (const id of a.leaseList()) t.deepEqual(a.leaseTimeToLive(id), b2.leaseTimeToLive(id));
  for (let rev = a.compactRevision; rev <= a.revision; rev += 7) {
    const req = { key: b('\0'), rangeEnd: b('\0'), revision: rev };
    t.deepEqual(kvList(a.range(req).kvs), kvList(b2.range(req).kvs));
  }
}

test('an image restores the store exactly, before and after compaction frees history', (t) => {
  const source = busyStore();
  const before = new MvccStore({ clusterId: 'c1', memberId: 'm1' });
  before.restore(source.image());
  sameStore(t, source, before);
  t.true(source.compactHistory());
  const after = new MvccStore({ clusterId: 'c1', memberId: 'm1' });
  after.restore(source.image());
  sameStore(t, source, after);
  sameStore(t, source, before);
  // the restored stores keep agreeing as the same entries keep coming
  for (const s of [source, before, after]) {
    s.applyEntries([entry(s.appliedIndex + 1, { type: 'alarm', action: 'deactivate', memberId: 'm2', alarm: 'NOSPACE' })]);
    s.applyEntries([entry(s.appliedIndex + 1, { type: 'put', req: { key: b('key/1'), value: b('later'), lease: 7n } })]);
    s.applyEntries([entry(s.appliedIndex + 1, { type: 'leaseRevoke', req: { ID: 8n } })]);
    s.applyEntries([entry(s.appliedIndex + 1, { type: 'compaction', req: { revision: s.revision - 3 } })]);
    s.compactHistory();
  }
  sameStore(t, source, before);
  sameStore(t, source, after);
});

test('an empty store round-trips', (t) => {
  const restored = new MvccStore();
  restored.restore(new MvccStore().image());
  t.is(restored.revision, 1);
  t.is(restored.compactRevision, -1);
  t.is(restored.keyCount, 0);
});

test('chunks stay near their size bound', (t) => {
  const s = new MvccStore();
  const value = new Uint8Array(10_000).fill(7);
  for (let i = 0; i < 600; i++) s.apply({ type: 'put', req: { key: b(`k${i % 300}`), value } });
  s.apply({ type: 'compaction', req: { revision: 350 } });
  s.compactHistory();
  const chunks = [...s.image()];
  t.true(chunks.length >= 6, `${chunks.length} chunks`);
  for (const c of chunks) t.true(c.length <= mvccLimits.imageChunkBytes + 11_000, `chunk of ${c.length} bytes`);
  const restored = new MvccStore();
  restored.restore(chunks);
  t.deepEqual(restored.hashKV(), s.hashKV());
});

test('an image stays consistent while the store changes and compacts; freeing waits for it', (t) => {
  const s = busyStore();
  s.compactHistory();
  const expected = new MvccStore();
  expected.restore(s.image());
  const stream = s.image();
  const chunks: Uint8Array[] = [stream.next().value as Uint8Array];
  const recordsBefore = s.log.records;
  for (let i = 0; i < 200; i++) s.apply({ type: 'put', req: { key: b(`key/${i % 5}`), value: b(`new-${i}`) } });
  s.apply({ type: 'deleteRange', req: { key: b('key/'), rangeEnd: b('key0') } });
  s.apply({ type: 'compaction', req: { revision: s.revision } });
  t.false(s.compactHistory(), 'history is kept while the image is open');
  for (let next = stream.next(); !next.done; next = stream.next()) chunks.push(next.value);
  t.true(stream.isClosed);
  t.true(s.compactHistory(), 'and freed once it is done');
  t.true(s.log.records < recordsBefore);
  const restored = new MvccStore();
  restored.restore(chunks);
  t.deepEqual(restored.hashKV(), expected.hashKV());
  t.is(restored.revision, expected.revision);
});

test('damaged images are refused', (t) => {
  const chunks = [...busyStore().image()];
  t.true(chunks.length >= 3);
  const flipped = chunks.map((c) => c.slice());
  flipped[1]![20]! ^= 1;
  t.throws(() => new MvccStore().restore(flipped), { instanceOf: ImageCorruptError, message: /checksum/ });
  t.throws(() => new MvccStore().restore(chunks.slice(0, -1)), { instanceOf: ImageCorruptError, message: /before its end/ });
  t.throws(() => new MvccStore().restore([chunks[0]!, chunks[2]!, chunks[1]!, ...chunks.slice(3)]), { instanceOf: ImageCorruptError, message: /expected/ });
  t.throws(() => new MvccStore().restore([chunks[1]!]), { instanceOf: ImageCorruptError });
  t.throws(() => new MvccStore().restore([new Uint8Array(3)]), { instanceOf: ImageCorruptError });
});

test('a restore ends open image streams and lets compaction proceed', (t) => {
  const s = busyStore();
  const stream = s.image();
  stream.next();
  t.is(s.imageStreamsOpen, 1);
  s.restore(busyStore().image());
  t.is(s.imageStreamsOpen, 0, 'the old stream holds nothing back');
  t.throws(() => stream.next(), { instanceOf: ImageStreamClosedError });
  t.is(s.imageStreamsOpen, 0);
  const early = s.image();
  early.close();
  early.close();
  t.is(s.imageStreamsOpen, 0);
  t.true(early.next().done);
});
