// The store's semantics, pinned case by case. Every "etcd 3.4.23:" note below records what a real etcd 3.4.23 did
// for the same requests (run on loopback through its JSON gateway and etcdctl while this store was written).
import test from 'ava';
import { Errors } from '../../actors/api/errors.js';
import type { KeyValue, RangeResponse, RequestOp, TxnResponse } from '../../actors/api/types.js';
import { CompareResult, CompareTarget, SortOrder, SortTarget } from '../../actors/api/types.js';
import { bytesEqual } from '../../actors/mvcc/keys.js';
import { MvccStore } from '../../actors/mvcc/store.js';
import { b, caught, entry, kvList, noop, plain, str } from './helpers.js';

function store(): MvccStore {
  return new MvccStore({ clusterId: 'c1', memberId: 'm1' });
}

function put(s: MvccStore, key: string, value: string, extra: Record<string, unknown> = {}) {
  return plain(s.apply({ type: 'put', req: { key: b(key), value: b(value), ...extra } }));
}

function ok<T>(result: { response: unknown } | { error: unknown }): T {
  if ('error' in result) throw new Error(`unexpected error ${JSON.stringify(result.error)}`);
  return result.response as T;
}

const errorOf = (spec: { code: number; message: string }) => ({ error: { code: spec.code, message: spec.message } });

test('revisions: a fresh store is at 1, each changing write makes one revision, no-op writes make none', (t) => {
  const s = store();
  t.is(s.revision, 1);
  t.deepEqual(put(s, 'a', '1'), { response: { header: { clusterId: 'c1', memberId: 'm1', revision: 2, raftTerm: 0 } } });
  put(s, 'a', '1'); // same value: still a new revision
  t.is(s.revision, 3);
  const del = ok<{ deleted: number }>(plain(s.apply({ type: 'deleteRange', req: { key: b('missing') } })));
  t.is(del.deleted, 0);
  t.is(s.revision, 3, 'deleting nothing changes nothing');
  const kv = s.range({ key: b('a') }).kvs[0]!;
  t.like(kv, { createRevision: 2, modRevision: 3, version: 2 });
  s.apply({ type: 'deleteRange', req: { key: b('a') } });
  put(s, 'a', 'again');
  t.like(s.range({ key: b('a') }).kvs[0]!, { createRevision: 5, modRevision: 5, version: 1 }, 'a delete ends the generation');
});

test('txn sub-responses carry only the revision of the view at that op (etcd 3.4.23)', (t) => {
  // etcd 3.4.23 with a=1@2, b=2@3: txn [range a, put a, range a, delete b, range b, put c] answered revisions
  // 3, 4, 4, 4, 4, 4 with empty cluster/member ids; [delete zz, put e, delete zz] answered 4, 5, 5.
  const s = store();
  put(s, 'a', '1');
  put(s, 'b', '2');
  const r = ok<TxnResponse>(
    plain(
      s.apply({
        type: 'txn',
        req: {
          compare: [],
          success: [
            { requestRange: { key: b('a') } },
            { requestPut: { key: b('a'), value: b('3'), prevKv: true } },
            { requestRange: { key: b('a') } },
            { requestDeleteRange: { key: b('b'), prevKv: true } },
            { requestRange: { key: b('b') } },
            { requestPut: { key: b('c'), value: b('4') } },
          ],
          failure: [],
        },
      }),
    ),
  );
  t.is(r.header.revision, 4);
  t.true(r.succeeded);
  t.deepEqual(
    r.responses.map((op) => Object.values(op)[0].header),
    [3, 4, 4, 4, 4, 4].map((revision) => ({ clusterId: '', memberId: '', revision, raftTerm: 0 })),
  );
  const first = (r.responses[0] as { responseRange: RangeResponse }).responseRange;
  t.deepEqual(kvList(first.kvs), ['a=1@2']);
  const afterPut = (r.responses[2] as { responseRange: RangeResponse }).responseRange;
  t.deepEqual(kvList(afterPut.kvs), ['a=3@4'], 'reads inside a txn see its earlier writes');
  t.deepEqual((r.responses[4] as { responseRange: RangeResponse }).responseRange.count, 0);

  const r2 = ok<TxnResponse>(
    plain(
      s.apply({
        type: 'txn',
        req: { compare: [], success: [{ requestDeleteRange: { key: b('zz') } }, { requestPut: { key: b('e'), value: b('4') } }, { requestDeleteRange: { key: b('zz') } }], failure: [] },
      }),
    ),
  );
  t.deepEqual(
    r2.responses.map((op) => Object.values(op)[0].header.revision),
    [4, 5, 5],
  );
});

