// Watches against a real etcd (HTTP streams) and through a WebSocket gateway relaying to it: events and options,
// cancellation, compaction, progress, and above all resumption after broken connections with no gap and no
// duplicate while writes go on.
import test from 'ava';
import type { WatchResponse } from '../../actors/api/types.js';
import { Client } from '../../client/client.js';
import { WatchCompactedError } from '../../client/errors.js';
import { isProgressNotify, type Watch } from '../../client/watch.js';
import { startTarget, type Target } from './helpers/target.js';
import { startProxy } from './helpers/proxy.js';
import { startWsGateway as startRelay } from './helpers/ws-gateway.js';
import { startWsTap } from './helpers/ws-tap.js';

/** The server under test: a tetcd member by default (TETCD_CTL_TARGET=etcd: a real etcd 3.4). */
let etcd: Target;

/** WebSocket in front of the server: tetcd's own, tapped to count and drop sockets; etcd's through a relay. */
const startWsGateway = (port: number) => (etcd.kind === 'etcd' ? startRelay(port) : startWsTap(port));

test.before(async () => {
  etcd = await startTarget({ etcd: { progressNotifyInterval: '300ms' }, flags: ['--experimental-watch-progress-notify-interval', '300ms'] });
});

test.after.always(async () => {
  await etcd?.stop();
});

const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

