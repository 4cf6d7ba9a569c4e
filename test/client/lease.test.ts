// Leases through the client: grant, time-to-live with keys, list, revoke, one keep-alive, and the keep-alive loop
// that keeps a short lease alive well past its TTL and reports the lease lost when it is revoked or cannot be renewed.
import test from 'ava';
import { Client } from '../../client/client.js';
import { LeaseExpiredError, LeaseNotFoundError } from '../../client/errors.js';
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

test('grant, time to live with keys, list, revoke, keep-alive once', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  try {
    const lease = await client.lease.grant(60);
    t.is(lease.TTL, 60);
    t.true(lease.ID > 0n);
    await client.kv.put('lease/a', '1', { lease: lease.ID });
    const ttl = await client.lease.timeToLive(lease.ID, { keys: true });
    t.is(ttl.grantedTTL, 60);
    t.true(ttl.TTL > 55 && ttl.TTL <= 60);
    t.deepEqual(ttl.keys?.map((k) => Buffer.from(k).toString()), ['lease/a']);
    t.true((await client.lease.leases()).leases.some((l) => l.ID === lease.ID));
    t.is((await client.lease.keepAliveOnce(lease.ID)).TTL, 60);
    await client.lease.revoke(lease.ID);
    t.is((await client.kv.get('lease/a')).count, 0, 'revoking deletes the attached keys');
    const gone = await client.lease.timeToLive(lease.ID);
    t.is(gone.TTL, -1);
    await t.throwsAsync(client.lease.keepAliveOnce(lease.ID), { instanceOf: LeaseNotFoundError });
    const chosen = await client.lease.grant(30, { id: 0x1234n });
    t.is(chosen.ID, 0x1234n);
    await client.lease.revoke(chosen.ID);
  } finally {
    client.close();
  }
});

test('the keep-alive loop keeps a 2 s lease alive for 5 s, then ends when the lease is revoked', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  try {
    const lease = await client.lease.grant(2);
    await client.kv.put('ka/k', 'v', { lease: lease.ID });
    const keepAlive = client.lease.keepAlive(lease.ID);
    const renewals: number[] = [];
    const reading = (async () => {
      try {
        for await (const r of keepAlive) renewals.push(r.TTL);
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    await new Promise((r) => setTimeout(r, 5_000));
    t.is((await client.kv.get('ka/k')).count, 1, 'the key outlived its TTL');
    t.true(renewals.length >= 4, `renewed every TTL/3 (${renewals.length} times)`);
    await client.lease.revoke(lease.ID);
    const ended = await reading;
    t.true(ended instanceof LeaseExpiredError);
    t.true((await keepAlive.ended) instanceof LeaseExpiredError);
  } finally {
    client.close();
  }
});

test('a lease that cannot be renewed before its TTL passes is reported lost', async (t) => {
  const proxy = await startProxy(etcd.clientPort);
  const client = new Client({ endpoints: [proxy.endpoint], requestTimeoutMs: 1_000 });
  try {
    const lease = await client.lease.grant(2);
    const keepAlive = client.lease.keepAlive(lease.ID);
    const first = await keepAlive.next();
    t.false(first.done);
    await proxy.setDown(true);
    const started = Date.now();
    const reason = await keepAlive.ended;
    t.true(reason instanceof LeaseExpiredError);
    t.true(Date.now() - started < 5_000, 'lost within about one TTL');
  } finally {
    client.close();
    await proxy.close();
  }
});

test('close stops the loop without an error', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  try {
    const lease = await client.lease.grant(10);
    const keepAlive = client.lease.keepAlive(lease.ID);
    await keepAlive.next();
    keepAlive.close();
    t.is(await keepAlive.ended, undefined);
    t.true((await keepAlive.next()).done);
    await client.lease.revoke(lease.ID);
  } finally {
    client.close();
  }
});
