// member, endpoint, move-leader, alarm, defrag, snapshot, version, and the global behaviour (environment variables,
// unknown commands, unreachable endpoints): same output and exit codes as etcdctl.
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '../../client/client.js';
import { MemberNotFoundError } from '../../client/errors.js';
import { freePort } from '../client/helpers/etcd.js';
import { startEtcd } from '../client/helpers/etcd.js';
import { startTarget } from '../client/helpers/target.js';
import { Member } from '../helpers/tetcd.js';
import { humanizeBytes } from '../../client/ctl/go.js';
import { memberIdFor } from '../../runtime/config.js';
import { mask, reset, run, same, startSides, type Servers, type Sides } from './helpers/diff.js';

let servers: Servers;
let s: Sides;
let dir: string;

test.before(async () => {
  servers = await startSides();
  s = servers;
  dir = mkdtempSync(path.join(os.tmpdir(), 'tetcd-ctl-cluster-'));
});

test.after.always(async () => {
  await servers?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const formats = ['simple', 'json', 'fields', 'table'];

/** Removes members other than the running one (left over from member add scenarios). */
async function onlyMe(client: Client): Promise<void> {
  const list = await client.cluster.memberList();
  for (const m of list.members) {
    if (m.name === '') await client.cluster.memberRemove(m.ID).catch((e: unknown) => { if (!(e instanceof MemberNotFoundError)) throw e; });
  }
}

/** A learner that never starts: enough to add, list, update and remove without losing quorum. */
let learnerPort = 1000;
async function withLearner(client: Client): Promise<string> {
  await onlyMe(client);
  // fresh peer URLs each time: etcd may refuse to re-add the URLs of a member it is still removing
  // an ID with a leading zero digit prints one digit shorter (%x), which would differ from the other side's learner
  for (let attempt = 0; ; attempt++) {
    const port = learnerPort;
    learnerPort += 2;
    const r = await client.cluster.memberAdd([`http://127.0.0.1:${port}`, `http://127.0.0.1:${port + 1}`], { isLearner: true });
    if (!r.member.ID.startsWith('0') || attempt >= 20) return r.member.ID;
    await client.cluster.memberRemove(r.member.ID);
  }
}

/**
 * etcd lists members in no fixed order: put the running member ("default") first in every format, before IDs are
 * renamed, so both sides' outputs line up.
 */
function memberOrder(text: string): string {
  const defaultFirst = (a: string, b: string) => Number(b.includes('default')) - Number(a.includes('default'));
  let out = text.replace(/"members":\[(.*)\]\}$/m, (_, list: string) => `"members":[${list.split(/(?<=\}),(?=\{)/).sort(defaultFirst).join(',')}]}`);
  // simple: one line per member
  if (/^[0-9a-f]+, (started|unstarted), /m.test(out)) out = out.split('\n').filter((l) => l !== '').sort(defaultFirst).join('\n') + '\n';
  // fields: the header, then one block per member ended by an empty line
  if (out.startsWith('"ClusterID"')) {
    const [head, ...blocks] = out.split(/(?="ID" : )/);
    out = head + blocks.sort(defaultFirst).join('');
  }
  // table: the rows between the second and the last border
  if (out.startsWith('+')) {
    const lines = out.split('\n');
    const rows = lines.slice(3, -2).sort(defaultFirst);
    out = [...lines.slice(0, 3), ...rows, ...lines.slice(-2)].join('\n');
  }
  return out;
}

/** A member added by the command itself sits before or after this member by chance: order it by name. */
function memberAddOrder(text: string): string {
  return text
    .replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/, (_, list: string) => `ETCD_INITIAL_CLUSTER="${list.split(',').sort().join(',')}"`)
    .replace(/"members":\[(.*)\]\}$/m, (_, list: string) => `"members":[${list.split(/(?<=\}),(?=\{)/).sort((a, b) => Number(a.includes('"name":"default"')) - Number(b.includes('"name":"default"'))).join(',')}]}`);
}

