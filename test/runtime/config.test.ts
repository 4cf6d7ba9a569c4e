import test from 'ava';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clusterIdFor, ConfigError, hexToDecimal, memberIdFor, parseArgs, type MemberConfig } from '../../runtime/config.js';
import { DataDirLockedError, lockDataDir } from '../../runtime/lock.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): MemberConfig {
  const parsed = parseArgs(argv, env);
  if (parsed.kind !== 'config') throw new Error('expected a config');
  return parsed.config;
}

test('defaults match etcd, apart from the data dir and loopback listeners', (t) => {
  const c = config([]);
  t.is(c.name, 'default');
  t.is(c.dataDir, 'default.tetcd');
  t.deepEqual(c.listenClientUrls, ['http://127.0.0.1:2379']);
  t.deepEqual(c.listenPeerUrls, ['http://127.0.0.1:2380']);
  t.deepEqual(c.advertiseClientUrls, ['http://localhost:2379']);
  t.deepEqual([...c.initialCluster], [['default', ['http://localhost:2380']]]);
  t.is(c.initialClusterState, 'new');
  t.is(c.initialClusterToken, 'etcd-cluster');
  t.is(c.heartbeatIntervalMs, 100);
  t.is(c.electionTimeoutMs, 1000);
  t.is(c.snapshotCount, 10_000);
  t.is(c.quotaBackendBytes, 2 * 1024 ** 3);
  t.is(c.maxRequestBytes, 1_572_864);
  t.is(c.maxTxnOps, 128);
  t.is(c.logLevel, 'info');
  t.false(c.unsafeNoFsync);
});

test('flags in every form Go accepts, and environment variables below flags', (t) => {
  const c = config(['-name', 'n1', '--data-dir=/d', '--snapshot-count', '5', '--unsafe-no-fsync'], {
    TETCD_NAME: 'ignored',
    TETCD_MAX_TXN_OPS: '64',
    TETCD_INITIAL_CLUSTER: 'n1=http://localhost:2380',
  });
  t.is(c.name, 'n1');
  t.is(c.dataDir, '/d');
  t.is(c.snapshotCount, 5);
  t.is(c.maxTxnOps, 64);
  t.true(c.unsafeNoFsync);
  t.is(config([], { TETCD_NAME: 'envname', TETCD_INITIAL_CLUSTER: 'envname=http://localhost:2380' }).dataDir, 'envname.tetcd');
});

test('a three-member static cluster', (t) => {
  const c = config([
    '--name', 'infra1',
    '--initial-advertise-peer-urls', 'http://127.0.0.1:12380',
    '--initial-cluster', 'infra1=http://127.0.0.1:12380,infra2=http://127.0.0.1:22380,infra3=http://127.0.0.1:32380',
    '--initial-cluster-token', 'tok',
  ]);
  t.deepEqual([...c.initialCluster.keys()], ['infra1', 'infra2', 'infra3']);
});

test('bad flags are refused with clear messages', (t) => {
  t.throws(() => config(['--nope']), { instanceOf: ConfigError, message: 'flag provided but not defined: -nope' });
  t.throws(() => config(['--snapshot-count', 'x']), { instanceOf: ConfigError, message: /invalid value "x" for flag -snapshot-count/ });
  t.throws(() => config(['--name']), { instanceOf: ConfigError, message: /flag needs an argument/ });
  t.throws(() => config(['--election-timeout', '200']), { instanceOf: ConfigError, message: /at least as 5 times/ });
  t.throws(() => config(['--listen-client-urls', 'https://127.0.0.1:1']), { instanceOf: ConfigError, message: /scheme must be http/ });
  t.throws(() => config(['--initial-cluster', 'other=http://localhost:2380']), { instanceOf: ConfigError, message: /couldn't find local name "default"/ });
  t.throws(() => config(['--log-level', 'loud']), { instanceOf: ConfigError, message: /invalid log level/ });
  t.throws(() => config(['--initial-cluster-state', 'maybe']), { instanceOf: ConfigError });
  t.deepEqual(parseArgs(['--help'], {}), { kind: 'help' });
  t.deepEqual(parseArgs(['--version'], {}), { kind: 'version' });
});

test("member and cluster IDs are derived as etcd derives them (checked against etcd 3.4's defaults)", (t) => {
  const id = memberIdFor(['http://localhost:2380'], 'etcd-cluster');
  t.is(id, '8e9e05c52164694d');
  t.is(hexToDecimal(id), '10276657743932975437');
  t.is(hexToDecimal(clusterIdFor([id])), '14841639068965178418');
});

test('one member per data dir: a live owner blocks, a dead owner is taken over', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tetcd-lock-'));
  try {
    const lock = lockDataDir(dir);
    // another process sees the lock as taken
    const other = await runNode(`import('${new URL('../../runtime/lock.js', import.meta.url).href}').then(m => { try { m.lockDataDir(${JSON.stringify(dir)}); console.log('got it'); } catch (e) { console.log(e.name) } })`);
    t.is(other.trim(), 'DataDirLockedError');
    lock.release();
    t.false(fs.existsSync(path.join(dir, 'tetcd.lock')));
    // a lock file left by a process that died is stale
    fs.writeFileSync(path.join(dir, 'tetcd.lock'), '999999999\n');
    const taken = lockDataDir(dir);
    t.is(fs.readFileSync(path.join(dir, 'tetcd.lock'), 'utf8').trim(), String(process.pid));
    taken.release();
    t.throws(() => {
      fs.writeFileSync(path.join(dir, 'tetcd.lock'), `${process.ppid}\n`);
      lockDataDir(dir);
    }, { instanceOf: DataDirLockedError });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function runNode(source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.on('error', reject);
  });
}

test('the watch progress interval takes Go durations, as etcd does', (t) => {
  t.is(config([]).watchProgressNotifyIntervalMs, 600_000);
  t.is(config(['--experimental-watch-progress-notify-interval', '1.5s']).watchProgressNotifyIntervalMs, 1_500);
  t.is(config(['--experimental-watch-progress-notify-interval=1h2m3s']).watchProgressNotifyIntervalMs, 3_723_000);
  t.is(config(['--experimental-watch-progress-notify-interval', '250ms']).watchProgressNotifyIntervalMs, 250);
  t.is(config([], { TETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: '0' }).watchProgressNotifyIntervalMs, 0);
  for (const bad of ['10', '5 s', 's', '1x', '']) {
    t.throws(() => config(['--experimental-watch-progress-notify-interval', bad]), { instanceOf: ConfigError }, bad);
  }
});