test('nested txn compares see the state before the txn; a nested response header is empty (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: [put f, txn{version(f)==0 ? put g : range f}, range g] took the success branch although f was
  // written earlier in the same txn, and answered the nested txn with "header":{}.
  const s = store();
  const r = ok<TxnResponse>(
    plain(
      s.apply({
        type: 'txn',
        req: {
          compare: [],
          success: [
            { requestPut: { key: b('f'), value: b('9') } },
            {
              requestTxn: {
                compare: [{ key: b('f'), target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 0 }],
                success: [{ requestPut: { key: b('g'), value: b('5') } }],
                failure: [{ requestRange: { key: b('f') } }],
              },
            },
            { requestRange: { key: b('g') } },
          ],
          failure: [],
        },
      }),
    ),
  );
  const nested = (r.responses[1] as { responseTxn: TxnResponse }).responseTxn;
  t.true(nested.succeeded);
  t.deepEqual(nested.header, { clusterId: '', memberId: '', revision: 0, raftTerm: 0 });
  t.deepEqual(kvList((r.responses[2] as { responseRange: RangeResponse }).responseRange.kvs), ['g=5@2']);
  t.is(s.revision, 2, 'one revision for the whole txn, nested ops included');
});

test('a failed compare runs the failure branch; an empty branch answers no responses (etcd 3.4.23)', (t) => {
  const s = store();
  put(s, 'a', '1');
  const r = ok<TxnResponse>(
    plain(s.apply({ type: 'txn', req: { compare: [{ key: b('a'), target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: b('2') }], success: [{ requestPut: { key: b('x'), value: b('') } }], failure: [] } })),
  );
  t.false(r.succeeded);
  t.deepEqual(r.responses, []);
  t.is(r.header.revision, 2);
});

test('range: limit, more and count (etcd 3.4.23)', (t) => {
  // etcd 3.4.23 with k1..k5 (k2 rewritten at 12): limit 2 -> 2 kvs, more, count 5; limit 5 -> no more;
  // count_only with limit -> count only; min_mod filter with limit 1 -> more; negative limit -> no limit.
  const s = store();
  for (const k of ['k1', 'k2', 'k3', 'k4', 'k5']) put(s, k, `v${k}`);
  put(s, 'k2', 'x');
  const span = { key: b('k'), rangeEnd: b('l') };
  let r = s.range({ ...span, limit: 2, keysOnly: true });
  t.deepEqual(r.kvs.map((kv) => str(kv.key)), ['k1', 'k2']);
  t.true(r.more);
  t.is(r.count, 5);
  t.deepEqual(r.kvs[0]!.value, new Uint8Array(0), 'keys_only leaves values out');
  r = s.range({ ...span, limit: 5 });
  t.false(r.more);
  r = s.range({ ...span, limit: 2, countOnly: true });
  t.deepEqual({ kvs: r.kvs, more: r.more, count: r.count }, { kvs: [], more: false, count: 5 });
  r = s.range({ ...span, limit: 1, minModRevision: 4 });
  t.deepEqual(r.kvs.map((kv) => str(kv.key)), ['k2']);
  t.true(r.more);
  t.is(r.count, 5, 'count ignores the revision filters');
  r = s.range({ ...span, minModRevision: 99 });
  t.deepEqual({ n: r.kvs.length, more: r.more, count: r.count }, { n: 0, more: false, count: 5 });
  r = s.range({ ...span, limit: -1 });
  t.is(r.kvs.length, 5);
});

test('range: sorting (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: sort target VERSION with order NONE sorts ascending; ties keep key order, ascending and descending;
  // sort MOD DESCEND with limit 2 returns the two newest, with more.
  const s = store();
  for (const k of ['k1', 'k2', 'k3', 'k4', 'k5']) put(s, k, `v${k}`);
  put(s, 'k2', 'x');
  const span = { key: b('k'), rangeEnd: b('l') };
  const keys = (r: RangeResponse) => r.kvs.map((kv) => str(kv.key));
  t.deepEqual(keys(s.range({ ...span, sortTarget: SortTarget.VERSION })), ['k1', 'k3', 'k4', 'k5', 'k2']);
  t.deepEqual(keys(s.range({ ...span, sortTarget: SortTarget.VERSION, sortOrder: SortOrder.DESCEND })), ['k2', 'k1', 'k3', 'k4', 'k5']);
  const r = s.range({ ...span, sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND, limit: 2 });
  t.deepEqual(keys(r), ['k2', 'k5']);
  t.true(r.more);
  t.deepEqual(keys(s.range({ ...span, sortOrder: SortOrder.DESCEND })), ['k5', 'k4', 'k3', 'k2', 'k1']);
  t.deepEqual(keys(s.range({ ...span, sortTarget: SortTarget.VALUE, sortOrder: SortOrder.DESCEND })), ['k2', 'k5', 'k4', 'k3', 'k1']);
});