/** %16x pads member IDs with spaces: mask the hex whatever its length. */
const memberIds = (text: string) => text.replace(/Member +([0-9a-f]+) /g, 'Member <member> ');
/** The learners' made-up peer ports differ per side. */
const ports = (text: string) =>
  memberOrder(memberIds(text))
    .replace(/127\.0\.0\.1:\d{4}\b/g, '127.0.0.1:<port>')
    // a member ID with leading zero digits prints shorter (%x); each side's learner has its own ID
    .replace(/\b[0-9a-f]{12,15}\b/g, '<short-id>')
    .replace(/^[+|].*$/gm, (line) => line.replace(/-{2,}/g, '-').replace(/ {2,}/g, ' '));

test.serial('member list, add, update, remove, promote in every format', async (t) => {
  for (const w of formats) {
    await same(t, s, { setup: onlyMe, args: ['member', 'list', '-w', w], exitCode: 0 });
    await same(t, s, { setup: withLearner, args: ['member', 'list', '-w', w], mask: ports, exitCode: 0 });
    await same(t, s, {
      setup: async (c) => {
        await onlyMe(c);
        return learnerPort++;
      },
      args: (port) => ['member', 'add', 'newm', `--peer-urls=http://127.0.0.1:${port}`, '--learner', '-w', w],
      mask: (text) => ports(memberAddOrder(text)),
    });
    await same(t, s, { setup: withLearner, args: (id) => ['member', 'update', id, `--peer-urls=http://127.0.0.1:${learnerPort++}`, '-w', w], mask: (text) => ports(learnerKept(text)) });
    await same(t, s, { setup: withLearner, args: (id) => ['member', 'remove', id, '-w', w], mask: ports });
    await same(t, s, { setup: withLearner, args: (id) => ['member', 'promote', id, '-w', w], mask: ports, exitCode: 1 });
  }
  await same(t, s, { setup: onlyMe, args: ['member', 'list', '--hex', '-w', 'json'] });
  await same(t, s, { setup: onlyMe, args: ['member', 'add'], exitCode: 128 });
  await same(t, s, { setup: onlyMe, args: ['member', 'add', 'x'], exitCode: 128 });
  await same(t, s, { setup: onlyMe, args: ['member', 'remove'], exitCode: 128 });
  await same(t, s, { setup: onlyMe, args: ['member', 'remove', 'zz'], exitCode: 128 });
  await same(t, s, { setup: onlyMe, args: ['member', 'remove', '1234'], exitCode: 1 });
  await same(t, s, { setup: onlyMe, args: ['member', 'update', '1234'], exitCode: 128 });
  await same(t, s, { setup: onlyMe, args: ['member', 'promote'], exitCode: 128 });
  await same(t, s, { setup: onlyMe, args: ['member'], exitCode: 0, mask: () => '' });
});

/**
 * Deliberate difference (README): etcd 3.4's member update replaces a member's raft attributes whole, dropping a
 * learner's flag from its member list (raft still treats it as a learner); tetcd keeps the flag.
 */
const learnerKept = (text: string) => text.replace(/,"isLearner":true/g, '').replace(/"IsLearner" : true/g, '"IsLearner" : false').replace(/, true$/gm, ', false');

