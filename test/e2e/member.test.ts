// A standalone member end to end: a real tetcd process on loopback, driven over etcd's JSON gateway.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Wal, walDir } from '../../actors/wal/wal.js';
import { realDisk } from '../../runtime/disk.js';
import { silentLogger } from '../../runtime/log.js';
import { makeCluster, Member, type Cluster } from '../helpers/tetcd.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();

interface RangeBody {
  header: { revision: string };
  kvs?: Array<{ key: string; value?: string; version: string; lease?: string }>;
  count?: string;
}

async function standalone(flags: string[] = []): Promise<{ cluster: Cluster; m: Member }> {
  const cluster = await makeCluster(1, { flags });
  await cluster.start();
  return { cluster, m: cluster.members[0]! };
}

test('every answered write survives a restart; SIGTERM exits 0', async (t) => {
  const { cluster, m } = await standalone();
  try {
    for (let i = 0; i < 50; i++) {
      const { status } = await m.call('/v3/kv/put', { key: b64(`k${i}`), value: b64(`v${i}`) });
      t.is(status, 200);
    }
    t.is(await m.stop(), 0, m.exitReport());
    m.start();
    await m.ready();
    const { body } = await m.call<RangeBody>('/v3/kv/range', { key: b64('k'), range_end: b64('l') });
    t.is(body.count, '50');
    t.is(body.header.revision, '51');
    t.is(text(body.kvs!.find((kv) => text(kv.key) === 'k7')?.value), 'v7');
  } finally {
    await cluster.stop();
  }
});

test('a first start stopped after the WAL was created but before raft wrote anything bootstraps again', async (t) => {
  const { cluster, m } = await standalone();
  try {
    t.is(await m.stop(), 0, m.exitReport());
    // what Ctrl-C during the first start can leave: a WAL holding its creation records and nothing else
    const wal = walDir(m.spec.dataDir);
    const metadata = Wal.readMetadata(realDisk, wal);
    t.truthy(metadata);
    fs.rmSync(path.join(m.spec.dataDir, 'member'), { recursive: true, force: true });
    Wal.openOrCreate({ dir: wal, disk: realDisk, log: silentLogger }, metadata!).wal.close();
    m.start();
    await m.ready();
    const put = await m.call<{ header: { revision: string } }>('/v3/kv/put', { key: b64('after'), value: b64('restart') });
    t.is(put.status, 200, 'the member elected itself and took the write');
    t.is(put.body.header.revision, '2');
    // and a restart with history keeps it: the bootstrap is not applied twice
    t.is(await m.stop(), 0, m.exitReport());
    m.start();
    await m.ready();
    const { body } = await m.call<RangeBody>('/v3/kv/range', { key: b64('after') });
    t.is(text(body.kvs?.[0]?.value), 'restart');
    t.is(body.header.revision, '2');
  } finally {
    await cluster.stop();
  }
});