test('range: a sort target without a sort order sorts only the first limit + 1 keys (etcd 3.4.23)', (t) => {
  // etcd 3.4.23 with keys put in the order 0xff, a, c: range from a to the end, limit 1, sort_target MOD and no sort
  // order answered a (mod 3), not 0xff (mod 2): it reads limit + 1 keys in key order, then sorts those. With
  // sort_order ASCEND it answered 0xff.
  const s = store();
  for (const k of ['\xff', 'a', 'c']) put(s, k, '');
  const span = { key: b('a'), rangeEnd: b('\0'), limit: 1, sortTarget: SortTarget.MOD };
  const first = (r: RangeResponse) => [...r.kvs[0]!.key];
  t.deepEqual(first(s.range(span)), [0x61]);
  t.deepEqual(first(s.range({ ...span, sortOrder: SortOrder.ASCEND })), [0xff]);
  put(s, 'a', '');
  put(s, 'a', '');
  t.deepEqual(first(s.range({ ...span, sortTarget: SortTarget.VERSION })), [0x63]);
  t.true(s.range(span).more);
});

test('range: historical reads answer with the current revision in the header; revision bounds (etcd 3.4.23)', (t) => {
  const s = store();
  put(s, 'k1', 'a');
  put(s, 'k2', 'b');
  put(s, 'k2', 'c');
  const r = s.range({ key: b('k'), rangeEnd: b('l'), revision: 3 });
  t.is(r.header.revision, 4);
  t.deepEqual(kvList(r.kvs), ['k1=a@2', 'k2=b@3']);
  t.deepEqual(caught(() => s.range({ key: b('k1'), revision: 5 })), errorOf(Errors.futureRevision));
  t.deepEqual(kvList(s.range({ key: b('k2'), revision: -1 }).kvs), ['k2=c@4'], 'a negative revision reads the current one');
  t.deepEqual(caught(() => s.range({ key: b('') })), errorOf(Errors.emptyKey));
  // "\0" as range end: every key from the key on; "\0" as both: everything
  t.is(s.range({ key: b('\0'), rangeEnd: b('\0'), countOnly: true }).count, 2);
  t.is(s.range({ key: b('k2'), rangeEnd: b('\0'), countOnly: true }).count, 1);
  t.is(s.range({ key: b('z'), rangeEnd: b('a') }).count, 0, 'an inverted range is empty');
});

test('compaction: bounds, header, and reads around it (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: on a fresh store compact 0 succeeds (the compaction point starts at -1); then compact -1 and
  // compact 0 fail "compacted"; compact beyond the current revision fails "future"; compacting at the current
  // revision works; the response header carries the current revision; a read at the compaction revision works and
  // one below it fails.
  const s = store();
  t.deepEqual(plain(s.apply({ type: 'compaction', req: { revision: 0 } })), { response: { header: s.header(1) } });
  t.deepEqual(plain(s.apply({ type: 'compaction', req: { revision: -1 } })), errorOf(Errors.compacted));
  t.deepEqual(plain(s.apply({ type: 'compaction', req: { revision: 0 } })), errorOf(Errors.compacted));
  t.deepEqual(plain(s.apply({ type: 'compaction', req: { revision: 2 } })), errorOf(Errors.futureRevision));
  put(s, 'a', '1');
  put(s, 'a', '2');
  put(s, 'b', '3');
  t.deepEqual(plain(s.apply({ type: 'compaction', req: { revision: 4 } })), { response: { header: s.header(4) } });
  t.deepEqual(plain(s.apply({ type: 'compaction', req: { revision: 4 } })), errorOf(Errors.compacted));
  t.deepEqual(kvList(s.range({ key: b('a'), revision: 4 }).kvs), ['a=2@3']);
  t.deepEqual(caught(() => s.range({ key: b('a'), revision: 3 })), errorOf(Errors.compacted));
  t.deepEqual(plain(s.apply({ type: 'compaction', req: { revision: 4 } })), errorOf(Errors.compacted));
  t.is(s.compactRevision, 4);
});

