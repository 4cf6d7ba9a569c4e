// The recipes against a real etcd. Lock: 20 contenders get the lock in create-revision order, and each release wakes
// exactly one waiter (counted in the watch events each waiter received); a holder whose session dies loses the lock
// when its lease expires. Election: the leader changes when it resigns or its session dies, observers see every
// leader (and proclaimed value) in order.
import test from 'ava';
import type { RangeResponse } from '../../actors/api/types.js';
import { Client } from '../../client/client.js';
import { Election } from '../../client/concurrency/election.js';
import { Mutex } from '../../client/concurrency/mutex.js';
import { Session } from '../../client/concurrency/session.js';
import { ElectionNoLeaderError, ElectionNotLeaderError } from '../../client/errors.js';
import { startTarget, type Target } from './helpers/target.js';

/** The server under test: a tetcd member by default (TETCD_CTL_TARGET=etcd: a real etcd 3.4). */
let etcd: Target;

test.before(async () => {
  etcd = await startTarget();
});

test.after.always(async () => {
  await etcd?.stop();
});

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test.serial('lock: 20 contenders in create-revision order, each release wakes exactly one waiter', async (t) => {
  const contenders = 20;
  const clients = Array.from({ length: contenders }, () => new Client({ endpoints: [etcd.endpoint] }));
  const sessions = await Promise.all(clients.map((c) => Session.create(c, { ttlSeconds: 30 })));
  const mutexes = sessions.map((s) => new Mutex(s, 'fair'));
  try {
    const acquired: number[] = [];
    const failures: unknown[] = [];
    const locking = mutexes.map((m, i) =>
      m.lock().then(
        () => acquired.push(i),
        (error: unknown) => failures.push(error),
      ),
    );
    await until(async () => (await clients[0]!.kv.get('fair/', { prefix: true, countOnly: true })).count === contenders, 'every contender queued');
    await until(() => acquired.length === 1, 'a first holder');
    await until(() => mutexes.every((m) => m.myRevision > 0), 'every contender knows its revision');
    // all queued: the order they will get the lock in is the order of their keys' create revisions
    const byRevision = mutexes.map((m, i) => [m.myRevision, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i);
    t.deepEqual(failures, []);
    t.is(new Set(mutexes.map((m) => m.myRevision)).size, contenders, mutexes.map((m) => m.myRevision).join(' '));
    await until(() => mutexes.every((m, i) => i === acquired[0] || m.stats.waits === 1), 'every waiter watching its predecessor');
    for (let turn = 0; turn < contenders; turn++) {
      const holder = acquired[turn]!;
      t.is(holder, byRevision[turn], `turn ${turn} goes to the next create revision`);
      const before = mutexes.map((m) => m.stats.watchEvents);
      await mutexes[holder]!.unlock();
      if (turn + 1 < contenders) {
        await until(() => acquired.length === turn + 2, `turn ${turn + 1}`);
        await new Promise((r) => setTimeout(r, 50)); // room for any other wake-up to show
        const woken = mutexes.map((m, i) => m.stats.watchEvents - before[i]!);
        t.deepEqual(woken.filter((n) => n > 0), [1], `turn ${turn}: one waiter woken, by one event`);
        t.true(woken[acquired[turn + 1]!]! === 1, 'and it is the next holder');
      }
    }
    await Promise.all(locking);
    t.deepEqual(failures, []);
    t.deepEqual(acquired, byRevision);
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    for (const c of clients) c.close();
  }
});

test.serial('lock: a holder whose session dies loses the lock when its lease expires', async (t) => {
  const a = new Client({ endpoints: [etcd.endpoint] });
  const b = new Client({ endpoints: [etcd.endpoint] });
  try {
    const dying = await Session.create(a, { ttlSeconds: 2 });
    const holder = new Mutex(dying, 'expire');
    await holder.lock();
    const live = await Session.create(b, { ttlSeconds: 30 });
    const waiter = new Mutex(live, 'expire');
    t.false(await waiter.tryLock(), 'held');
    dying.orphan(); // the holder stops renewing, as a killed process would
    const started = Date.now();
    await waiter.lock();
    const waitedMs = Date.now() - started;
    t.true(waitedMs >= 500 && waitedMs < 10_000, `the lock came free with the lease (${waitedMs} ms)`);
    t.is((await b.kv.get(holder.key)).count, 0);
    await waiter.unlock();
    await live.close();
  } finally {
    a.close();
    b.close();
  }
});

test.serial('lock: an aborted wait withdraws; tryLock does not wait', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  try {
    const s1 = await Session.create(client, { ttlSeconds: 30 });
    const s2 = await Session.create(client, { ttlSeconds: 30 });
    const m1 = new Mutex(s1, 'abort');
    const m2 = new Mutex(s2, 'abort');
    t.true(await m1.tryLock());
    t.false(await m2.tryLock());
    t.is((await client.kv.get('abort/', { prefix: true })).count, 1, 'a failed tryLock leaves no key');
    const controller = new AbortController();
    const waiting = m2.lock({ signal: controller.signal });
    await until(async () => (await client.kv.get('abort/', { prefix: true })).count === 2, 'queued');
    controller.abort();
    await t.throwsAsync(waiting);
    t.is((await client.kv.get('abort/', { prefix: true })).count, 1, 'the aborted waiter withdrew');
    await m1.unlock();
    await s1.close();
    await s2.close();
  } finally {
    client.close();
  }
});

