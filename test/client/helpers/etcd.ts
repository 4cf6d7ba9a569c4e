// Starts a real etcd 3.4 member for the client and tetcdctl tests: loopback only, free ports found by binding port 0,
// a fresh temp data dir, stopped by pid (SIGTERM, then SIGKILL) and cleaned up when the test is done.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface EtcdOptions {
  /** --experimental-watch-progress-notify-interval, e.g. "500ms". */
  progressNotifyInterval?: string;
  quotaBackendBytes?: number;
  name?: string;
  /** Join an existing cluster: its --initial-cluster and state "existing". */
  join?: { initialCluster: string; peerPort: number; clientPort: number };
  extraArgs?: string[];
}

export interface Etcd {
  endpoint: string;
  clientPort: number;
  peerPort: number;
  peerURL: string;
  name: string;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
  /** Kills with SIGKILL (no cleanup of the data dir). */
  kill(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function post(port: number, path: string, body: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
    req.end(body);
  });
}

function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts etcd and waits until it answers a linearizable read (at most 20 s). */
export async function startEtcd(options: EtcdOptions = {}): Promise<Etcd> {
  const clientPort = options.join?.clientPort ?? (await freePort());
  const peerPort = options.join?.peerPort ?? (await freePort());
  const name = options.name ?? 'default';
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tetcd-client-etcd-'));
  const peerURL = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', name,
    '--data-dir', dataDir,
    '--listen-client-urls', `http://127.0.0.1:${clientPort}`,
    '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
    '--listen-peer-urls', peerURL,
    '--initial-advertise-peer-urls', peerURL,
    '--initial-cluster', options.join?.initialCluster ?? `${name}=${peerURL}`,
    '--log-level', 'error',
    '--logger', 'zap',
  ];
  if (options.join) args.push('--initial-cluster-state', 'existing');
  if (options.progressNotifyInterval) args.push('--experimental-watch-progress-notify-interval', options.progressNotifyInterval);
  if (options.quotaBackendBytes) args.push('--quota-backend-bytes', String(options.quotaBackendBytes));
  args.push(...(options.extraArgs ?? []));
  const child = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString();
  });
  const pid = child.pid!;
  // if the test process ends without stopping it (a timeout), the member must not outlive it
  const onExit = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      if (!(await waitExit(child, 5_000))) {
        process.kill(pid, 'SIGKILL');
        await waitExit(child, 5_000);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGKILL');
      await waitExit(child, 5_000);
    }
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`etcd exited with ${child.exitCode}: ${stderr.slice(0, 2000)}`);
    }
    // a learner refuses reads: a joining member is ready once it answers status
    const status = options.join
      ? await post(clientPort, '/v3/maintenance/status', '{}', 1_000)
      : await post(clientPort, '/v3/kv/range', '{"key":"aGVhbHRo"}', 1_000);
    if (status === 200) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd did not become ready in 20 s: ${stderr.slice(0, 2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint: `127.0.0.1:${clientPort}`, clientPort, peerPort, peerURL, name, dataDir, pid, stop, kill };
}