test('txn ranges are checked before anything changes (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: after a compaction, a txn range at revision -1 fails "compacted" (a plain range at -1 reads the
  // current revision); a txn range beyond the pre-txn revision fails "future" even after a put in the same txn;
  // a failing check leaves the txn's puts unapplied.
  const s = store();
  put(s, 'a', '1');
  put(s, 'a', '2');
  s.apply({ type: 'compaction', req: { revision: 2 } });
  const txn = (ops: RequestOp[]) =>
    plain(s.apply({ type: 'txn', req: { compare: [], success: ops, failure: [] } }));
  t.deepEqual(txn([{ requestRange: { key: b('a'), revision: -1 } }]), errorOf(Errors.compacted));
  t.deepEqual(kvList(s.range({ key: b('a'), revision: -1 }).kvs), ['a=2@3']);
  t.deepEqual(txn([{ requestPut: { key: b('q'), value: b('1') } }, { requestRange: { key: b('a'), revision: 4 } }]), errorOf(Errors.futureRevision));
  t.deepEqual(txn([{ requestPut: { key: b('q'), value: b('1') } }, { requestRange: { key: b('a'), revision: 1 } }]), errorOf(Errors.compacted));
  t.is(s.range({ key: b('q') }).count, 0);
  t.is(s.revision, 3);
  const r = ok<TxnResponse>(txn([{ requestPut: { key: b('q'), value: b('1') } }, { requestRange: { key: b('q'), revision: 3 } }]));
  t.is((r.responses[1] as { responseRange: RangeResponse }).responseRange.count, 0, 'a txn reading its begin revision misses its own put');
});

test('put flags and lease checks (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: unknown lease -> NotFound "requested lease not found" (plain put and txn put); ignore_value or
  // ignore_lease on a missing key -> "key not found"; with ignore_value, a put without lease clears the key's lease;
  // with ignore_lease the lease is kept; a plain put checks the lease first, a txn put the key first.
  const s = store();
  t.deepEqual(put(s, 'l1', 'x', { lease: 12345n }), errorOf(Errors.leaseNotFound));
  t.deepEqual(put(s, 'nokey', '', { ignoreValue: true }), errorOf(Errors.keyNotFound));
  t.deepEqual(put(s, 'nokey', 'x', { ignoreLease: true }), errorOf(Errors.keyNotFound));
  t.deepEqual(put(s, 'nokey', 'x', { ignoreValue: true }), errorOf(Errors.valueProvided));
  t.deepEqual(put(s, 'nokey', '', { ignoreLease: true, lease: 5n }), errorOf(Errors.leaseProvided));
  t.deepEqual(put(s, 'nokey', '', { ignoreValue: true, lease: 77n }), errorOf(Errors.leaseNotFound), 'plain put: lease before key');
  t.deepEqual(
    plain(s.apply({ type: 'txn', req: { compare: [], success: [{ requestPut: { key: b('nokey'), value: b(''), ignoreValue: true, lease: 77n } }], failure: [] } })),
    errorOf(Errors.keyNotFound),
    'txn put: key before lease',
  );
  t.is(s.revision, 1);
  s.apply({ type: 'leaseGrant', req: { ID: 1000n, TTL: 60 } });
  put(s, 'lm', 'x', { lease: 1000n });
  const kept = ok<{ prevKv: KeyValue }>(put(s, 'lm', 'y', { ignoreLease: true, prevKv: true }));
  t.is(kept.prevKv.lease, 1000n);
  t.is(s.range({ key: b('lm') }).kvs[0]!.lease, 1000n);
  const cleared = ok<{ prevKv: KeyValue }>(put(s, 'lm', '', { ignoreValue: true, prevKv: true }));
  t.like(cleared.prevKv, { version: 2 });
  t.deepEqual(str(cleared.prevKv.value), 'y');
  const now = s.range({ key: b('lm') }).kvs[0]!;
  t.is(str(now.value), 'y', 'ignore_value keeps the value');
  t.is(now.lease, 0n, 'a put without lease detaches');
  t.deepEqual(s.leaseTimeToLive(1000n)!.keys, []);
});

test('a txn that deletes a key from-key and then puts it with ignore_value fails with key not found (etcd 3.4.23 panics)', (t) => {
  // etcd 3.4.23: put 0xff; txn [delete from a to the end, put 0xff with ignore_value] passes its duplicate check
  // (a from-key delete conflicts with nothing), then the apply loop panics with "unexpected error during txn:
  // etcdserver: key not found" and the member exits. Here the txn is refused with that error and nothing changes.
  const s = store();
  put(s, '\xff', 'x');
  const r = plain(
    s.apply({
      type: 'txn',
      req: { compare: [], success: [{ requestDeleteRange: { key: b('a'), rangeEnd: b('\0') } }, { requestPut: { key: b('\xff'), value: b(''), ignoreValue: true } }], failure: [] },
    }),
  );
  t.deepEqual(r, errorOf(Errors.keyNotFound));
  t.is(s.revision, 2);
  t.deepEqual(kvList(s.range({ key: b('\xff') }).kvs), ['\xff=x@2']);
  // the put first and the delete after is fine
  const ok2 = plain(
    s.apply({
      type: 'txn',
      req: { compare: [], success: [{ requestPut: { key: b('\xff'), value: b(''), ignoreLease: true } }, { requestDeleteRange: { key: b('a'), rangeEnd: b('\0') } }], failure: [] },
    }),
  );
  t.false('error' in ok2);
  t.is(s.range({ key: b('\xff') }).count, 0);
});