/** Reads responses until `until` says stop (or the time runs out). */
async function collect(watch: Watch, until: (all: WatchResponse[]) => boolean, timeoutMs = 10_000): Promise<WatchResponse[]> {
  const all: WatchResponse[] = [];
  const timer = setTimeout(() => void watch.cancel(), timeoutMs);
  try {
    for await (const r of watch) {
      all.push(r);
      if (until(all)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return all;
}

const events = (rs: WatchResponse[]) => rs.flatMap((r) => r.events);

for (const transport of ['http', 'ws'] as const) {
  test.serial(`${transport}: events of a key, a prefix and a range, with prevKv and filters`, async (t) => {
    const gateway = transport === 'ws' ? await startWsGateway(etcd.clientPort) : undefined;
    const client = new Client({ endpoints: [gateway?.endpoint ?? etcd.endpoint], transport });
    try {
      const prefix = `${transport}/ev/`;
      const w = client.watch(prefix, { prefix: true, prevKv: true });
      const range = client.watch(prefix + 'a', { rangeEnd: prefix + 'c', filters: ['nodelete'] });
      const header = await w.created;
      await range.created;
      t.true(header.revision > 0);
      await client.kv.put(prefix + 'a', '1');
      await client.kv.put(prefix + 'a', '2');
      await client.kv.put(prefix + 'z', '3');
      await client.kv.delete(prefix + 'a');
      const got = events(await collect(w, (all) => events(all).length >= 4));
      t.deepEqual(got.map((e) => [e.type, text(e.kv.key), text(e.kv.value), text(e.prevKv?.value)]), [
        [0, prefix + 'a', '1', undefined],
        [0, prefix + 'a', '2', '1'],
        [0, prefix + 'z', '3', undefined],
        [1, prefix + 'a', '', '2'],
      ]);
      const ranged = events(await collect(range, (all) => events(all).length >= 2));
      t.deepEqual(ranged.map((e) => text(e.kv.value)), ['1', '2']);
      if (gateway) t.is(gateway.upgrades.get('/v3/watch'), 1, 'both watches share one WebSocket');
    } finally {
      client.close();
      await gateway?.close();
    }
  });

  test.serial(`${transport}: start revision, compacted start, cancel, break`, async (t) => {
    const gateway = transport === 'ws' ? await startWsGateway(etcd.clientPort) : undefined;
    const client = new Client({ endpoints: [gateway?.endpoint ?? etcd.endpoint], transport });
    try {
      const key = `${transport}/rev`;
      const first = (await client.kv.put(key, 'a')).header.revision;
      await client.kv.put(key, 'b');
      const past = client.watch(key, { startRevision: first });
      const replay = events(await collect(past, (all) => events(all).length >= 2));
      t.deepEqual(replay.map((e) => text(e.kv.value)), ['a', 'b']);
      t.true(past.done, 'break cancelled the watch');

      await client.kv.put(key, 'c');
      await client.kv.compact(first + 2);
      const compacted = client.watch(key, { startRevision: first });
      const error = await t.throwsAsync(collect(compacted, () => false), { instanceOf: WatchCompactedError });
      t.is((error as WatchCompactedError).compactRevision, first + 2);

      const cancelled = client.watch(key);
      await cancelled.created;
      const reading = collect(cancelled, () => false);
      await cancelled.cancel();
      t.deepEqual(await reading, []);
    } finally {
      client.close();
      await gateway?.close();
    }
  });

  test.serial(`${transport}: progress notifications, periodic and requested`, async (t) => {
    const gateway = transport === 'ws' ? await startWsGateway(etcd.clientPort) : undefined;
    const client = new Client({ endpoints: [gateway?.endpoint ?? etcd.endpoint], transport });
    try {
      // an external server's interval is unknown: periodic notifications only where this test set the interval
      if (etcd.kind !== 'external') {
        const periodic = client.watch(`${transport}/progress`, { progressNotify: true });
        const header = await periodic.created;
        const notified = await collect(periodic, (all) => all.some(isProgressNotify), 5_000);
        t.true(notified.some(isProgressNotify));
        t.true(periodic.nextRevision > header.revision, 'a progress notification for the watch moves its resume point');
      }

      const asked = client.watch(`${transport}/asked`);
      await asked.created;
      client.watcher.requestProgress();
      const answer = await collect(asked, (all) => all.some(isProgressNotify), 5_000);
      const progress = answer.find(isProgressNotify);
      t.truthy(progress);
      t.is(progress?.watchId, -1);
      await asked.cancel();
    } finally {
      client.close();
      await gateway?.close();
    }
  });
}

/**
 * Writes `count` revisions to `key` while `breakConnections` runs, and checks the watch saw each exactly once, in
 * order, across its reconnections.
 */
async function resumes(t: import('ava').ExecutionContext, client: Client, writer: Client, key: string, breakConnections: () => void): Promise<void> {
  const count = 150;
  const watch = client.watch(key);
  await watch.created;
  const written: number[] = [];
  const writes = (async () => {
    for (let i = 0; i < count; i++) {
      written.push((await writer.kv.put(key, String(i))).header.revision);
      if (i % 25 === 12) breakConnections();
    }
  })();
  const seen: number[] = [];
  const values: string[] = [];
  const reading = collect(watch, (all) => events(all).length >= count, 30_000).then((rs) => {
    for (const e of events(rs)) {
      seen.push(e.kv.modRevision);
      values.push(text(e.kv.value)!);
    }
  });
  await writes;
  await reading;
  t.deepEqual(seen, written, 'every revision once, in order');
  t.deepEqual(values, Array.from({ length: count }, (_, i) => String(i)));
  t.true(watch.stats.creations > 1, `the watch was re-created after the breaks (${watch.stats.creations} creations)`);
}

test.serial('http: a watch resumes after its connection breaks, with no gap and no duplicate', async (t) => {
  const proxy = await startProxy(etcd.clientPort);
  const client = new Client({ endpoints: [proxy.endpoint], transport: 'http' });
  const writer = new Client({ endpoints: [etcd.endpoint], transport: 'http' });
  try {
    await resumes(t, client, writer, 'resume/http', () => proxy.cut());
  } finally {
    client.close();
    writer.close();
    await proxy.close();
  }
});

test.serial('ws: watches resume after the WebSocket drops, with no gap and no duplicate', async (t) => {
  const gateway = await startWsGateway(etcd.clientPort);
  const client = new Client({ endpoints: [gateway.endpoint], transport: 'ws' });
  const writer = new Client({ endpoints: [etcd.endpoint], transport: 'http' });
  try {
    await resumes(t, client, writer, 'resume/ws', () => gateway.dropAll());
    t.true((gateway.upgrades.get('/v3/watch') ?? 0) > 1);
  } finally {
    client.close();
    writer.close();
    await gateway.close();
  }
});

test.serial('a watch fails over to the next endpoint when its member goes away', async (t) => {
  const proxy = await startProxy(etcd.clientPort);
  const client = new Client({ endpoints: [proxy.endpoint, etcd.endpoint], transport: 'http' });
  const writer = new Client({ endpoints: [etcd.endpoint], transport: 'http' });
  try {
    const watch = client.watch('failover/w');
    await watch.created;
    await writer.kv.put('failover/w', '1');
    await proxy.setDown(true);
    await writer.kv.put('failover/w', '2');
    const got = events(await collect(watch, (all) => events(all).length >= 2));
    t.deepEqual(got.map((e) => text(e.kv.value)), ['1', '2']);
    t.is(client.connection.current().text, etcd.endpoint);
  } finally {
    client.close();
    writer.close();
    await proxy.close();
  }
});

test.serial('auto: WebSocket where the server offers it, HTTP where it does not', async (t) => {
  const gateway = await startWsGateway(etcd.clientPort);
  const viaWs = new Client({ endpoints: [gateway.endpoint] });
  const viaHttp = new Client({ endpoints: [etcd.endpoint] });
  try {
    for (const client of [viaWs, viaHttp]) {
      const w = client.watch('auto/k');
      await w.created;
      await client.kv.put('auto/k', 'v');
      const got = events(await collect(w, (all) => events(all).length >= 1));
      t.is(text(got[0]?.kv.value), 'v');
    }
    t.is(gateway.upgrades.get('/v3/watch'), 1);
    t.is(gateway.upgrades.get('/v3/kv/put'), undefined, 'unary calls stay on HTTP in auto mode');
  } finally {
    viaWs.close();
    viaHttp.close();
    await gateway.close();
  }
});

test.serial('ws: unary calls and keep-alives pipelined on WebSocket', async (t) => {
  const gateway = await startWsGateway(etcd.clientPort);
  const client = new Client({ endpoints: [gateway.endpoint], transport: 'ws' });
  try {
    const puts = await Promise.all(Array.from({ length: 50 }, (_, i) => client.kv.put(`wsu/${i}`, String(i))));
    t.is(new Set(puts.map((p) => p.header.revision)).size, 50);
    const r = await client.kv.get('wsu/', { prefix: true, countOnly: true });
    t.is(r.count, 50);
    await t.throwsAsync(client.kv.put('', 'x'), { message: 'etcdserver: key is not provided' });
    const lease = await client.lease.grant(10);
    const ka = await client.lease.keepAliveOnce(lease.ID);
    t.is(ka.TTL, 10);
    t.is(gateway.upgrades.get('/v3/kv/put'), 1, 'one socket for every put');
    t.true((gateway.messages.get('/v3/lease/keepalive') ?? 0) >= 1);
  } finally {
    client.close();
    await gateway.close();
  }
});

test.serial('many watches on one client: each sees its own key only', async (t) => {
  const gateway = await startWsGateway(etcd.clientPort);
  const client = new Client({ endpoints: [gateway.endpoint], transport: 'ws' });
  try {
    const watches = Array.from({ length: 40 }, (_, i) => client.watch(`many/${i}`));
    await Promise.all(watches.map((w) => w.created));
    await Promise.all(watches.map((_, i) => client.kv.put(`many/${i}`, String(i))));
    const got = await Promise.all(watches.map((w) => collect(w, (all) => events(all).length >= 1)));
    t.deepEqual(got.map((rs) => text(events(rs)[0]?.kv.value)), watches.map((_, i) => String(i)));
    t.is(gateway.upgrades.get('/v3/watch'), 1);
  } finally {
    client.close();
    await gateway.close();
  }
});
