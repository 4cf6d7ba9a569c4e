// The load generator's command line, modelled on etcd's benchmark tool:
//
//   node dist/bench/loadgen/cli.js <put|range|txn-put|watch|watch-latency|lease-keepalive|calibrate> [flags]
//
// Flags shared by all: --driver grpc|grpc-h2|http|ws, --endpoints URL[,URL], --conns, --clients, --workers, --total,
// --duration (seconds), --warmup (seconds), --rate (requests/s over all clients), --json (print the result as JSON).
// See `usage` below for each command's own flags.
import { assertNever } from '../../runtime/assert.js';
import { runCalibration } from './calibrate.js';
import { driverKinds, type DriverKind } from './drivers/types.js';
import { UsageError } from './errors.js';
import { formatResult } from './format.js';
import { runLoad } from './runner.js';
import type { RunOptions, Workload, WorkloadType } from './workload.js';

export const usage = `usage: loadgen <command> [flags]

commands:
  put               --key-size 8 --val-size 8 --key-space-size 1 --sequential-keys
  range <key>       --consistency l|s --limit 0 --prefix
  txn-put           --key-size 8 --val-size 8 --key-space-size 1 --txn-ops 1
  watch             --streams 10 --watch-per-stream 100 --put-rate 100 --put-total 100 --key watch-key --val-size 32
  watch-latency     same flags as watch (defaults: --streams 10 --watch-per-stream 10 --put-total 1000)
  lease-keepalive   --leases 1000 --ttl 60 --streams 10 --batch 100
  calibrate         answers from a trivial uWS endpoint in a child process: the generator's own ceiling

shared flags:
  --driver KIND           grpc: etcd's gRPC through grpc-js; grpc-h2: the same with unary calls on the generator's
                          own HTTP/2 client (far cheaper); http: JSON gateway routes over HTTP/1.1; ws: JSON over
                          WebSocket
  --endpoints URLs        comma-separated client URLs (default http://127.0.0.1:2379)
  --conns N --clients N   connections and client slots (one request in flight per slot; http defaults to one
                          connection per slot, since HTTP/1.1 servers answer pipelined requests in turn)
  --workers N             worker threads (default: 1 for up to 16 clients, else 2)
  --total N               stop after N requests (default 10000 unless --duration is given)
  --duration S --warmup S measure for S seconds after a warm-up
  --rate R                requests per second over all clients (0: unlimited)
  --json                  print the result as JSON`;

const commands: readonly WorkloadType[] = ['put', 'range', 'txn-put', 'watch', 'watch-latency', 'lease-keepalive'];

export interface ParsedArgs {
  command: WorkloadType | 'calibrate' | 'help';
  options: RunOptions;
  json: boolean;
}

class Flags {
  private readonly values = new Map<string, string>();
  private readonly used = new Set<string>();
  readonly positional: string[] = [];