test('deleteRange: deleted count and prev_kvs in key order', (t) => {
  const s = store();
  for (const k of ['a', 'b', 'c', 'd']) put(s, k, k.toUpperCase());
  const r = ok<{ deleted: number; prevKvs: KeyValue[] }>(plain(s.apply({ type: 'deleteRange', req: { key: b('b'), rangeEnd: b('\0'), prevKv: true } })));
  t.is(r.deleted, 3);
  t.deepEqual(kvList(r.prevKvs), ['b=B@3', 'c=C@4', 'd=D@5']);
  t.is(s.revision, 6);
  t.deepEqual(kvList(s.range({ key: b('\0'), rangeEnd: b('\0') }).kvs), ['a=A@2']);
});

test('leases: grant, duplicate, revoke deletes attached keys at one revision in key order (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: revoking a lease holding lz and la produced DELETE la then DELETE lz, both at one new revision;
  // revoking it again -> NotFound; granting an existing ID -> FailedPrecondition "lease already exists".
  const s = store();
  t.deepEqual(plain(s.apply({ type: 'leaseGrant', req: { ID: 1000n, TTL: 60 } })), { response: { header: s.header(1), ID: 1000n, TTL: 60 } });
  t.deepEqual(plain(s.apply({ type: 'leaseGrant', req: { ID: 1000n, TTL: 60 } })), errorOf(Errors.leaseExists));
  put(s, 'lz', 'x', { lease: 1000n });
  put(s, 'la', 'x', { lease: 1000n });
  put(s, 'other', 'x');
  t.deepEqual(s.leaseTimeToLive(1000n)!.keys.map(str), ['la', 'lz']);
  t.deepEqual(s.leaseList(), [1000n]);
  s.apply({ type: 'leaseCheckpoint', checkpoints: [{ ID: 1000n, remainingMs: 42 }, { ID: 5n, remainingMs: 1 }] });
  t.like(s.leaseTimeToLive(1000n), { grantedTTL: 60, remainingMs: 42 });
  const before = s.log.endSeq;
  t.deepEqual(plain(s.apply({ type: 'leaseRevoke', req: { ID: 1000n } })), { response: { header: s.header(5) } });
  t.deepEqual([s.mainOfRecord(before), s.mainOfRecord(before + 1)], [5, 5]);
  t.deepEqual([s.keyOfRecord(before).key, s.keyOfRecord(before + 1).key], ['la', 'lz']);
  t.deepEqual(kvList(s.range({ key: b('\0'), rangeEnd: b('\0') }).kvs), ['other=x@4']);
  t.deepEqual(plain(s.apply({ type: 'leaseRevoke', req: { ID: 1000n } })), errorOf(Errors.leaseNotFound));
  t.is(s.leaseTimeToLive(1000n), undefined);
  // a lease with no keys: revoke changes no revision
  s.apply({ type: 'leaseGrant', req: { ID: 7n, TTL: 5 } });
  s.apply({ type: 'leaseRevoke', req: { ID: 7n } });
  t.is(s.revision, 5);
});

test('leases: a put moves the key between leases, a delete detaches; grants below the minimum TTL are raised', (t) => {
  const s = new MvccStore({ leaseTTLMinSeconds: 2 });
  // etcd 3.4.23 (default election timeout): a grant with TTL 1 answered TTL 2
  t.like(ok<{ TTL: number }>(plain(s.apply({ type: 'leaseGrant', req: { ID: 1n, TTL: 1 } }))), { TTL: 2 });
  s.apply({ type: 'leaseGrant', req: { ID: 2n, TTL: 10 } });
  put(s, 'k', 'v', { lease: 1n });
  put(s, 'k', 'v', { lease: 2n });
  t.deepEqual(s.leaseTimeToLive(1n)!.keys, []);
  t.deepEqual(s.leaseTimeToLive(2n)!.keys.map(str), ['k']);
  s.apply({ type: 'deleteRange', req: { key: b('k') } });
  t.deepEqual(s.leaseTimeToLive(2n)!.keys, []);
  s.apply({ type: 'leaseRevoke', req: { ID: 2n } });
  t.is(s.revision, 4, 'the detached key is not deleted again');
});