/** Sizes (tetcd's describe its own state, README), index numbers and timings change between runs; the hash of the whole store too. */
const statusMask = (text: string) =>
  text
    .replace(/\d+(\.\d+)? (B|kB|MB|GB)\b/g, '<size>')
    // json leaves a zero size out (an empty tetcd store has a logical size of 0, etcd's bolt file never does)
    .replace(/,"dbSize(InUse)?":\d+/g, '')
    .replace(/"DBSize(InUse)?" : \d+/g, '"DBSize$1" : <size>')
    .replace(/, \d+, \d+, \d+, /g, ', <term>, <index>, <index>, ')
    .replace(/\| +\d+ \| +\d+ \| +\d+ \|/g, '| <term> | <index> | <index> |')
    .replace(/took = [^\n]+/g, 'took = <duration>')
    .replace(/\| +[0-9.]+(µs|ms|s) \|/g, '| <duration> |')
    .replace(/"took":"[^"]+"/g, '"took":"<duration>"')
    .replace(/"Took" : \S+/g, '"Took" : <duration>')
    .replace(/, \d+$/gm, ', <hash>')
    .replace(/\| +\d+ \|$/gm, '| <hash> |')
    .replace(/-+\+$/gm, '-+')
    .replace(/\| +HASH +\|$/gm, '| HASH |')
    .replace(/^[+|].*$/gm, (line) => line.replace(/-{2,}/g, '-').replace(/ {2,}/g, ' '));

test.serial('endpoint status, health, hashkv (and --cluster) in every format', async (t) => {
  for (const w of formats) {
    await same(t, s, { args: ['endpoint', 'status', '-w', w], mask: statusMask, exitCode: 0 });
    await same(t, s, { args: ['endpoint', 'status', '--cluster', '-w', w], mask: statusMask, exitCode: 0 });
    await same(t, s, { args: ['endpoint', 'health', '-w', w], mask: statusMask, exitCode: 0 });
    await same(t, s, { args: ['endpoint', 'health', '--cluster', '-w', w], mask: statusMask, exitCode: 0 });
  }
  // HashKV: etcd 3.4's gateway serves only Hash on that route, so the numbers differ; the shape must not
  for (const w of ['simple', 'json', 'fields', 'table']) {
    const hashes = (text: string) => statusMask(text).replace(/,"hash":\d+/g, '') /* json leaves a zero hash out: tetcd's hash of an empty store may be 0 */.replace(/"compact_revision":-?\d+,?/g, '').replace(/,}/g, '}').replace(/"Hash" : \d+/g, '"Hash" : <h>');
    await same(t, s, { args: ['endpoint', 'hashkv', '-w', w], mask: hashes, exitCode: 0 });
  }
});

test.serial('an endpoint nobody listens on: etcdctl\'s errors after the command timeout', async (t) => {
  const nobody = `127.0.0.1:${await freePort()}`;
  const dead = { etcd: nobody, target: nobody };
  for (const args of [['get', 'k'], ['put', 'k', 'v'], ['member', 'list'], ['endpoint', 'status'], ['endpoint', 'health'], ['endpoint', 'hashkv'], ['alarm', 'list'], ['compaction', '5'], ['lease', 'grant', '10'], ['defrag']]) {
    const r = await same(t, dead, { args: [...args, '--command-timeout=500ms'], keepState: true, mask: statusMask, process: true });
    t.is(r.code, 1);
  }
});

test.serial('move-leader, alarm, defrag, version', async (t) => {
  const me = async (c: Client) => (await c.maintenance.status()).header.memberId.replace(/^0+/, '');
  for (const w of ['simple', 'json', 'fields']) await same(t, s, { setup: me, args: (id) => ['move-leader', id, '-w', w] });
  await same(t, s, { args: ['move-leader', '1234'], exitCode: 1 });
  await same(t, s, { args: ['move-leader'], exitCode: 128 });
  await same(t, s, { args: ['move-leader', 'zz'], exitCode: 128 });
  for (const w of ['simple', 'json', 'table']) {
    await same(t, s, { args: ['alarm', 'list', '-w', w] });
    await same(t, s, { args: ['alarm', 'disarm', '-w', w] });
  }
  for (const w of ['simple', 'json']) {
    await same(t, s, { args: ['defrag', '-w', w], exitCode: 0 });
    await same(t, s, { args: ['defrag', '--cluster', '-w', w], exitCode: 0 });
  }
  await same(t, s, { args: ['version'], exitCode: 0, process: true });
  await same(t, s, { args: ['version', '-w', 'json'], exitCode: 0 });
});

