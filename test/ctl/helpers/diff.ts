// Differential testing of tetcdctl against etcdctl: the same command line runs through the real etcdctl against a
// real etcd, and through tetcdctl against the target: by default a tetcd member this test file starts
// (TETCD_CTL_TARGET=etcd: the same etcd, checking tetcdctl alone; =host:port: another server). Both sides start from
// the same state (every key deleted, every lease revoked, then the scenario's setup through the TypeScript client),
// and their stdout, stderr and exit code must be equal after masking what legitimately differs between runs:
// revisions, IDs and loopback ports are renamed by order of first appearance (so "the same revision twice" is still
// checked), timestamps of log lines are dropped.
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { Client } from '../../../client/client.js';
import { run as runCtl } from '../../../client/ctl/main.js';
import { startFullIdEtcd, startTarget, type Target } from '../../client/helpers/target.js';
import type { Etcd, EtcdOptions } from '../../client/helpers/etcd.js';

export const tetcdctlBin = fileURLToPath(new URL('../../../../bin/tetcdctl', import.meta.url));

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunOptions {
  stdin?: string | Buffer;
  env?: Record<string, string>;
  /** Hard limit: the process is killed (SIGKILL) after this. */
  timeoutMs?: number;
}

/** The environment without any ETCDCTL_* of the caller, so tests see only what they set. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCDCTL_') && !k.startsWith('ETCD_')) env[k] = v;
  return { ...env, ...extra };
}

export type Tool = 'etcdctl' | 'tetcdctl';

export function commandLine(tool: Tool, endpoint: string, args: string[]): [string, string[]] {
  const withEndpoint = endpoint === '' ? args : [`--endpoints=${endpoint}`, ...args];
  return tool === 'etcdctl' ? ['etcdctl', withEndpoint] : [process.execPath, [tetcdctlBin, ...withEndpoint]];
}

export interface Running {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exited. */
  done: Promise<RunResult>;
  signal(signal: NodeJS.Signals): void;
  /** Writes to standard input (kept open when RunOptions.stdin was not given). */
  write(data: string): void;
  endInput(): void;
  /** Waits until stdout satisfies `predicate` (at most timeoutMs). */
  waitFor(predicate: (stdout: string) => boolean, timeoutMs?: number): Promise<boolean>;
}

/** Starts a ctl process; it is killed after options.timeoutMs (default 30 s) whatever happens. */
export function start(tool: Tool, endpoint: string, args: string[], options: RunOptions = {}): Running {
  const [file, argv] = commandLine(tool, endpoint, args);
  const child = spawn(file, argv, { env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => err.push(d));
  child.stdin.on('error', () => {});
  if (options.stdin !== undefined) child.stdin.end(options.stdin);
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), code, signal });
    });
  });
  const stdout = () => Buffer.concat(out).toString('latin1');
  return {
    pid: child.pid!,
    stdout,
    stderr: () => Buffer.concat(err).toString('latin1'),
    done,
    signal: (s) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(s);
    },
    write: (data) => {
      if (child.stdin.writable) child.stdin.write(data);
    },
    endInput: () => child.stdin.end(),
    waitFor: async (predicate, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (predicate(stdout())) return true;
        if (child.exitCode !== null || child.signalCode !== null) return predicate(stdout());
        await new Promise((r) => setTimeout(r, 25));
      }
      return false;
    },
  };
}

/**
 * Runs tetcdctl inside this process (its `run`, with captured output): the same code path as the binary minus
 * Node's start-up, which keeps the hundreds of differential scenarios fast. Scenarios with `process: true` and the
 * streaming tests run the real binary.
 */
export async function runInProcess(endpoint: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const chunk = (d: string | Uint8Array) => (typeof d === 'string' ? Buffer.from(d, 'utf8') : Buffer.from(d));
  const argv = endpoint === '' ? args : [`--endpoints=${endpoint}`, ...args];
  const code = await runCtl({
    argv,
    env: cleanEnv(options.env),
    sink: { out: (d) => out.push(chunk(d)), err: (d) => err.push(chunk(d)) },
    stdin: Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]),
    program: 'tetcdctl',
    interrupted: new AbortController().signal,
  });
  return { stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString('latin1'), code, signal: null };
}

/** Runs a ctl command to its end (SIGKILL after options.timeoutMs, default 30 s). */
export function run(tool: Tool, endpoint: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return start(tool, endpoint, args, options).done;
}