test('compares: missing keys, ranges and value order (etcd 3.4.23)', (t) => {
  // etcd 3.4.23: VALUE on a missing key is false for every result; VERSION/LEASE compare a missing key as 0; a
  // range compare needs every key in range to hold; VALUE compares bytes.
  const s = store();
  put(s, 'a', '1');
  put(s, 'k1', 'x');
  put(s, 'k2', 'y');
  const check = (c: Parameters<typeof compareTxn>[1]) => compareTxn(s, c);
  t.false(check({ key: b('zz'), target: CompareTarget.VALUE, result: CompareResult.EQUAL, value: b('') }));
  t.false(check({ key: b('zz'), target: CompareTarget.VALUE, result: CompareResult.NOT_EQUAL, value: b('x') }));
  t.true(check({ key: b('zz'), target: CompareTarget.VERSION, result: CompareResult.EQUAL, version: 0 }));
  t.true(check({ key: b('zz'), target: CompareTarget.LEASE, result: CompareResult.EQUAL, lease: 0n }));
  t.true(check({ key: b('k'), rangeEnd: b('l'), target: CompareTarget.CREATE, result: CompareResult.GREATER, createRevision: 0 }));
  t.false(check({ key: b('a'), rangeEnd: b('zz'), target: CompareTarget.MOD, result: CompareResult.LESS, modRevision: 4 }));
  t.true(check({ key: b('a'), rangeEnd: b('\0'), target: CompareTarget.MOD, result: CompareResult.GREATER, modRevision: 0 }));
  t.false(check({ key: b('x'), rangeEnd: b('y'), target: CompareTarget.VALUE, result: CompareResult.NOT_EQUAL, value: b('x') }));
  t.true(check({ key: b('a'), target: CompareTarget.VALUE, result: CompareResult.GREATER, value: b('0') }));
  t.true(check({ key: b('a'), target: CompareTarget.VALUE, result: CompareResult.LESS, value: b('10') }));
});

function compareTxn(s: MvccStore, c: import('../../actors/api/types.js').Compare): boolean {
  const r = s.apply({ type: 'txn', req: { compare: [c], success: [], failure: [] } });
  if ('error' in r) throw r.error;
  return (r.response as TxnResponse).succeeded;
}

test('physical compaction frees history and forgets deleted keys, keeping every read at or above it', (t) => {
  const s = store();
  for (let i = 0; i < 20_000; i++) put(s, `k${i % 100}`, `value-${i}`);
  for (let i = 0; i < 50; i++) s.apply({ type: 'deleteRange', req: { key: b(`k${i}`) } });
  const current = s.revision;
  const snapshotAt = (rev: number) => kvList(s.range({ key: b('k'), rangeEnd: b('l'), revision: rev }).kvs);
  const expectedNow = snapshotAt(current);
  const expectedMid = snapshotAt(current - 10);
  const recordsBefore = s.log.records;
  const chunksBefore = s.log.chunkCount();
  const sizeBefore = s.sizeBytes;
  t.is(s.keyCount, 100);
  s.apply({ type: 'compaction', req: { revision: current - 10 } });
  t.true(s.compactionPending);
  t.true(s.compactHistory());
  t.false(s.compactionPending);
  t.true(s.log.records < recordsBefore / 100, `records ${recordsBefore} -> ${s.log.records}`);
  t.true(s.log.chunkCount() < chunksBefore, `chunks ${chunksBefore} -> ${s.log.chunkCount()}`);
  t.true(s.sizeBytes < sizeBefore / 20);
  // k0..k38 were deleted below the compaction and are gone; k39's delete at exactly the compaction revision stays
  // (invisible) until the next compaction passes it
  t.is(s.keyCount, 61, 'keys deleted below the compaction are gone from the index');
  t.deepEqual(snapshotAt(current), expectedNow);
  t.deepEqual(snapshotAt(current - 10), expectedMid);
  put(s, 'k0', 'reborn');
  t.like(s.range({ key: b('k0') }).kvs[0]!, { version: 1, createRevision: current + 1 });
  put(s, 'k99', 'again');
  t.is(s.range({ key: b('k99') }).kvs[0]!.version, 201);
});