test.serial('alarm list and disarm with a raised NOSPACE alarm', async (t) => {
  const quotaBytes = 100_000;
  const [small, smallTarget] = await Promise.all([
    startEtcd({ quotaBackendBytes: quotaBytes }),
    servers.targetServer.kind === 'tetcd' ? startTarget({ flags: ['--quota-backend-bytes', String(quotaBytes)] }) : undefined,
  ]);
  const here = { etcd: small.endpoint, target: smallTarget?.endpoint ?? small.endpoint };
  try {
    // Fill each side past its quota: the write that crosses it raises the alarm and fails. etcd measures its bolt
    // file, which grows only when its backend commits (every 100 ms), so on a fast machine 40 puts can all land
    // before it sees the size: keep writing, bounded in count and time.
    for (const endpoint of new Set([here.etcd, here.target])) {
      const client = new Client({ endpoints: [endpoint], transport: 'http' });
      const big = 'x'.repeat(30_000);
      let refused = false;
      const deadline = Date.now() + 30_000;
      for (let i = 0; i < 2_000 && !refused && Date.now() < deadline; i++) {
        try {
          await client.kv.put(`big${i}`, big);
        } catch {
          refused = true;
        }
      }
      client.close();
      t.true(refused, `${endpoint} refuses writes past its quota`);
    }
    for (const w of ['simple', 'json']) await same(t, here, { args: ['alarm', 'list', '-w', w], keepState: true });
    await same(t, here, { args: ['put', 'k', 'v'], keepState: true, exitCode: 1 });
    await same(t, here, { args: ['endpoint', 'status'], keepState: true, mask: statusMask });
    await same(t, here, { args: ['endpoint', 'status', '-w', 'json'], keepState: true, mask: statusMask });
    await same(t, here, { args: ['endpoint', 'status', '-w', 'table'], keepState: true, mask: statusMask });
    await same(t, here, { args: ['endpoint', 'status', '-w', 'fields'], keepState: true, mask: statusMask });
    // disarm once on each side
    await same(t, here, { args: ['alarm', 'disarm'], keepState: true, exitCode: 0 });
    await same(t, here, { args: ['alarm', 'list'], keepState: true, exitCode: 0 });
  } finally {
    await Promise.all([small.stop(), smallTarget?.stop()]);
  }
});

test.serial('snapshot save and status of etcd\'s bolt snapshots', async (t) => {
  const fromEtcdctl = path.join(dir, 'etcdctl.db');
  const fromTetcdctl = path.join(dir, 'tetcdctl.db');
  const client = new Client({ endpoints: [s.etcd], transport: 'http' });
  for (let i = 0; i < 50; i++) await client.kv.put(`snap/${i}`, `value ${i}`);
  client.close();
  t.is((await run('etcdctl', s.etcd, ['snapshot', 'save', fromEtcdctl])).code, 0);
  const saved = await run('tetcdctl', s.etcd, ['snapshot', 'save', fromTetcdctl]);
  t.is(saved.stdout, `Snapshot saved at ${fromTetcdctl}\n`);
  t.is(saved.code, 0);
  // a saved snapshot is the member's database: etcdctl reads tetcdctl's file and the other way round
  for (const file of [fromEtcdctl, fromTetcdctl]) {
    for (const w of formats) await same(t, { etcd: '', target: '' }, { args: ['snapshot', 'status', file, '-w', w], keepState: true, exitCode: 0 });
  }
  t.true(readFileSync(fromTetcdctl).length > 20_000);
  await same(t, { etcd: '', target: '' }, { args: ['snapshot', 'status', path.join(dir, 'missing.db')], keepState: true, exitCode: 1 });
  await same(t, { etcd: '', target: '' }, { args: ['snapshot', 'status'], keepState: true, exitCode: 128 });
  await same(t, s, { args: ['snapshot', 'save'], keepState: true, exitCode: 128 });
  await same(t, s, { args: ['snapshot', 'save', path.join(dir, 'no', 'such', 'dir.db')], keepState: true, exitCode: 5 });
});