  constructor(argv: string[], booleans: ReadonlySet<string>) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (!arg.startsWith('-')) {
        this.positional.push(arg);
        continue;
      }
      const body = arg.replace(/^--?/, '');
      const eq = body.indexOf('=');
      if (eq >= 0) this.values.set(body.slice(0, eq), body.slice(eq + 1));
      else if (booleans.has(body)) this.values.set(body, 'true');
      else {
        const value = argv[++i];
        if (value === undefined) throw new UsageError(`flag --${body} needs a value`);
        this.values.set(body, value);
      }
    }
  }

  string(name: string, fallback: string, ...aliases: string[]): string {
    for (const n of [name, ...aliases]) {
      this.used.add(n);
      const v = this.values.get(n);
      if (v !== undefined) return v;
    }
    return fallback;
  }

  number(name: string, fallback: number, ...aliases: string[]): number {
    const raw = this.string(name, '', ...aliases);
    if (raw === '') return fallback;
    const v = Number(raw.replace(/_/g, ''));
    if (!Number.isFinite(v) || v < 0) throw new UsageError(`--${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
    return v;
  }

  bool(name: string): boolean {
    const v = this.string(name, 'false');
    if (v !== 'true' && v !== 'false') throw new UsageError(`--${name} is true or false`);
    return v === 'true';
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** Flags given that nothing read: a typo must not silently fall back to a default. */
  unused(): string[] {
    return [...this.values.keys()].filter((k) => !this.used.has(k));
  }
}

const booleanFlags = new Set(['sequential-keys', 'prefix', 'json', 'help']);

export function parseArgs(argv: string[]): ParsedArgs {
  const [command, ...rest] = argv;
  const flags = new Flags(rest, booleanFlags);
  if (command === undefined || command === 'help' || command === '--help' || flags.bool('help')) {
    return { command: 'help', options: undefined as unknown as RunOptions, json: false };
  }
  if (command !== 'calibrate' && !(commands as readonly string[]).includes(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const driver = flags.string('driver', 'grpc') as DriverKind;
  if (!driverKinds.includes(driver)) throw new UsageError(`--driver must be one of ${driverKinds.join(', ')}`);
  const clients = flags.number('clients', 1);
  const durationSeconds = flags.number('duration', 0);
  const type: WorkloadType = command === 'calibrate' ? 'put' : (command as WorkloadType);
  let workload: Workload;
  switch (type) {
    case 'put':
      workload = {
        type,
        keySizeBytes: flags.number('key-size', 8),
        valueSizeBytes: flags.number('val-size', 8),
        keySpaceSize: flags.number('key-space-size', 1),
        sequentialKeys: flags.bool('sequential-keys'),
      };
      break;
    case 'txn-put':
      workload = {
        type,
        keySizeBytes: flags.number('key-size', 8),
        valueSizeBytes: flags.number('val-size', 8),
        keySpaceSize: flags.number('key-space-size', 1),
        opsPerTxn: flags.number('txn-ops', 1),
      };
      break;
    case 'range': {
      const consistency = flags.string('consistency', 'l');
      if (consistency !== 'l' && consistency !== 's') throw new UsageError('--consistency is l or s');
      workload = { type, key: flags.positional[0] ?? flags.string('key', ''), prefix: flags.bool('prefix'), limit: flags.number('limit', 0), consistency };
      break;
    }
    case 'watch':
    case 'watch-latency': {
      const latency = type === 'watch-latency';
      workload = {
        type,
        streams: flags.number('streams', 10),
        watchersPerStream: flags.number('watch-per-stream', latency ? 10 : 100, 'watchers-per-stream'),
        key: flags.string('key', 'watch-key'),
        putRate: flags.number('put-rate', 100),
        putTotal: flags.number('put-total', latency ? 1000 : 100),
        valueSizeBytes: flags.number('val-size', 32),
      };
      break;
    }
    case 'lease-keepalive':
      workload = {
        type,
        leases: flags.number('leases', 1000),
        ttlSeconds: flags.number('ttl', 60),
        streams: flags.number('streams', 10),
        batch: flags.number('batch', 100),
      };
      break;
    default:
      return assertNever(type, 'command');
  }
  const streamed = type === 'watch' || type === 'watch-latency' || type === 'lease-keepalive';
  const options: RunOptions = {
    driver,
    endpoints: flags.string('endpoints', 'http://127.0.0.1:2379').split(',').filter((e) => e !== ''),
    // HTTP/1.1 servers answer pipelined requests one after another: by default each http client slot gets its own
    // connection; other drivers multiplex (HTTP/2 streams, WebSocket messages) and default to one connection
    connections: flags.number('conns', driver === 'http' ? clients : 1),
    clients,
    workers: flags.number('workers', clients <= 16 && !streamed ? 1 : 2),
    total: flags.number('total', durationSeconds > 0 || type === 'watch' || type === 'watch-latency' ? 0 : 10_000),
    durationMs: durationSeconds * 1000,
    warmupMs: flags.number('warmup', 0) * 1000,
    rate: flags.number('rate', 0),
    workload,
  };
  const json = flags.bool('json');
  const unused = flags.unused();
  if (unused.length > 0) throw new UsageError(`flag(s) not used by ${command}: ${unused.map((u) => `--${u}`).join(' ')}`);
  return { command: command as ParsedArgs['command'], options, json };
}

/** The command line that runs `options` on its own: what RESULTS.md records for every run. */
export function commandFor(options: RunOptions): string {
  const w = options.workload;
  const args: string[] = ['node dist/bench/loadgen/cli.js', w.type];
  if (w.type === 'range') args.push(w.key);
  args.push(`--driver ${options.driver}`, `--endpoints ${options.endpoints.join(',')}`);
  args.push(`--clients ${options.clients}`, `--conns ${options.connections}`, `--workers ${options.workers}`);
  if (options.total > 0) args.push(`--total ${options.total}`);
  if (options.durationMs > 0) args.push(`--duration ${options.durationMs / 1000}`);
  if (options.warmupMs > 0) args.push(`--warmup ${options.warmupMs / 1000}`);
  if (options.rate > 0) args.push(`--rate ${options.rate}`);
  switch (w.type) {
    case 'put':
      args.push(`--key-size ${w.keySizeBytes}`, `--val-size ${w.valueSizeBytes}`, `--key-space-size ${w.keySpaceSize}`);
      if (w.sequentialKeys) args.push('--sequential-keys');
      break;
    case 'txn-put':
      args.push(`--key-size ${w.keySizeBytes}`, `--val-size ${w.valueSizeBytes}`, `--key-space-size ${w.keySpaceSize}`, `--txn-ops ${w.opsPerTxn}`);
      break;
    case 'range':
      args.push(`--consistency ${w.consistency}`);
      if (w.prefix) args.push('--prefix');
      if (w.limit > 0) args.push(`--limit ${w.limit}`);
      break;
    case 'watch':
    case 'watch-latency':
      args.push(`--streams ${w.streams}`, `--watch-per-stream ${w.watchersPerStream}`, `--put-rate ${w.putRate}`, `--put-total ${w.putTotal}`, `--key ${w.key}`, `--val-size ${w.valueSizeBytes}`);
      break;
    case 'lease-keepalive':
      args.push(`--leases ${w.leases}`, `--ttl ${w.ttlSeconds}`, `--streams ${w.streams}`, `--batch ${w.batch}`);
      break;
    default:
      assertNever(w, 'workload');
  }
  return args.join(' ');
}

export async function main(argv: string[]): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${usage}`);
      return 2;
    }
    throw error;
  }
  if (parsed.command === 'help') {
    console.log(usage);
    return 0;
  }
  if (parsed.command === 'calibrate') {
    const results = await runCalibration(parsed.options);
    for (const r of results) console.log(parsed.json ? JSON.stringify(r) : formatResult(r) + '\n');
    return 0;
  }
  try {
    const result = await runLoad(parsed.options);
    console.log(parsed.json ? JSON.stringify(result) : formatResult(result));
    return result.errors > 0 && result.ok === 0 ? 1 : 0;
  } catch (error) {
    console.error(`loadgen: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
