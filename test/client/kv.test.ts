// The client's unary calls against a real etcd: KV and the transaction builder, typed errors with etcd's codes and
// messages, deadlines, failover between endpoints, and what closing the client does to calls in flight.
import test from 'ava';
import { Client } from '../../client/client.js';
import {
  ClientClosedError,
  CompactedError,
  ConnectionError,
  EtcdServerError,
  FutureRevisionError,
  GrpcCode,
  InvalidArgumentError,
  KeyNotFoundError,
  LeaseNotFoundError,
  MemberNotFoundError,
  RequestAbortedError,
  RequestTimeoutError,
} from '../../client/errors.js';
import { cmp, op } from '../../client/txn.js';
import { startTarget, type Target } from './helpers/target.js';
import { startProxy } from './helpers/proxy.js';

/** The server under test: a tetcd member by default (TETCD_CTL_TARGET=etcd: a real etcd 3.4). */
let etcd: Target;

test.before(async () => {
  etcd = await startTarget();
});

test.after.always(async () => {
  await etcd?.stop();
});

const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

test.serial('put, get (ranges, prefix, sort, limit, keys/count only, revision), delete', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  try {
    const first = await client.kv.put('kv/a', '1');
    await client.kv.put('kv/b', '2');
    await client.kv.put('kv/c', '3');
    const prev = await client.kv.put('kv/a', '11', { prevKv: true });
    t.is(text(prev.prevKv?.value), '1');
    t.is(prev.prevKv?.version, 1);

    const all = await client.kv.get('kv/', { prefix: true });
    t.deepEqual(all.kvs.map((kv) => text(kv.key)), ['kv/a', 'kv/b', 'kv/c']);
    t.is(all.count, 3);
    t.is(all.kvs[0]!.version, 2);
    t.is(all.kvs[0]!.createRevision, first.header.revision);

    const sorted = await client.kv.get('kv/', { prefix: true, sort: { target: 'MOD', order: 'DESCEND' }, limit: 2 });
    t.deepEqual(sorted.kvs.map((kv) => text(kv.key)), ['kv/a', 'kv/c']);
    t.true(sorted.more);
    t.is(sorted.count, 3);

    const range = await client.kv.get('kv/a', { rangeEnd: 'kv/c' });
    t.deepEqual(range.kvs.map((kv) => text(kv.key)), ['kv/a', 'kv/b']);
    const keysOnly = await client.kv.get('kv/', { prefix: true, keysOnly: true });
    t.is(keysOnly.kvs[0]!.value.length, 0);
    const countOnly = await client.kv.get('kv/', { prefix: true, countOnly: true });
    t.is(countOnly.kvs.length, 0);
    t.is(countOnly.count, 3);
    const old = await client.kv.get('kv/a', { revision: first.header.revision });
    t.is(text(old.kvs[0]!.value), '1');
    const serial = await client.kv.get('kv/b', { serializable: true });
    t.is(text(serial.kvs[0]!.value), '2');

    const fromKey = await client.kv.get('kv/b', { fromKey: true });
    t.deepEqual(fromKey.kvs.map((kv) => text(kv.key)), ['kv/b', 'kv/c']);

    const del = await client.kv.delete('kv/', { prefix: true, prevKv: true });
    t.is(del.deleted, 3);
    t.deepEqual(del.prevKvs.map((kv) => text(kv.value)), ['11', '2', '3']);
    t.is((await client.kv.get('kv/', { prefix: true })).count, 0);

    const binary = new Uint8Array([0, 255, 1, 128]);
    await client.kv.put(binary, binary);
    t.deepEqual([...(await client.kv.get(binary)).kvs[0]!.value], [...binary]);
  } finally {
    client.close();
  }
});