test.serial('election: leader changes on resign and on session death; observers see every leader in order', async (t) => {
  const clients = Array.from({ length: 3 }, () => new Client({ endpoints: [etcd.endpoint] }));
  const observerClient = new Client({ endpoints: [etcd.endpoint] });
  const controller = new AbortController();
  const seen: string[][] = [[], []];
  const observers = seen.map(async (list) => {
    const observer = new Election(observerClient, 'vote');
    for await (const leader of observer.observe({ signal: controller.signal })) list.push(Buffer.from(leader.kvs[0]!.value).toString());
  });
  try {
    await t.throwsAsync(new Election(observerClient, 'vote').leader(), { instanceOf: ElectionNoLeaderError });
    const sessions = await Promise.all(clients.map((c, i) => Session.create(c, { ttlSeconds: i === 1 ? 2 : 30 })));
    const elections = sessions.map((s) => new Election(s, 'vote'));
    const candidates = async (n: number) => (await observerClient.kv.get('vote/', { prefix: true, countOnly: true })).count === n;
    await elections[0]!.campaign('first');
    // one after the other, so the queue order is known: first, second, third
    const second = elections[1]!.campaign('second');
    await until(() => candidates(2), 'second candidate');
    const third = elections[2]!.campaign('third');
    await until(() => candidates(3), 'third candidate');
    const leader = async () => Buffer.from((await new Election(observerClient, 'vote').leader()).kvs[0]!.value).toString();
    t.is(await leader(), 'first');
    await elections[0]!.proclaim('first, again');
    await until(() => seen.every((l) => l.includes('first, again')), 'observers saw the proclaimed value');
    await elections[0]!.resign();
    await second;
    t.is(await leader(), 'second');
    await t.throwsAsync(elections[0]!.proclaim('stale'), { instanceOf: ElectionNotLeaderError });
    sessions[1]!.orphan(); // the second leader's process dies: its 2 s lease expires
    await third;
    t.is(await leader(), 'third');
    await until(() => seen.every((l) => l.includes('third')), 'observers saw the third leader');
    for (const list of seen) t.deepEqual(list, ['first', 'first, again', 'second', 'third']);
    await elections[2]!.resign();
    await Promise.all([sessions[0]!.close(), sessions[2]!.close()]);
  } finally {
    controller.abort();
    await Promise.all(observers);
    for (const c of [...clients, observerClient]) c.close();
  }
});

test.serial('election: observers see leaders that come and go quickly', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  const controller = new AbortController();
  const seen: string[] = [];
  const observing = (async () => {
    for await (const leader of new Election(client, 'quick').observe({ signal: controller.signal })) {
      seen.push(Buffer.from((leader as RangeResponse).kvs[0]!.value).toString());
      await new Promise((r) => setTimeout(r, 100)); // a slow observer
    }
  })();
  try {
    const session = await Session.create(client, { ttlSeconds: 30 });
    for (let i = 0; i < 5; i++) {
      const e = new Election(session, 'quick');
      await e.campaign(`leader ${i}`);
      await e.resign();
    }
    await until(() => seen.length >= 5, 'every leader observed');
    t.deepEqual(seen, ['leader 0', 'leader 1', 'leader 2', 'leader 3', 'leader 4']);
    await session.close();
  } finally {
    controller.abort();
    await observing;
    client.close();
  }
});