// ---- masking ----

type Category = 'rev' | 'id' | 'term' | 'index' | 'size' | 'hash' | 'port';

const jsonKeys: Record<string, Category> = {
  cluster_id: 'id', member_id: 'id', ID: 'id', id: 'id', leader: 'id', lease: 'id', memberID: 'id',
  revision: 'rev', create_revision: 'rev', mod_revision: 'rev', compact_revision: 'rev', CompactRevision: 'rev',
  raft_term: 'term', raftTerm: 'term', raftIndex: 'index', raftAppliedIndex: 'index',
  dbSize: 'size', dbSizeInUse: 'size', totalSize: 'size', hash: 'hash',
};

const fieldKeys: Record<string, Category> = {
  ClusterID: 'id', MemberID: 'id', ID: 'id', Lease: 'id', PrevLease: 'id', Leader: 'id',
  Revision: 'rev', CreateRevision: 'rev', ModRevision: 'rev', PrevCreateRevision: 'rev', PrevModRevision: 'rev',
  RaftTerm: 'term', RaftIndex: 'index', RaftAppliedIndex: 'index', DBSize: 'size', Size: 'size', Hash: 'hash',
};

/** Renames values of each category by order of first appearance: 17, 23, 17 -> <rev1>, <rev2>, <rev1>. */
export class Renamer {
  private readonly names = new Map<string, string>();
  private readonly counts = new Map<Category, number>();

  name(category: Category, value: string): string {
    const key = category + ':' + value;
    let name = this.names.get(key);
    if (!name) {
      const n = (this.counts.get(category) ?? 0) + 1;
      this.counts.set(category, n);
      name = `<${category}${n}>`;
      this.names.set(key, name);
    }
    return name;
  }
}

/**
 * The standard masks: log lines, numbered fields of json and fields output, hex IDs (etcdctl prints them without
 * leading zeros, so a random ID has fewer than 16 digits one time in 16), durations.
 */