test.serial('transactions: compares of every target, both branches, nested txn', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  try {
    const put = await client.kv.put('tx/k', 'v');
    const yes = await client.kv
      .txn()
      .if(cmp.value('tx/k', '=', 'v'), cmp.version('tx/k', '=', 1), cmp.createRevision('tx/k', '=', put.header.revision), cmp.modRevision('tx/k', '>', 0), cmp.lease('tx/k', '=', 0n))
      .success(op.put('tx/k', 'w', { prevKv: true }), op.get('tx/k'), op.delete('tx/none'))
      .failure(op.put('tx/failed', 'x'))
      .commit();
    t.true(yes.succeeded);
    t.is(yes.responses.length, 3);
    const [p, g, d] = yes.responses;
    t.true(p !== undefined && 'responsePut' in p && text(p.responsePut.prevKv?.value) === 'v');
    t.true(g !== undefined && 'responseRange' in g && text(g.responseRange.kvs[0]?.value) === 'w');
    t.true(d !== undefined && 'responseDeleteRange' in d && d.responseDeleteRange.deleted === 0);

    const no = await client.kv.txn().if(cmp.value('tx/k', '=', 'nope')).success(op.put('tx/never', '1')).failure(op.get('tx/k')).commit();
    t.false(no.succeeded);
    t.is((await client.kv.get('tx/never')).count, 0);

    const inner = client.kv.txn().if(cmp.version('tx/k', '>', 0)).success(op.put('tx/inner', 'yes')).build();
    const outer = await client.kv.txn().success(op.txn(inner)).commit();
    const nested = outer.responses[0];
    t.true(nested !== undefined && 'responseTxn' in nested && nested.responseTxn.succeeded);
    t.is(text((await client.kv.get('tx/inner')).kvs[0]?.value), 'yes');

    // an empty transaction is allowed
    t.true((await client.kv.txn().commit()).succeeded);
  } finally {
    client.close();
  }
});

test.serial('errors carry etcd\'s code and message in a class of their own', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  try {
    const empty = await t.throwsAsync(client.kv.put('', 'v'), { instanceOf: InvalidArgumentError });
    t.is(empty.message, 'etcdserver: key is not provided');
    t.is((empty as EtcdServerError).code, GrpcCode.INVALID_ARGUMENT);
    t.is((empty as EtcdServerError).httpStatus, 400);
    const missing = await t.throwsAsync(client.kv.put('err/missing', '', { ignoreValue: true }), { instanceOf: KeyNotFoundError });
    t.is(missing.message, 'etcdserver: key not found');
    await t.throwsAsync(client.kv.put('err/k', 'v', { lease: 123n }), { instanceOf: LeaseNotFoundError, message: 'etcdserver: requested lease not found' });
    await t.throwsAsync(client.lease.revoke(123n), { instanceOf: LeaseNotFoundError });
    await t.throwsAsync(client.cluster.memberRemove('0000000000001234'), { instanceOf: MemberNotFoundError });
    const head = (await client.kv.put('err/h', '1')).header.revision;
    await client.kv.put('err/h', '2');
    await t.throwsAsync(client.kv.get('err/h', { revision: head + 1000 }), { instanceOf: FutureRevisionError });
    await client.kv.compact(head + 1);
    const compacted = await t.throwsAsync(client.kv.get('err/h', { revision: head }), { instanceOf: CompactedError });
    t.is((compacted as EtcdServerError).code, GrpcCode.OUT_OF_RANGE);
    const dup = await t.throwsAsync(client.kv.txn().success(op.put('err/d', '1'), op.put('err/d', '2')).commit(), { instanceOf: InvalidArgumentError });
    t.is(dup.message, 'etcdserver: duplicate key given in txn request');
  } finally {
    client.close();
  }
});

test.serial('failover: a dead first endpoint is skipped, even for writes (never reached)', async (t) => {
  const proxy = await startProxy(etcd.clientPort);
  await proxy.setDown(true);
  const client = new Client({ endpoints: [proxy.endpoint, etcd.endpoint] });
  try {
    await client.kv.put('fo/k', 'v');
    t.is(text((await client.kv.get('fo/k')).kvs[0]?.value), 'v');
    t.is(client.connection.current().text, etcd.endpoint, 'the live endpoint is pinned');
  } finally {
    client.close();
    await proxy.close();
  }
});

