// Real tetcd processes for end-to-end and cluster tests: free loopback ports, fresh data dirs, captured logs, and
// stop/kill/restart by pid. Every process started here is killed when the test process exits, pass or fail.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const bin = new URL('../../../bin/tetcd', import.meta.url).pathname;
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface MemberSpec {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
}

export interface MemberOptions {
  /** Extra flags (etcd's names). */
  flags?: string[];
  env?: NodeJS.ProcessEnv;
}

export class Member {
  child: ChildProcess | undefined;
  log = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  /** The last stop() ran out of grace and SIGKILLed the member. */
  killedAfterGraceMs: number | undefined;

  constructor(
    readonly spec: MemberSpec,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get clientUrl(): string {
    return `http://127.0.0.1:${this.spec.clientPort}`;
  }

  get peerUrl(): string {
    return `http://127.0.0.1:${this.spec.peerPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(extraArgs: string[] = []): void {
    if (this.child) throw new Error(`${this.spec.name} is already running`);
    this.exitCode = null;
    this.exitSignal = null;
    const child = spawn(process.execPath, [bin, ...this.args, ...extraArgs], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    this.child = child;
    const append = (chunk: Buffer) => {
      this.log += chunk.toString();
      if (this.log.length > 4_000_000) this.log = this.log.slice(-2_000_000);
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    // 'close' comes after 'exit' once stdout and stderr have ended, so the log is whole when the member counts as gone
    child.on('close', (code, signal) => {
      live.delete(child);
      if (this.child === child) this.child = undefined;
      this.exitCode = code;
      this.exitSignal = signal;
    });
  }

  /** Resolves when the member answers /health with a leader (or `timeoutMs` passes: rejects). */
  async ready(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.child) throw new Error(`${this.spec.name} exited (code ${this.exitCode}, signal ${this.exitSignal}):\n${this.log.slice(-3000)}`);
      try {
        const response = await fetch(`${this.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
        if (response.ok && ((await response.json()) as { health?: string }).health === 'true') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`${this.spec.name} not healthy after ${timeoutMs} ms:\n${this.log.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM and wait for a clean exit (SIGKILL after `graceMs`: a shared CI machine's fsyncs can take seconds). */
  async stop(graceMs = 30_000): Promise<number | null> {
    const child = this.child;
    if (!child) return this.exitCode;
    this.killedAfterGraceMs = undefined;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.killedAfterGraceMs = graceMs;
      child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
    return this.exitCode;
  }

  /** How the member last ended, with its log's tail: the message for an assertion on its exit. */
  exitReport(): string {
    const how = this.killedAfterGraceMs === undefined ? '' : ` (still running ${this.killedAfterGraceMs} ms after SIGTERM: SIGKILLed)`;
    return `${this.spec.name} exited with code ${this.exitCode}, signal ${this.exitSignal}${how}; log tail:\n${this.log.slice(-3000)}`;
  }

  /** SIGKILL: a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** POST a JSON body to an etcd gateway route; returns status and parsed body. */
  async call<T = Record<string, unknown>>(route: string, body: unknown = {}, timeoutMs = 10_000): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.clientUrl}${route}`, {
      method: 'POST',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
  }
}

export interface ClusterOptions extends MemberOptions {
  token?: string;
  /** Kept after the cluster stops (for inspecting failures); removed otherwise. */
  keepDataDirs?: boolean;
}

export class Cluster {
  constructor(
    readonly members: Member[],
    readonly root: string,
    private readonly keep: boolean,
  ) {}

  /** Starts every member and waits until all are healthy. */
  async start(timeoutMs = 30_000): Promise<void> {
    for (const m of this.members) m.start();
    await Promise.all(this.members.map((m) => m.ready(timeoutMs)));
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
    if (!this.keep) fs.rmSync(this.root, { recursive: true, force: true });
  }

  endpoints(): string {
    return this.members.map((m) => m.clientUrl).join(',');
  }
}

/** A cluster of `size` members on loopback (size 1 is a standalone member). Not started. */
export async function makeCluster(size: number, options: ClusterOptions = {}): Promise<Cluster> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tetcd-test-'));
  const specs: MemberSpec[] = [];
  for (let i = 1; i <= size; i++) {
    specs.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: path.join(root, `m${i}.tetcd`) });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peerPort}`).join(',');
  const members = specs.map(
    (s) =>
      new Member(
        s,
        [
          '--name', s.name,
          '--data-dir', s.dataDir,
          '--listen-client-urls', `http://127.0.0.1:${s.clientPort}`,
          '--advertise-client-urls', `http://127.0.0.1:${s.clientPort}`,
          '--listen-peer-urls', `http://127.0.0.1:${s.peerPort}`,
          '--initial-advertise-peer-urls', `http://127.0.0.1:${s.peerPort}`,
          '--initial-cluster', initialCluster,
          '--initial-cluster-token', options.token ?? 'tetcd-test',
          ...(options.flags ?? []),
        ],
        { TETCD_LOG_LEVEL: 'warn', ...(options.env ?? {}) },
      ),
  );
  return new Cluster(members, root, options.keepDataDirs ?? false);
}
