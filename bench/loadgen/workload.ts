// What a run is: the workload (modelled on etcd's benchmark tool: put, range, txn-put, watch, watch-latency,
// lease-keepalive), the driver and endpoints, and how the clients are spread over connections and worker threads.
// Plain data: it crosses to the worker threads as is.
import { assert } from '../../runtime/assert.js';
import { UsageError } from './errors.js';
import type { DriverKind } from './drivers/types.js';
import { limits } from './limits.js';

export interface PutWorkload {
  type: 'put';
  keySizeBytes: number;
  valueSizeBytes: number;
  keySpaceSize: number;
  sequentialKeys: boolean;
}

export interface TxnPutWorkload {
  type: 'txn-put';
  keySizeBytes: number;
  valueSizeBytes: number;
  keySpaceSize: number;
  opsPerTxn: number;
}

export interface RangeWorkload {
  type: 'range';
  key: string;
  /** Range over every key with `key` as prefix instead of the one key. */
  prefix: boolean;
  limit: number;
  consistency: 'l' | 's';
}

export interface WatchWorkload {
  /** watch: fan-out throughput; watch-latency: the same run read for put-to-event latency. */
  type: 'watch' | 'watch-latency';
  streams: number;
  watchersPerStream: number;
  /** Every watcher watches this key; each put to it is delivered to all of them. */
  key: string;
  putRate: number;
  putTotal: number;
  valueSizeBytes: number;
}

export interface LeaseKeepAliveWorkload {
  type: 'lease-keepalive';
  leases: number;
  ttlSeconds: number;
  streams: number;
  /** Keep-alives sent per stream before waiting for their answers (one gateway POST carries one batch). */
  batch: number;
}

export type Workload = PutWorkload | TxnPutWorkload | RangeWorkload | WatchWorkload | LeaseKeepAliveWorkload;
export type WorkloadType = Workload['type'];

export interface RunOptions {
  driver: DriverKind;
  endpoints: string[];
  /** Connections in all (spread over workers; each worker opens at least one). */
  connections: number;
  /** Client slots in all; each keeps one request in flight. */
  clients: number;
  workers: number;
  /** Stop after this many requests (0: run for durationMs). */
  total: number;
  durationMs: number;
  warmupMs: number;
  /** Requests per second over all clients (0: as fast as answers come). */
  rate: number;
  workload: Workload;
}

export function validate(options: RunOptions): void {
  const fail = (message: string): never => {
    throw new UsageError(message);
  };
  if (options.endpoints.length === 0) fail('no endpoints');
  if (options.workers < 1 || options.workers > limits.workersMax) fail(`--workers must be 1..${limits.workersMax}`);
  if (options.clients < 1 || options.clients > limits.clientsMax) fail(`--clients must be 1..${limits.clientsMax}`);
  if (options.connections < 1 || options.connections > limits.connectionsMax) fail(`--conns must be 1..${limits.connectionsMax}`);
  const ended = options.workload.type === 'watch' || options.workload.type === 'watch-latency'; // by the putter
  if (!ended && options.total <= 0 && options.durationMs <= 0) fail('give --total or --duration');
  if (options.durationMs + options.warmupMs > limits.runMsMax) fail(`a run may last at most ${limits.runMsMax} ms`);
  const w = options.workload;
  switch (w.type) {
    case 'put':
    case 'txn-put':
      if (w.keySizeBytes < 1 || w.valueSizeBytes < 0) fail('bad key or value size');
      if (w.keySpaceSize < 1) fail('--key-space-size must be positive');
      if (String(w.keySpaceSize - 1).length > w.keySizeBytes) fail(`--key-size ${w.keySizeBytes} cannot hold ${w.keySpaceSize} distinct keys`);
      if (w.type === 'txn-put' && (w.opsPerTxn < 1 || w.opsPerTxn > 128)) fail('--txn-ops must be 1..128');
      if (w.type === 'txn-put' && w.opsPerTxn > w.keySpaceSize) fail('--txn-ops cannot exceed --key-space-size (a txn may not put one key twice)');
      break;
    case 'range':
      if (w.key === '') fail('range needs a key');
      break;
    case 'watch':
    case 'watch-latency':
      if (w.streams < 1 || w.watchersPerStream < 1) fail('--streams and --watch-per-stream must be positive');
      if (w.streams * w.watchersPerStream > limits.watchersMax) fail(`at most ${limits.watchersMax} watchers`);
      if (w.putTotal < 1 || w.putRate <= 0) fail('--put-total and --put-rate must be positive');
      break;
    case 'lease-keepalive':
      if (w.leases < 1 || w.leases > limits.leasesMax) fail(`--leases must be 1..${limits.leasesMax}`);
      if (w.streams < 1 || w.streams > w.leases) fail('--streams must be 1..leases');
      if (w.batch < 1 || w.batch > limits.keepAliveBatchMax) fail(`--batch must be 1..${limits.keepAliveBatchMax}`);
      break;
  }
}

/** The share of `total` that worker `index` of `count` takes (the first ones take the remainder). */
export function share(total: number, index: number, count: number): number {
  assert(count > 0 && index >= 0 && index < count, 'bad share');
  return Math.floor(total / count) + (index < total % count ? 1 : 0);
}

/** The key for index `i`: decimal, zero-padded to `sizeBytes` (so a key space of N keys holds N distinct keys). */
export function keyFor(i: number, sizeBytes: number): Buffer {
  const key = Buffer.allocUnsafe(sizeBytes);
  key.fill(0x30);
  const digits = String(i);
  key.write(digits.length > sizeBytes ? digits.slice(-sizeBytes) : digits, Math.max(0, sizeBytes - digits.length), 'latin1');
  return key;
}

/** The end of the range of all keys starting with `prefix` (last byte below 0xff incremented, as etcd does). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

export function describeWorkload(w: Workload): string {
  switch (w.type) {
    case 'put':
      return `put key ${w.keySizeBytes} B, value ${w.valueSizeBytes} B, ${w.sequentialKeys ? 'sequential' : 'random'} keys over ${w.keySpaceSize}`;
    case 'txn-put':
      return `txn-put ${w.opsPerTxn} put(s) per txn, key ${w.keySizeBytes} B, value ${w.valueSizeBytes} B`;
    case 'range':
      return `range ${w.prefix ? 'prefix' : 'key'} "${w.key}"${w.limit > 0 ? ` limit ${w.limit}` : ''}, ${w.consistency === 'l' ? 'linearizable' : 'serializable'}`;
    case 'watch':
    case 'watch-latency':
      return `${w.type}: ${w.streams} stream(s) x ${w.watchersPerStream} watchers on one key, ${w.putTotal} puts at ${w.putRate}/s`;
    case 'lease-keepalive':
      return `lease-keepalive: ${w.leases} leases (TTL ${w.ttlSeconds} s) over ${w.streams} stream(s), batches of ${w.batch}`;
  }
}