test.serial('a write is not retried once it may have reached the server; a read is', async (t) => {
  const proxy = await startProxy(etcd.clientPort);
  const client = new Client({ endpoints: [proxy.endpoint], requestTimeoutMs: 1_500 });
  try {
    await client.kv.put('rt/k', 'v'); // the connection is open now
    proxy.setBlackhole(true);
    proxy.cut();
    const started = Date.now();
    const timeout = await t.throwsAsync(client.kv.get('rt/k'), { instanceOf: RequestTimeoutError });
    t.true(Date.now() - started >= 1_400, 'a read keeps trying until its deadline');
    t.is((timeout as RequestTimeoutError).timeoutMs, 1_500);
    proxy.setBlackhole(false);
    await proxy.setDown(true);
    // refused connections: not sent, so even a put is retried until the deadline
    const refused = await t.throwsAsync(client.kv.put('rt/k', 'w', { timeoutMs: 600 }), { instanceOf: RequestTimeoutError });
    t.true(refused.cause instanceof ConnectionError);
    await proxy.setDown(false);
    t.is(text((await client.kv.get('rt/k')).kvs[0]?.value), 'v');
  } finally {
    client.close();
    await proxy.close();
  }
});

test.serial('abort and close end calls with their own errors', async (t) => {
  const proxy = await startProxy(etcd.clientPort);
  proxy.setBlackhole(true);
  const client = new Client({ endpoints: [etcd.endpoint], requestTimeoutMs: 10_000 });
  try {
    const controller = new AbortController();
    const slow = new Client({ endpoints: [proxy.endpoint], requestTimeoutMs: 10_000 });
    const pending = slow.kv.get('x', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await t.throwsAsync(pending, { instanceOf: RequestAbortedError });
    const closing = slow.kv.get('x');
    setTimeout(() => slow.close(), 100);
    await t.throwsAsync(closing, { instanceOf: ClientClosedError });
    await t.throwsAsync(slow.kv.get('x'), { instanceOf: ClientClosedError });
    t.is((await client.kv.get('nothing')).count, 0);
  } finally {
    client.close();
    await proxy.close();
  }
});

test.serial('cluster and maintenance calls', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  try {
    const members = await client.cluster.memberList();
    t.is(members.members.length, 1);
    t.regex(members.members[0]!.ID, /^[0-9a-f]{16}$/);
    const status = await client.maintenance.status();
    t.is(status.leader, members.members[0]!.ID);
    t.is(status.version, '3.4.23');
    t.true(status.dbSize > 0);
    t.deepEqual((await client.maintenance.alarmList()).alarms, []);
    await client.maintenance.defragment();
    t.true((await client.maintenance.hash()).hash > 0);
    const hkv = await client.maintenance.hashKV(0);
    // etcd 3.4's gateway answers HashKV on the Hash route; tetcd serves HashKV itself
    t.is(hkv.fromHashRoute, etcd.kind === 'etcd', 'HashKV answered by the Hash route only on etcd');
    await client.maintenance.moveLeader(status.leader);
    let bytes = 0;
    for await (const chunk of client.maintenance.snapshot()) bytes += chunk.blob.length;
    // etcd's snapshot is its database file; tetcd's dbSize is a logical size, its snapshot a compact image (README)
    t.true(etcd.kind === 'etcd' ? bytes >= status.dbSize : bytes > 0, `${bytes} snapshot bytes, dbSize ${status.dbSize}`);
    const learner = await client.cluster.memberAdd(['http://127.0.0.1:9'], { isLearner: true });
    t.true(learner.member.isLearner);
    const updated = await client.cluster.memberUpdate(learner.member.ID, ['http://127.0.0.1:10']);
    t.true(updated.members.some((m) => m.peerURLs[0] === 'http://127.0.0.1:10'));
    await t.throwsAsync(client.cluster.memberPromote(learner.member.ID), { instanceOf: EtcdServerError, message: /can only promote a learner member which is in sync with leader/ });
    t.is((await client.cluster.memberRemove(learner.member.ID)).members.length, 1);
  } finally {
    client.close();
  }
});