test('compaction in small steps ends exactly where one big step does', (t) => {
  const build = () => {
    const s = store();
    s.apply({ type: 'leaseGrant', req: { ID: 3n, TTL: 9 } });
    for (let i = 0; i < 3000; i++) {
      put(s, `k${i % 40}`, `v${i}`, i % 9 === 0 ? { lease: 3n } : {});
      if (i % 13 === 0) s.apply({ type: 'deleteRange', req: { key: b(`k${i % 17}`), rangeEnd: b(`k${i % 17}z`) } });
      if (i % 101 === 0) s.apply({ type: 'txn', req: { compare: [], success: [{ requestDeleteRange: { key: b('k3') } }, { requestPut: { key: b('k5'), value: b('t') } }], failure: [] } });
    }
    s.apply({ type: 'compaction', req: { revision: s.revision - 100 } });
    return s;
  };
  const whole = build();
  t.true(whole.compactHistory());
  const steps = build();
  let calls = 0;
  while (steps.compactionPending) {
    t.true(steps.compactHistory(97));
    calls++;
    // every intermediate state answers reads at and above the compaction as the final one does
    t.deepEqual(kvList(steps.range({ key: b('k'), rangeEnd: b('l'), revision: steps.compactRevision }).kvs), kvList(whole.range({ key: b('k'), rangeEnd: b('l'), revision: whole.compactRevision }).kvs));
  }
  t.true(calls > 10, `${calls} steps`);
  t.deepEqual(steps.hashKV(), whole.hashKV());
  t.is(steps.log.records, whole.log.records);
  t.is(steps.keyCount, whole.keyCount);
  t.is(steps.sizeBytes, whole.sizeBytes);
  t.deepEqual(steps.leaseTimeToLive(3n), whole.leaseTimeToLive(3n));
});

test('hashKV: bounds, and the same value whether compacted history was freed or not (etcd 3.4.23 bounds)', (t) => {
  // etcd 3.4.23 (etcdctl endpoint hashkv --rev): a revision at or below the compaction fails "compacted", one above
  // the current fails "future"; the answer carries the compaction revision.
  const build = () => {
    const s = store();
    for (let i = 0; i < 300; i++) put(s, `k${i % 7}`, `v${i}`);
    s.apply({ type: 'deleteRange', req: { key: b('k3') } });
    s.apply({ type: 'compaction', req: { revision: 200 } });
    return s;
  };
  const freed = build();
  freed.compactHistory();
  const kept = build();
  const image = kept.image(); // an open image defers freeing
  t.false(kept.compactHistory());
  t.deepEqual(freed.hashKV(), kept.hashKV());
  t.deepEqual(freed.hashKV(250), kept.hashKV(250));
  t.notDeepEqual(freed.hashKV(250).hash, freed.hashKV().hash);
  image.close();
  t.true(kept.compactHistory());
  t.deepEqual(freed.hashKV(), kept.hashKV());
  t.deepEqual(caught(() => freed.hashKV(200)), errorOf(Errors.compacted));
  t.deepEqual(caught(() => freed.hashKV(1000)), errorOf(Errors.futureRevision));
  t.is(freed.hashKV(201).compactRevision, 200);
});

test('entries: outcomes for this member only, no-ops, replays and terms', (t) => {
  const s = store();
  const outcomes: unknown[] = [];
  s.applyEntries(
    [
      noop(1, 2),
      entry(2, { type: 'put', req: { key: b('a'), value: b('1') } }, { term: 2, id: 7 }),
      entry(3, { type: 'put', req: { key: b(''), value: b('1') } }, { term: 3, id: 8 }),
      entry(4, { type: 'put', req: { key: b('b'), value: b('1') } }, { term: 3, id: 9, member: 'm2' }),
      entry(5, { type: 'put', req: { key: b('c'), value: b('1') } }, { term: 3, id: 0 }),
      // proposed by this member in an earlier life (another boot id), replayed after a restart: never answered
      entry(6, { type: 'put', req: { key: b('e'), value: b('1') } }, { term: 3, id: 7, boot: 99 }),
    ],
    (o) => outcomes.push(o),
  );
  t.is(s.appliedIndex, 6);
  t.is(s.raftTerm, 3);
  t.is(s.revision, 5, 'requests of other members, of earlier lives and unanswered ones are applied all the same');
  t.deepEqual(outcomes, [
    { id: 7, response: { header: { clusterId: 'c1', memberId: 'm1', revision: 2, raftTerm: 2 } } },
    { id: 8, error: { code: Errors.emptyKey.code, message: Errors.emptyKey.message } },
  ]);
  s.applyEntries([entry(2, { type: 'put', req: { key: b('a'), value: b('again') } }), entry(7, { type: 'put', req: { key: b('d'), value: b('2') } })]);
  t.is(s.revision, 6, 'entries at or below the applied index are skipped');
  t.throws(() => s.applyEntries([entry(9, { type: 'put', req: { key: b('c'), value: b('3') } })]), { message: /applied after 7/ });
});

