// The member's configuration, from etcd's flags (same names, same defaults unless noted) and TETCD_* environment
// variables (TETCD_DATA_DIR for --data-dir, and so on). Flags win over the environment, as with etcd's ETCD_*.
//
// Differences from etcd, on purpose:
// - the default data dir is ./default.tetcd, and the default client and peer URLs listen on 127.0.0.1 only (they are
//   advertised as localhost, as etcd does, so a default member has the same member ID as a default etcd);
// - --snapshot-count defaults to 10,000 (etcd 3.4: 100,000): tetcd's state is in memory, so a snapshot is cheap and
//   replaying a shorter log makes restarts faster.
import { createHash } from 'node:crypto';
import type { LogLevel } from './log.js';
import { parseLogLevel } from './log.js';

export interface MemberConfig {
  name: string;
  dataDir: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  listenPeerUrls: string[];
  initialAdvertisePeerUrls: string[];
  /** name → peer URLs */
  initialCluster: Map<string, string[]>;
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  snapshotCount: number;
  /** Entries kept in the log after a snapshot, for slow followers to catch up without one (etcd 3.5's experimental flag). */
  snapshotCatchupEntries: number;
  quotaBackendBytes: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  logLevel: LogLevel;
  /** Skip fdatasync (for benchmarks that compare without durability only; never the default). */
  unsafeNoFsync: boolean;
  /** How often every watch stream gets a progress notification (etcd's --experimental-watch-progress-notify-interval). */
  watchProgressNotifyIntervalMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const quotaDefaultBytes = 2 * 1024 * 1024 * 1024;
const quotaMaxBytes = 8 * 1024 * 1024 * 1024;

interface FlagSpec {
  env: string;
  kind: 'string' | 'int' | 'bool' | 'urls' | 'duration';
  defaultValue: string;
  help: string;
}

const flags: Record<string, FlagSpec> = {
  name: { env: 'TETCD_NAME', kind: 'string', defaultValue: 'default', help: 'Human-readable name for this member.' },
  'data-dir': { env: 'TETCD_DATA_DIR', kind: 'string', defaultValue: '', help: 'Path to the data directory (default "${name}.tetcd").' },
  'listen-client-urls': { env: 'TETCD_LISTEN_CLIENT_URLS', kind: 'urls', defaultValue: 'http://127.0.0.1:2379', help: 'List of URLs to listen on for client traffic.' },
  'advertise-client-urls': { env: 'TETCD_ADVERTISE_CLIENT_URLS', kind: 'urls', defaultValue: 'http://localhost:2379', help: "List of this member's client URLs to advertise to the public." },
  'listen-peer-urls': { env: 'TETCD_LISTEN_PEER_URLS', kind: 'urls', defaultValue: 'http://127.0.0.1:2380', help: 'List of URLs to listen on for peer traffic.' },
  'initial-advertise-peer-urls': { env: 'TETCD_INITIAL_ADVERTISE_PEER_URLS', kind: 'urls', defaultValue: 'http://localhost:2380', help: "List of this member's peer URLs to advertise to the rest of the cluster." },
  'initial-cluster': { env: 'TETCD_INITIAL_CLUSTER', kind: 'string', defaultValue: '', help: 'Initial cluster configuration for bootstrapping (default "${name}=${initial-advertise-peer-urls}").' },
  'initial-cluster-state': { env: 'TETCD_INITIAL_CLUSTER_STATE', kind: 'string', defaultValue: 'new', help: "Initial cluster state ('new' or 'existing')." },
  'initial-cluster-token': { env: 'TETCD_INITIAL_CLUSTER_TOKEN', kind: 'string', defaultValue: 'etcd-cluster', help: 'Initial cluster token for the cluster during bootstrap.' },
  'heartbeat-interval': { env: 'TETCD_HEARTBEAT_INTERVAL', kind: 'int', defaultValue: '100', help: 'Time (in milliseconds) of a heartbeat interval.' },
  'election-timeout': { env: 'TETCD_ELECTION_TIMEOUT', kind: 'int', defaultValue: '1000', help: 'Time (in milliseconds) for an election to timeout.' },
  'snapshot-count': { env: 'TETCD_SNAPSHOT_COUNT', kind: 'int', defaultValue: '10000', help: 'Number of committed transactions to trigger a snapshot to disk.' },
  'snapshot-catchup-entries': { env: 'TETCD_SNAPSHOT_CATCHUP_ENTRIES', kind: 'int', defaultValue: '5000', help: 'Number of entries for a slow follower to catch up after compacting the raft storage entries.' },
  'quota-backend-bytes': { env: 'TETCD_QUOTA_BACKEND_BYTES', kind: 'int', defaultValue: '0', help: 'Raise alarms when backend size exceeds the given quota (0 defaults to 2 GiB).' },
  'max-request-bytes': { env: 'TETCD_MAX_REQUEST_BYTES', kind: 'int', defaultValue: '1572864', help: 'Maximum client request size in bytes the server will accept.' },
  'max-txn-ops': { env: 'TETCD_MAX_TXN_OPS', kind: 'int', defaultValue: '128', help: 'Maximum number of operations permitted in a transaction.' },
  'log-level': { env: 'TETCD_LOG_LEVEL', kind: 'string', defaultValue: 'info', help: "Configures log level. Only supports debug, info, warn, error." },
  'unsafe-no-fsync': { env: 'TETCD_UNSAFE_NO_FSYNC', kind: 'bool', defaultValue: 'false', help: 'Disables fsync, unsafe, will cause data loss.' },
  'experimental-watch-progress-notify-interval': {
    env: 'TETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL',
    kind: 'duration',
    defaultValue: '10m0s',
    help: 'Duration of periodic watch progress notifications.',
  },
};

const durationUnitsMs: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A Go duration ("10m0s", "1.5s", "250ms") in milliseconds, as etcd's duration flags take them. */
export function parseDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    part.lastIndex = at;
    const m = part.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * durationUnitsMs[m[2]!]!;
    at = part.lastIndex;
  }
  return at === 0 ? undefined : total;
}