export function mask(text: string, renamer = new Renamer()): string {
  return text
    .split('\n')
    .map((line) => (line.startsWith('{"level":') ? '<log>' : line))
    .join('\n')
    .replace(/"([A-Za-z_]+)":(-?\d+)/g, (all, key: string, value: string) => {
      const category = jsonKeys[key];
      return category ? `"${key}":${renamer.name(category, value)}` : all;
    })
    .replace(/^"([A-Za-z]+)" : (-?\d+)$/gm, (all, key: string, value: string) => {
      const category = fieldKeys[key];
      return category ? `"${key}" : ${renamer.name(category, value)}` : all;
    })
    .replace(/\b[0-9a-f]{12,16}\b/g, (hex) => renamer.name('id', hex))
    // alarm list: memberID:<decimal>
    .replace(/\bmemberID:(\d+)/g, (_, id: string) => `memberID:${renamer.name('id', id)}`)
    // each side's server listens on its own ports
    .replace(/\b127\.0\.0\.1:(\d{4,5})\b/g, (_, port: string) => `127.0.0.1:${renamer.name('port', port)}`)
    .replace(/(took = |"took":"|"Took" : )[0-9.]+(ns|µs|ms|s|m[0-9.]+s)/g, '$1<duration>')
    .replace(/\btetcdctl\b/g, 'etcdctl');
}

export interface Sides {
  /** etcdctl runs against this (a real etcd). */
  etcd: string;
  /** tetcdctl runs against this: TETCD_CTL_TARGET, or the same etcd. */
  target: string;
}

export interface Servers extends Sides {
  etcdServer: Etcd;
  /** The server tetcdctl talks to (the same etcd when TETCD_CTL_TARGET=etcd). */
  targetServer: Target;
  stop(): Promise<void>;
}

/** Starts the real etcd and the target (see the file header), side by side. */
export async function startSides(options: { etcd?: EtcdOptions } = {}): Promise<Servers> {
  const [etcdServer, target] = await Promise.all([
    startFullIdEtcd(options.etcd),
    process.env.TETCD_CTL_TARGET === 'etcd' ? undefined : startTarget(),
  ]);
  const targetServer: Target = target ?? { kind: 'etcd', endpoint: etcdServer.endpoint, clientPort: etcdServer.clientPort, stop: async () => {} };
  return {
    etcd: etcdServer.endpoint,
    target: targetServer.endpoint,
    etcdServer,
    targetServer,
    stop: async () => {
      await Promise.all([etcdServer.stop(), targetServer.stop()]);
    },
  };
}

/** Deletes every key and revokes every lease: the state each side starts a scenario from. */
export async function reset(endpoint: string): Promise<void> {
  const client = new Client({ endpoints: [endpoint], transport: 'http', requestTimeoutMs: 15_000 });
  try {
    await client.kv.delete('', { fromKey: true });
    const leases = await client.lease.leases();
    for (const l of leases.leases) await client.lease.revoke(l.ID).catch(() => {});
  } finally {
    client.close();
  }
}

export interface Scenario<S> {
  setup?: (client: Client) => Promise<S>;
  /** The command line; computed ones also get the side's server (host:port). */
  args: string[] | ((state: S, endpoint: string) => string[]);
  stdin?: string | Buffer | ((state: S) => string | Buffer);
  /** Environment of the command; computed ones get the side's server (host:port). */
  env?: Record<string, string> | ((endpoint: string) => Record<string, string>);
  /** Leave --endpoints off the command line (the scenario names the server itself, in args or env). */
  noEndpointFlag?: boolean;
  /** Extra masking, applied before the standard one. */
  mask?: (text: string) => string;
  /** Skip the reset (the scenario depends on earlier state). */
  keepState?: boolean;
  /** What the scenario must exit with on both sides (checked besides equality). */
  exitCode?: number;
  /** Run the tetcdctl binary rather than its code in this process. */
  process?: boolean;
}

export interface SideOutput {
  stdout: string;
  stderr: string;
  code: number | null;
}

async function runScenario<S>(tool: Tool, endpoint: string, scenario: Scenario<S>): Promise<SideOutput> {
  if (!scenario.keepState) await reset(endpoint);
  let state = undefined as S;
  if (scenario.setup) {
    // generous: the reference etcd shares a loaded machine with the rest of the suite, and a setup is not what is compared
    const client = new Client({ endpoints: [endpoint], transport: 'http', requestTimeoutMs: 30_000 });
    try {
      state = await scenario.setup(client);
    } catch (error) {
      const cause = (error as Error).cause;
      const why = cause instanceof Error ? ` (last attempt: ${cause.name}: ${cause.message})` : '';
      throw new Error(`setup of ${typeof scenario.args === 'function' ? scenario.args.toString().slice(0, 80) : JSON.stringify(scenario.args)} on the ${tool} side failed: ${(error as Error).message}${why}: ${(error as Error).stack}`, { cause: error });
    } finally {
      client.close();
    }
  }
  const args = typeof scenario.args === 'function' ? scenario.args(state, endpoint) : scenario.args;
  const stdin = typeof scenario.stdin === 'function' ? scenario.stdin(state) : scenario.stdin;
  const options: RunOptions = {};
  if (stdin !== undefined) options.stdin = stdin;
  if (scenario.env) options.env = typeof scenario.env === 'function' ? scenario.env(endpoint) : scenario.env;
  const flagEndpoint = scenario.noEndpointFlag ? '' : endpoint;
  const result = tool === 'tetcdctl' && !scenario.process ? await runInProcess(flagEndpoint, args, options) : await run(tool, flagEndpoint, args, options);
  const extra = scenario.mask ?? ((s: string) => s);
  const renamer = new Renamer();
  return { stdout: mask(extra(result.stdout), renamer), stderr: mask(extra(result.stderr), renamer), code: result.code };
}

/** Runs the scenario on both sides and asserts equal output; returns etcdctl's side for further checks. */
export async function same<S>(t: ExecutionContext, s: Sides, scenario: Scenario<S>): Promise<SideOutput> {
  const expected = await runScenario('etcdctl', s.etcd, scenario);
  const actual = await runScenario('tetcdctl', s.target, scenario);
  const label = JSON.stringify(typeof scenario.args === 'function' ? '(computed args)' : scenario.args);
  t.is(actual.stdout, expected.stdout, `stdout of ${label}`);
  t.is(actual.stderr, expected.stderr, `stderr of ${label}`);
  t.is(actual.code, expected.code, `exit code of ${label}`);
  if (scenario.exitCode !== undefined) t.is(expected.code, scenario.exitCode, `etcdctl's exit code of ${label}`);
  return expected;
}