test('alarms: NOSPACE refuses puts, txns with puts and grants; CORRUPT refuses everything', (t) => {
  const s = store();
  put(s, 'a', '1');
  t.deepEqual(ok<{ alarms: unknown[] }>(plain(s.apply({ type: 'alarm', action: 'activate', memberId: 'm1', alarm: 'NOSPACE' }))).alarms, [{ memberID: 'm1', alarm: 'NOSPACE' }]);
  t.deepEqual(put(s, 'b', '2'), errorOf(Errors.noSpace));
  t.deepEqual(plain(s.apply({ type: 'leaseGrant', req: { ID: 1n, TTL: 5 } })), errorOf(Errors.noSpace));
  t.deepEqual(plain(s.apply({ type: 'txn', req: { compare: [], success: [], failure: [{ requestPut: { key: b('x'), value: b('') } }] } })), errorOf(Errors.noSpace));
  t.false('error' in s.apply({ type: 'txn', req: { compare: [], success: [{ requestDeleteRange: { key: b('a') } }], failure: [] } }));
  t.is(s.revision, 3, 'deletes still work to free space');
  s.apply({ type: 'alarm', action: 'deactivate', memberId: 'm1', alarm: 'NOSPACE' });
  t.false('error' in put(s, 'b', '2'));
  s.apply({ type: 'alarm', action: 'activate', memberId: 'm2', alarm: 'CORRUPT' });
  t.deepEqual(plain(s.apply({ type: 'deleteRange', req: { key: b('b') } })), errorOf(Errors.corrupt));
  t.deepEqual(caught(() => s.range({ key: b('b') })), errorOf(Errors.corrupt));
  t.deepEqual(s.alarms(), [{ memberID: 'm2', alarm: 'CORRUPT' }]);
});

test('binary keys order bytewise, including 0x00 and 0xff', (t) => {
  const s = store();
  for (const k of ['a\xff', 'a', 'a\x00', '\xff', 'b', 'a\x7f\x80']) put(s, k, 'v');
  t.deepEqual(
    s.range({ key: b('\0'), rangeEnd: b('\0'), keysOnly: true }).kvs.map((kv) => [...kv.key]),
    [[0x61], [0x61, 0x00], [0x61, 0x7f, 0x80], [0x61, 0xff], [0x62], [0xff]],
  );
  t.deepEqual(s.range({ key: b('a'), rangeEnd: b('b'), countOnly: true }).count, 4);
  t.deepEqual(s.range({ key: b('a\xff'), rangeEnd: b('\0'), countOnly: true }).count, 3);
});

test('large values go to chunks of their own and read back intact', (t) => {
  const s = store();
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
  put(s, 'small', 'x');
  t.false('error' in s.apply({ type: 'put', req: { key: b('big'), value: big } }));
  put(s, 'small2', 'y');
  // (compared by hand: a structural diff of megabytes is slow)
  t.true(bytesEqual(s.range({ key: b('big') }).kvs[0]!.value, big));
  t.deepEqual(kvList(s.range({ key: b('small'), rangeEnd: b('smallz') }).kvs), ['small=x@2', 'small2=y@4']);
});

test('enum values the gateway lets through (any int32) never crash the store; they behave as in etcd 3.4.23', (t) => {
  // etcd 3.4.23: a compare with an unknown target counts the field as equal; an unknown result holds; a sort order
  // other than ASCEND/DESCEND sorts nothing (etcd crashes on an unknown sort target: tetcd refuses it, see validate)
  const s = store();
  put(s, 'a', '3');
  put(s, 'b', '1');
  put(s, 'c', '2');
  const txnOf = (target: number, result: number) =>
    ok<TxnResponse>(plain(s.apply({ type: 'txn', req: { compare: [{ key: b('a'), target: target as CompareTarget, result: result as CompareResult, version: 7 }], success: [], failure: [] } })));
  t.true(txnOf(9, CompareResult.EQUAL).succeeded, 'unknown target: equal');
  t.false(txnOf(9, CompareResult.NOT_EQUAL).succeeded, 'unknown target: not unequal');
  t.true(txnOf(CompareTarget.VERSION, 9).succeeded, 'unknown result: holds');
  t.true(txnOf(CompareTarget.VERSION, -1).succeeded, 'negative result: holds');
  const unsorted = s.range({ key: b('a'), rangeEnd: b('d'), sortOrder: 7 as SortOrder, sortTarget: SortTarget.VALUE, limit: 2 });
  t.deepEqual(kvList(unsorted.kvs), ['a=3@2', 'b=1@3']);
  t.true(unsorted.more);
  t.like(caught(() => s.range({ key: b('a'), sortTarget: 7 as SortTarget })), { error: { code: 3, message: 'tetcd: unknown sort target 7' } });
});