export function usage(): string {
  const lines = ['Usage: tetcd [flags]', '', 'Flags (each also read from the TETCD_* environment variable shown):'];
  for (const [name, spec] of Object.entries(flags)) {
    lines.push(`  --${name}${spec.kind === 'bool' ? '' : ` '${spec.defaultValue}'`}`, `      ${spec.help} [${spec.env}]`);
  }
  lines.push('  --version', '      Print the version and exit.', '  -h, --help', '      Show this help.');
  return lines.join('\n');
}

export type ParsedArgs = { kind: 'config'; config: MemberConfig } | { kind: 'help' } | { kind: 'version' };

/** Parses argv the way Go's flag package does: -flag, --flag, -flag=value, --flag value; booleans take no value. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedArgs {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-' || arg === '--') throw new ConfigError(`'${arg}' is not a valid flag`);
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    if (name === 'h' || name === 'help') return { kind: 'help' };
    if (name === 'version') return { kind: 'version' };
    const spec = flags[name];
    if (!spec) throw new ConfigError(`flag provided but not defined: -${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (spec.kind === 'bool') value = 'true';
    else {
      if (i + 1 >= argv.length) throw new ConfigError(`flag needs an argument: -${name}`);
      value = argv[++i]!;
    }
    given.set(name, value);
  }
  const raw = (name: string): string => {
    const spec = flags[name]!;
    return given.get(name) ?? env[spec.env] ?? spec.defaultValue;
  };
  const int = (name: string, min: number): number => {
    const text = raw(name);
    if (!/^-?\d+$/.test(text)) throw new ConfigError(`invalid value "${text}" for flag -${name}: parse error`);
    const value = Number(text);
    if (value < min) throw new ConfigError(`--${name} must be at least ${min} (got ${value})`);
    return value;
  };
  const bool = (name: string): boolean => {
    const text = raw(name);
    if (!['true', 'false', '1', '0'].includes(text)) throw new ConfigError(`invalid boolean value "${text}" for -${name}`);
    return text === 'true' || text === '1';
  };
  const urls = (name: string): string[] => parseUrls(name, raw(name));
  const durationMs = (name: string): number => {
    const text = raw(name);
    const value = parseDurationMs(text);
    if (value === undefined) throw new ConfigError(`invalid value "${text}" for flag -${name}: parse error`);
    return value;
  };

  const name = raw('name');
  const initialAdvertisePeerUrls = urls('initial-advertise-peer-urls');
  const clusterText = raw('initial-cluster') || `${name}=${initialAdvertisePeerUrls.join(',')}`;
  const initialCluster = parseInitialCluster(clusterText);
  if (!initialCluster.has(name)) {
    throw new ConfigError(`couldn't find local name "${name}" in the initial cluster configuration`);
  }
  const state = raw('initial-cluster-state');
  if (state !== 'new' && state !== 'existing') throw new ConfigError(`invalid value "${state}" for flag -initial-cluster-state: must be new or existing`);
  const heartbeatIntervalMs = int('heartbeat-interval', 1);
  const electionTimeoutMs = int('election-timeout', 1);
  if (electionTimeoutMs < 5 * heartbeatIntervalMs) {
    throw new ConfigError(`--election-timeout[${electionTimeoutMs}ms] should be at least as 5 times as --heartbeat-interval[${heartbeatIntervalMs}ms]`);
  }
  let quotaBackendBytes = int('quota-backend-bytes', 0);
  if (quotaBackendBytes === 0) quotaBackendBytes = quotaDefaultBytes;
  if (quotaBackendBytes > quotaMaxBytes) throw new ConfigError(`--quota-backend-bytes ${quotaBackendBytes} exceeds the maximum ${quotaMaxBytes}`);
  const config: MemberConfig = {
    name,
    dataDir: raw('data-dir') || `${name}.tetcd`,
    listenClientUrls: urls('listen-client-urls'),
    advertiseClientUrls: urls('advertise-client-urls'),
    listenPeerUrls: urls('listen-peer-urls'),
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: raw('initial-cluster-token'),
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: int('snapshot-count', 1),
    snapshotCatchupEntries: int('snapshot-catchup-entries', 1),
    quotaBackendBytes,
    maxRequestBytes: int('max-request-bytes', 1),
    maxTxnOps: int('max-txn-ops', 1),
    logLevel: parseLogLevelFlag(raw('log-level')),
    unsafeNoFsync: bool('unsafe-no-fsync'),
    watchProgressNotifyIntervalMs: durationMs('experimental-watch-progress-notify-interval'),
  };
  const mine = [...initialCluster.get(name)!].sort().join(',');
  if (mine !== [...initialAdvertisePeerUrls].sort().join(',')) {
    throw new ConfigError(
      `--initial-cluster has ${name}=${initialCluster.get(name)!.join(',')} but missing from --initial-advertise-peer-urls=${initialAdvertisePeerUrls.join(',')}`,
    );
  }
  return { kind: 'config', config };
}

function parseLogLevelFlag(text: string): LogLevel {
  try {
    return parseLogLevel(text);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

export function parseUrls(flag: string, text: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (list.length === 0) throw new ConfigError(`--${flag} must not be empty`);
  for (const url of list) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new ConfigError(`invalid value "${text}" for flag -${flag}: parse "${url}": invalid URL`);
    }
    if (parsed.protocol !== 'http:') throw new ConfigError(`--${flag}: URL scheme must be http (got ${parsed.protocol.replace(':', '')} in "${url}")`);
    if (!parsed.port) throw new ConfigError(`--${flag}: URL "${url}" has no port`);
  }
  return list;
}

export function parseInitialCluster(text: string): Map<string, string[]> {
  const cluster = new Map<string, string[]>();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`invalid value "${text}" for flag -initial-cluster: expected name=url pairs`);
    const name = part.slice(0, eq);
    const url = part.slice(eq + 1);
    parseUrls('initial-cluster', url);
    const urls = cluster.get(name) ?? [];
    urls.push(url);
    cluster.set(name, urls);
  }
  return cluster;
}

/** A member's ID as etcd derives it: the first 8 bytes of SHA-1 over its sorted peer URLs and the cluster token. */
export function memberIdFor(peerUrls: readonly string[], clusterToken: string, addedAtMs?: number): string {
  const hash = createHash('sha1');
  hash.update([...peerUrls].sort().join(''));
  hash.update(clusterToken);
  if (addedAtMs !== undefined) hash.update(String(addedAtMs));
  return hash.digest().subarray(0, 8).toString('hex');
}

/** A cluster's ID as etcd derives it: the first 8 bytes of SHA-1 over the sorted member IDs, 8 bytes each. */
export function clusterIdFor(memberIds: readonly string[]): string {
  const sorted = [...memberIds].sort((a, b) => (BigInt('0x' + a) < BigInt('0x' + b) ? -1 : 1));
  const hash = createHash('sha1');
  hash.update(Buffer.from(sorted.join(''), 'hex'));
  return hash.digest().subarray(0, 8).toString('hex');
}

/** The 16-hex member ID as the decimal uint64 string the JSON gateway uses. */
export function hexToDecimal(id: string): string {
  return BigInt('0x' + id).toString();
}
