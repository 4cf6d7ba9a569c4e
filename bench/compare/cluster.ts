// Starts a fresh single-member or multi-member cluster of any server that takes etcd's member flags (etcd itself,
// tetcd), on loopback, with free ports and new data dirs, and stops it by pid. A member is ready when it answers a
// put on the JSON route (POST /v3/kv/put), the one route every server under test serves; for several members that
// also proves a leader was elected.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ServerStartError } from '../loadgen/errors.js';
import { HttpConnection, postRequest, type ResponseSink } from '../loadgen/http1.js';
import type { ServerDefinition } from './servers.js';

export interface Member {
  name: string;
  pid: number;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  /** The exact command line that started this member. */
  commandLine: string;
}

export interface RunningCluster {
  server: ServerDefinition;
  members: Member[];
  clientUrls: string[];
  pids: number[];
  logFile: string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the kernel's pick); members bind it a moment later. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One put on the JSON route; resolves true on HTTP 200. */
async function answersPut(clientUrl: string): Promise<boolean> {
  const u = new URL(clientUrl);
  let connection: HttpConnection | undefined;
  try {
    connection = await HttpConnection.connect(u.hostname, Number(u.port), 1, 1_000);
    const c = connection;
    return await new Promise<boolean>((resolve) => {
      let status = 0;
      const timer = setTimeout(() => resolve(false), 2_000);
      const sink: ResponseSink = {
        head: (h) => {
          status = h.status;
        },
        data: () => {},
        end: () => {
          clearTimeout(timer);
          resolve(status === 200);
        },
        fail: () => {
          clearTimeout(timer);
          resolve(false);
        },
      };
      // key "bench-ready", value "1"
      c.send(postRequest('/v3/kv/put', c.hostHeader, '{"key":"YmVuY2gtcmVhZHk=","value":"MQ=="}'), sink);
    });
  } catch {
    return false;
  } finally {
    connection?.close();
  }
}

/** One JSON request; resolves the answer's body on HTTP 200, undefined otherwise. */
async function postJson(clientUrl: string, route: string, body: string): Promise<string | undefined> {
  const u = new URL(clientUrl);
  let connection: HttpConnection | undefined;
  try {
    connection = await HttpConnection.connect(u.hostname, Number(u.port), 1, 1_000);
    const c = connection;
    return await new Promise<string | undefined>((resolve) => {
      let status = 0;
      const chunks: Buffer[] = [];
      const timer = setTimeout(() => resolve(undefined), 2_000);
      c.send(postRequest(route, c.hostHeader, body), {
        head: (h) => {
          status = h.status;
        },
        data: (bytes) => chunks.push(Buffer.from(bytes)),
        end: () => {
          clearTimeout(timer);
          resolve(status === 200 ? Buffer.concat(chunks).toString('utf8') : undefined);
        },
        fail: () => {
          clearTimeout(timer);
          resolve(undefined);
        },
      });
    });
  } catch {
    return undefined;
  } finally {
    connection?.close();
  }
}

/**
 * The client URL of the member that leads now, from the members' maintenance status (the member whose own id is
 * the leader id it reports); undefined when no member says it leads within the wait.
 */
export async function leaderClientUrl(clientUrls: string[], waitMs = 10_000): Promise<string | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    for (const url of clientUrls) {
      const body = await postJson(url, '/v3/maintenance/status', '{}');
      if (body === undefined) continue;
      const status = JSON.parse(body) as { header?: { member_id?: string }; leader?: string };
      if (status.leader !== undefined && status.leader !== '0' && status.leader === status.header?.member_id) return url;
    }
    if (Date.now() > deadline) return undefined;
    await sleep(100);
  }
}

function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts `size` members of `server` under `baseDir` (which must exist; data dirs are made inside it and removed by
 * stop) and waits until each answers a put.
 */
export async function startCluster(server: ServerDefinition, size: number, baseDir: string, label: string): Promise<RunningCluster> {
  const reason = server.unavailable();
  if (reason !== undefined) throw new ServerStartError(`${server.name}: ${reason}`);
  const token = `${label}-${process.pid}-${Date.now().toString(36)}`;
  const ports: number[] = [];
  while (ports.length < size * 2) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const specs = Array.from({ length: size }, (_, i) => ({
    name: `m${i}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: path.join(baseDir, `${label}-m${i}.data`),
  }));
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');
  const logFile = path.join(baseDir, `${label}.log`);
  const log = fs.openSync(logFile, 'a');
  const children: ChildProcess[] = [];
  const members: Member[] = [];
  const [binary, ...leading] = server.command();
  for (const s of specs) {
    fs.rmSync(s.dataDir, { recursive: true, force: true });
    const args = [
      ...leading,
      '--name', s.name,
      '--data-dir', s.dataDir,
      '--listen-client-urls', s.clientUrl,
      '--advertise-client-urls', s.clientUrl,
      '--listen-peer-urls', s.peerUrl,
      '--initial-advertise-peer-urls', s.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      '--initial-cluster-state', 'new',
      ...server.extraFlags,
    ];
    const child = spawn(binary!, args, { stdio: ['ignore', log, log], env: { ...process.env, ...server.env } });
    children.push(child);
    members.push({ ...s, pid: child.pid ?? -1, commandLine: [binary, ...args].join(' ') });
  }
  fs.closeSync(log);
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((c) => stopProcess(c, 5_000)));
    for (const s of specs) fs.rmSync(s.dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + server.readyTimeoutMs;
  try {
    for (const m of members) {
      for (;;) {
        const exited = children.find((c) => c.exitCode !== null || c.signalCode !== null);
        if (exited !== undefined) throw new ServerStartError(`${server.name} member exited during start (code ${exited.exitCode}); see ${logFile}`);
        if (await answersPut(m.clientUrl)) break;
        if (Date.now() > deadline) throw new ServerStartError(`${server.name} member ${m.name} did not answer a put within ${server.readyTimeoutMs} ms; see ${logFile}`);
        await sleep(100);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { server, members, clientUrls: members.map((m) => m.clientUrl), pids: members.map((m) => m.pid), logFile, stop };
}
