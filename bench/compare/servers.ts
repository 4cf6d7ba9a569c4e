// The servers under test. Both etcd and tetcd take etcd's member flags, so one launcher (cluster.ts) starts either;
// what differs is here: the command, the extra flags, and which load generator drivers reach each server's fastest
// path and the JSON path both share. To put a new server in the comparison, add a definition to `servers`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DriverKind } from '../loadgen/drivers/types.js';

export interface ServerDefinition {
  /** Name in the tables and in data dir names. */
  name: string;
  /** Why this server cannot run on this machine now (binary missing, not built), or undefined when it can. */
  unavailable(): string | undefined;
  /** The command that starts one member; the member's etcd-style flags are appended to it. */
  command(): string[];
  /** Flags every member gets after the cluster flags (logging, durability). */
  extraFlags: string[];
  /** Environment added for the members. */
  env: Record<string, string>;
  /** The drivers measuring this server: its fastest client path, and the JSON path every server shares. */
  drivers: { best: DriverKind; json: DriverKind };
  /** How long a fresh member may take to answer its first put. */
  readyTimeoutMs: number;
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function onPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, binary);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export const etcd: ServerDefinition = {
  name: 'etcd',
  unavailable: () => (onPath('etcd') === undefined ? 'etcd is not installed (scripts/ensure-etcd.sh installs it)' : undefined),
  command: () => [onPath('etcd') ?? 'etcd'],
  // etcd 3.4 always fsyncs its WAL; only errors in its log
  extraFlags: ['--logger', 'zap', '--log-level', 'error'],
  env: {},
  // gRPC with unary calls on the generator's own HTTP/2 client: grpc-js would be the ceiling of the put runs
  drivers: { best: 'grpc-h2', json: 'http' },
  readyTimeoutMs: 20_000,
};

export const tetcd: ServerDefinition = {
  name: 'tetcd',
  unavailable: () => {
    if (!fs.existsSync(path.join(repoRoot, 'bin', 'tetcd'))) return 'bin/tetcd is missing';
    if (!fs.existsSync(path.join(repoRoot, 'dist', 'runtime', 'main.js'))) return 'tetcd is not built (make build)';
    return undefined;
  },
  // TETCD_BENCH_NODE_FLAGS: Node flags for the members, e.g. "--cpu-prof --cpu-prof-dir=prof" to profile a run
  command: () => [process.execPath, ...(process.env.TETCD_BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== ''), path.join(repoRoot, 'bin', 'tetcd')],
  // durability as etcd's: tetcd fsyncs unless told --unsafe-no-fsync, which the comparison never passes
  extraFlags: [],
  env: {},
  drivers: { best: 'ws', json: 'http' },
  readyTimeoutMs: 20_000,
};

export const servers: Record<string, ServerDefinition> = { etcd, tetcd };