test.serial('snapshot save, status and restore of a tetcd member: the restored member serves the data', async (t) => {
  if (servers.targetServer.kind !== 'tetcd') return t.pass('needs a tetcd target');
  const file = path.join(dir, 'tetcd.snap.db');
  const client = new Client({ endpoints: [s.target], transport: 'http' });
  await reset(s.target);
  for (let i = 0; i < 50; i++) await client.kv.put(`snap/${i}`, `value ${i}`);
  const lease = await client.lease.grant(600);
  await client.kv.put('snap/leased', 'kept', { lease: lease.ID });
  const revision = (await client.kv.get('snap/', { prefix: true, countOnly: true })).header.revision;
  client.close();
  const saved = await run('tetcdctl', s.target, ['snapshot', 'save', file]);
  t.is(saved.stdout, `Snapshot saved at ${file}\n`);
  t.is(saved.code, 0);
  // status: etcdctl's layout, measured on tetcd's file
  const size = statSync(file).size;
  const json = await run('tetcdctl', '', ['snapshot', 'status', file, '-w', 'json']);
  t.is(json.code, 0);
  const status = JSON.parse(json.stdout) as { hash: number; revision: number; totalKey: number; totalSize: number };
  t.is(status.revision, revision);
  t.is(status.totalSize, size);
  t.true(status.totalKey >= 51, `${status.totalKey} keys`);
  t.is((await run('tetcdctl', '', ['snapshot', 'status', file])).stdout, `${status.hash.toString(16)}, ${revision}, ${status.totalKey}, ${humanizeBytes(size)}\n`);
  t.regex((await run('tetcdctl', '', ['snapshot', 'status', file, '-w', 'table'])).stdout, new RegExp(`\\| +${status.hash.toString(16)} \\| +${revision} \\| +${status.totalKey} \\|`));
  t.is((await run('tetcdctl', '', ['snapshot', 'status', file, '-w', 'fields'])).stdout, `"Hash" : ${status.hash}\n"Revision" : ${revision}\n"Keys" : ${status.totalKey}\n"Size" : ${size}\n`);

  // restore into a new data dir, as etcdctl restore does, then start a member on it
  const restored = await startRestored(t, file);
  try {
    const reader = new Client({ endpoints: [restored.endpoint], transport: 'http' });
    try {
      const got = await reader.kv.get('snap/', { prefix: true });
      t.is(got.count, 51);
      t.is(Buffer.from(got.kvs.find((kv) => Buffer.from(kv.key).toString() === 'snap/7')!.value).toString(), 'value 7');
      t.true(got.header.revision >= revision);
      const leased = got.kvs.find((kv) => Buffer.from(kv.key).toString() === 'snap/leased')!;
      t.is(leased.lease, BigInt(lease.ID));
      t.true((await reader.lease.timeToLive(lease.ID)).TTL > 0, 'the lease came along');
      const members = await reader.cluster.memberList();
      t.deepEqual(members.members.map((m) => [m.name, m.peerURLs]), [['restored', [restored.peerUrl]]]);
      t.is(members.header.memberId, restored.memberId);
      const put = await reader.kv.put('after', 'restore');
      t.true(put.header.revision > revision);
    } finally {
      reader.close();
    }
  } finally {
    await restored.stop();
  }
  // an existing data dir is refused
  const again = await run('tetcdctl', '', ['snapshot', 'restore', file, '--data-dir', dir]);
  t.is(again.code, 1);
  t.regex(again.stderr, /^Error: data-dir ".*" exists\n$/m);
  const notOurs = await run('tetcdctl', '', ['snapshot', 'restore', path.join(dir, 'etcdctl.db'), '--data-dir', path.join(dir, 'never')]);
  t.is(notOurs.code, 1);
});