test('SIGTERM while the member is still starting ends in a clean stop, not in the signal\'s default exit', async (t) => {
  const cluster = await makeCluster(1, { flags: ['--log-level', 'info'] });
  const m = cluster.members[0]!;
  try {
    m.start();
    // the first line startMember logs: main has been running for a while, the gateway is not serving yet
    const deadline = Date.now() + 20_000;
    while (m.child && !m.log.includes('starting member') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    t.true(m.log.includes('starting member'), m.exitReport());
    t.is(await m.stop(), 0, m.exitReport());
    t.regex(m.log, /received signal; shutting down/);
    // and the data dir it leaves behind starts normally
    m.start();
    await m.ready();
    t.is((await m.call('/v3/kv/put', { key: b64('after'), value: b64('early stop') })).status, 200);
  } finally {
    await cluster.stop();
  }
});

test('a second member on the same data dir refuses to start', async (t) => {
  const { cluster, m } = await standalone();
  try {
    const intruder = new Member({ ...m.spec, clientPort: m.spec.clientPort + 0, name: 'intruder' }, ['--data-dir', m.spec.dataDir, '--listen-client-urls', 'http://127.0.0.1:0', '--listen-peer-urls', 'http://127.0.0.1:0'], {});
    intruder.start();
    const deadline = Date.now() + 15_000;
    while (intruder.child && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.is(intruder.exitCode, 1);
    t.regex(intruder.log, /in use by another member/);
    // the first member is unharmed
    t.is((await m.call('/v3/kv/put', { key: b64('still'), value: b64('here') })).status, 200);
  } finally {
    await cluster.stop();
  }
});

test('snapshots are taken every --snapshot-count entries and a restart restores from snapshot plus WAL', async (t) => {
  const { cluster, m } = await standalone(['--snapshot-count', '100', '--log-level', 'info']);
  try {
    for (let i = 0; i < 250; i++) await m.call('/v3/kv/put', { key: b64(`s${i % 40}`), value: b64(`round ${i}`) });
    const snapDir = path.join(m.spec.dataDir, 'member', 'snap');
    const deadline = Date.now() + 10_000;
    while (fs.readdirSync(snapDir).filter((f) => f.endsWith('.snap')).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.true(fs.readdirSync(snapDir).filter((f) => f.endsWith('.snap')).length >= 2, 'at least two snapshots written');
    await m.stop();
    m.start();
    await m.ready();
    t.regex(m.log, /restored the state from a snapshot/);
    const { body } = await m.call<RangeBody>('/v3/kv/range', { key: b64('s'), range_end: b64('t') });
    t.is(body.count, '40');
    t.is(body.header.revision, '251');
    t.is(text(body.kvs!.find((kv) => text(kv.key) === 's9')?.value), 'round 249');
    t.is(body.kvs!.find((kv) => text(kv.key) === 's9')?.version, '7');
  } finally {
    await cluster.stop();
  }
});

test('a lease expires on the leader and takes its keys with it, in one revision', async (t) => {
  const { cluster, m } = await standalone();
  try {
    // long enough that the checks below run before it expires even on a loaded machine (a TTL of 0 is omitted)
    const grant = await m.call<{ ID: string; TTL: string }>('/v3/lease/grant', { TTL: 4 });
    t.is(grant.status, 200);
    t.is(grant.body.TTL, '4');
    const ID = grant.body.ID;
    await m.call('/v3/kv/put', { key: b64('l1'), value: b64('a'), lease: ID });
    await m.call('/v3/kv/put', { key: b64('l2'), value: b64('b'), lease: ID });
    const ttl = await m.call<{ TTL: string; grantedTTL: string; keys?: string[] }>('/v3/lease/timetolive', { ID, keys: true });
    t.is(ttl.body.grantedTTL, '4');
    const remaining = Number(ttl.body.TTL ?? '0');
    t.true(remaining >= 0 && remaining <= 4, `TTL ${ttl.body.TTL}`);
    t.deepEqual(ttl.body.keys!.map(text).sort(), ['l1', 'l2']);
    const before = await m.call<RangeBody>('/v3/kv/range', { key: b64('l'), range_end: b64('m') });
    t.is(before.body.count, '2');
    const deadline = Date.now() + 15_000;
    let after = before;
    while (Date.now() < deadline) {
      after = await m.call<RangeBody>('/v3/kv/range', { key: b64('l'), range_end: b64('m') });
      if (after.body.count === undefined) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.is(after.body.count, undefined, 'both keys are gone');
    t.is(Number(after.body.header.revision), Number(before.body.header.revision) + 1, 'deleted in one revision');
    const gone = await m.call<{ TTL: string }>('/v3/lease/timetolive', { ID });
    t.is(gone.body.TTL, '-1');
  } finally {
    await cluster.stop();
  }
});

test('defragment writes a fresh snapshot; the snapshot stream returns a verifiable file', async (t) => {
  const { cluster, m } = await standalone();
  try {
    for (let i = 0; i < 20; i++) await m.call('/v3/kv/put', { key: b64(`d${i}`), value: b64('x'.repeat(100)) });
    const defrag = await m.call('/v3/maintenance/defragment', {});
    t.is(defrag.status, 200);
    const snaps = fs.readdirSync(path.join(m.spec.dataDir, 'member', 'snap')).filter((f) => f.endsWith('.snap'));
    t.is(snaps.length, 1);
    const response = await fetch(`${m.clientUrl}/v3/maintenance/snapshot`, { method: 'POST', body: '{}' });
    t.is(response.status, 200);
    const lines = (await response.text()).trim().split('\n').map((l) => JSON.parse(l) as { result: { blob?: string; remaining_bytes?: string } });
    const blob = Buffer.concat(lines.map((l) => Buffer.from(l.result.blob ?? '', 'base64')));
    t.true(blob.length > 2000);
    t.is(lines.at(-1)!.result.remaining_bytes, undefined, 'the last message has no bytes remaining');
  } finally {
    await cluster.stop();
  }
});

test('/metrics reports raft, the store, watchers and WAL fsyncs of the running member', async (t) => {
  const { cluster, m } = await standalone();
  const controller = new AbortController();
  try {
    for (let i = 0; i < 5; i++) await m.call('/v3/kv/put', { key: b64(`m${i}`), value: b64('v') });
    // one watch stream with one watcher, held open over chunked HTTP as etcd's gateway serves it
    const watch = await fetch(`${m.clientUrl}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('m0') } }),
      signal: controller.signal,
    });
    const reader = watch.body!.getReader();
    await reader.read(); // the created answer: the watcher exists
    const scrape = async () => {
      const text = await (await fetch(`${m.clientUrl}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
      return { text, value };
    };
    const { text: body, value } = await scrape();
    t.true(value('tetcd_raft_term') >= 1);
    t.is(value('etcd_server_has_leader'), 1);
    t.is(value('etcd_server_is_leader'), 1);
    t.is(value('etcd_server_leader_changes_seen_total'), 1);
    t.true(value('tetcd_raft_applied_index') >= 5);
    t.true(value('etcd_server_proposals_committed_total') >= value('tetcd_raft_applied_index'));
    t.is(value('etcd_mvcc_current_revision'), 6);
    t.is(value('etcd_debugging_mvcc_keys_total'), 5);
    t.true(value('etcd_mvcc_db_total_size_in_bytes') > 0);
    t.is(value('etcd_debugging_mvcc_watcher_total'), 1);
    t.is(value('etcd_debugging_mvcc_watch_stream_total'), 1);
    t.true(value('etcd_disk_wal_fsync_duration_seconds_count') >= 5, 'every acknowledged put was fsynced');
    t.regex(body, /^tetcd_gateway_requests_total\{route="put",code="0"\} 5$/m);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    // the watcher goes with its stream
    let watchers = NaN;
    for (let i = 0; i < 50 && watchers !== 0; i++) {
      watchers = (await scrape()).value('etcd_debugging_mvcc_watcher_total');
      if (watchers !== 0) await new Promise((r) => setTimeout(r, 100));
    }
    t.is(watchers, 0);
  } finally {
    controller.abort();
    await cluster.stop();
  }
});

test('a write sent as soon as the member listens waits for its first leader instead of failing', async (t) => {
  const cluster = await makeCluster(1);
  const m = cluster.members[0]!;
  try {
    m.start();
    // the first moment the client port answers anything, before raft has elected itself
    const deadline = Date.now() + 20_000;
    let answered: { status: number; body: Record<string, unknown> } | undefined;
    while (!answered && Date.now() < deadline) {
      answered = await m.call('/v3/kv/put', { key: b64('early'), value: b64('bird') }, 15_000).catch(() => undefined);
      if (!answered) await new Promise((r) => setTimeout(r, 20));
    }
    t.is(answered?.status, 200, JSON.stringify(answered?.body));
    const { body } = await m.call<RangeBody>('/v3/kv/range', { key: b64('early') });
    t.is(text(body.kvs?.[0]?.value), 'bird');
  } finally {
    await cluster.stop();
  }
});

test('--experimental-watch-progress-notify-interval: a watcher that asked for progress gets it on that period', async (t) => {
  const { cluster, m } = await standalone(['--experimental-watch-progress-notify-interval', '300ms']);
  const controller = new AbortController();
  try {
    await m.call('/v3/kv/put', { key: b64('p'), value: b64('1') });
    const watch = await fetch(`${m.clientUrl}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('p'), progress_notify: true } }),
      signal: controller.signal,
    });
    const reader = watch.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    const lines: Array<{ result?: { created?: boolean; events?: unknown[]; header?: { revision?: string } } }> = [];
    const started = Date.now();
    while (lines.filter((l) => !l.result?.created).length < 2 && Date.now() - started < 10_000) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) lines.push(JSON.parse(line));
      }
    }
    const progress = lines.filter((l) => !l.result?.created);
    t.true(progress.length >= 2, `progress notifications: ${JSON.stringify(lines)}`);
    for (const p of progress) {
      t.is(p.result?.events, undefined);
      t.is(p.result?.header?.revision, '2');
    }
    t.true(Date.now() - started < 5_000, 'they came on the 300 ms period, not the default 10 minutes');
  } finally {
    controller.abort();
    await cluster.stop();
  }
});
