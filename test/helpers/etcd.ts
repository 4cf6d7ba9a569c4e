// Starts a real etcd 3.4 on loopback as the behaviour oracle for differential tests: a temp data dir, free ports,
// a bounded wait for /health, and stop() that kills the process by pid and removes the dir.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** TETCD_ETCD_BIN, else the first `etcd` on PATH, else where Debian's etcd-server package puts it. */
export const etcdBinary =
  process.env.TETCD_ETCD_BIN ??
  (process.env.PATH ?? '').split(path.delimiter).map((dir) => path.join(dir, 'etcd')).find((file) => isAbsoluteFile(file)) ??
  '/usr/bin/etcd';

function isAbsoluteFile(file: string): boolean {
  return file.startsWith('/') && existsSync(file);
}

export interface RealEtcd {
  clientUrl: string;
  /** The peer URL it advertises (with the default cluster token this fixes its member and cluster IDs). */
  peerUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export class EtcdMissingError extends Error {
  override name = 'EtcdMissingError';
  constructor() {
    super(`etcd not found at ${etcdBinary}: the differential tests need etcd 3.4 (the Makefile installs it; or set TETCD_ETCD_BIN)`);
  }
}

/** A free loopback port: bind port 0, read it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startEtcd(options: { startTimeoutMs?: number; flags?: string[] } = {}): Promise<RealEtcd> {
  if (!existsSync(etcdBinary)) throw new EtcdMissingError();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tetcd-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    etcdBinary,
    [
      '--name', 'default',
      '--data-dir', path.join(dir, 'data'),
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
      '--log-level', 'error',
      ...(options.flags ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    await rm(dir, { recursive: true, force: true });
  };
  if (pid === undefined) {
    await stop();
    throw new Error(`etcd did not start: ${stderr}`);
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`etcd exited with ${child.exitCode}: ${stderr.slice(0, 2000)}`);
    }
    try {
      const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok && (await response.text()).includes('"true"')) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`etcd did not become healthy within ${options.startTimeoutMs ?? 20_000} ms: ${stderr.slice(0, 2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { clientUrl, peerUrl, pid, stop };
}