/** Restores `file` with etcdctl's restore flags into a fresh dir and starts bin/tetcd on it. */
async function startRestored(t: ExecutionContext, file: string): Promise<{ endpoint: string; peerUrl: string; memberId: string; stop(): Promise<void> }> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const dataDir = path.join(dir, 'restored');
  const restore = await run('tetcdctl', '', [
    'snapshot', 'restore', file,
    '--data-dir', dataDir,
    '--name', 'restored',
    '--initial-cluster', `restored=${peerUrl}`,
    '--initial-cluster-token', 'restored-token',
    '--initial-advertise-peer-urls', peerUrl,
  ]);
  t.is(restore.code, 0, restore.stderr);
  t.is(restore.stdout, '');
  const member = new Member({ name: 'restored', clientPort, peerPort, dataDir }, [
    '--name', 'restored',
    '--data-dir', dataDir,
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `restored=${peerUrl}`,
    '--initial-cluster-token', 'restored-token',
  ], { TETCD_LOG_LEVEL: 'warn' });
  member.start();
  try {
    await member.ready(30_000);
  } catch (error) {
    await member.kill();
    throw error;
  }
  return {
    endpoint: `127.0.0.1:${clientPort}`,
    peerUrl,
    memberId: memberIdFor([peerUrl], 'restored-token'),
    stop: async () => {
      await member.stop();
    },
  };
}

test.serial('global behaviour: environment variables, unknown commands, help', async (t) => {
  const times = (text: string) => text.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} /gm, '<time> ');
  const bare = { noEndpointFlag: true, keepState: true };
  await same(t, s, { ...bare, args: ['get', 'k', '-w', 'json'], env: (e) => ({ ETCDCTL_ENDPOINTS: e }) });
  await same(t, s, { ...bare, args: ['get', 'k'], env: (e) => ({ ETCDCTL_ENDPOINTS: e, ETCDCTL_WRITE_OUT: 'fields' }) });
  await same(t, s, { ...bare, args: ['get', 'k', '-w', 'json'], env: (e) => ({ ETCDCTL_ENDPOINTS: e, ETCDCTL_WRITE_OUT: 'fields' }), mask: times, exitCode: 1 });
  const conflict = await same(t, s, { args: ['get', 'k'], env: (e) => ({ ETCDCTL_ENDPOINTS: e }), keepState: true, mask: times });
  t.is(conflict.code, 1);
  await same(t, s, { args: ['get', 'k'], env: { ETCDCTL_BOGUS: '1' }, keepState: true, mask: times });
  await same(t, s, { args: ['foo'], keepState: true, exitCode: 1 });
  for (const args of [[], ['lease'], ['lease', 'foo'], ['get', '-h'], ['get', '--help']]) {
    await same(t, s, { args, keepState: true, exitCode: 0, mask: () => '' });
  }
  await same(t, s, { ...bare, args: (_, e) => ['--endpoints', e, 'get', 'k'] });
  const nobody = `127.0.0.1:${await freePort()}`;
  await same(t, s, { ...bare, args: (_, e) => ['get', 'k', `--endpoints=${nobody}`, `--endpoints=${e}`, '-w', 'json'] });
  t.pass();
});

test.serial('fields output of a whole snapshot status matches byte for byte', async (t) => {
  const file = path.join(dir, 'again.db');
  t.is((await run('tetcdctl', s.etcd, ['snapshot', 'save', file])).code, 0);
  const a = await run('etcdctl', '', ['snapshot', 'status', file, '-w', 'json']);
  const b = await run('tetcdctl', '', ['snapshot', 'status', file, '-w', 'json']);
  t.is(b.stdout, a.stdout);
  t.regex(a.stdout, /^\{"hash":\d+,"revision":\d+,"totalKey":\d+,"totalSize":\d+\}\n$/);
  t.is(mask(b.stderr), mask(a.stderr));
});
