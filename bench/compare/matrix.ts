// The workloads of the side-by-side comparison, sized to fit the default time budget on a 2-core machine. Each has
// an id (usable in --workloads), the cluster sizes it runs on by default, and the load generator shape it uses; the
// driver and endpoints are filled in per server and path.
import type { RunOptions, Workload } from '../loadgen/workload.js';

export type Metric = 'requests' | 'keep-alives' | 'events';

export interface CompareWorkload {
  id: string;
  title: string;
  /** Cluster sizes this workload runs on unless --workloads names it explicitly. */
  clusterSizes: number[];
  metric: Metric;
  /** A key to put before the run (ranges read it). */
  presetKey?: string;
  /** Writes: sent to the leader alone (a follower would forward them, measuring the forwarding too). */
  toLeader?: boolean;
  /**
   * The client paths measured; both unless a path would cost more time than it tells (etcd's gateway with 100,000
   * watchers spends most of a minute creating them and then delivers a fifth of the events).
   */
  paths?: ('best' | 'json')[];
  /** The run's shape; driver and endpoints are set by the runner. */
  shape(timing: Timing): Omit<RunOptions, 'driver' | 'endpoints'>;
}

export interface Timing {
  durationMs: number;
  warmupMs: number;
}

const putWorkload = (keySpaceSize: number): Workload => ({ type: 'put', keySizeBytes: 8, valueSizeBytes: 256, keySpaceSize, sequentialKeys: false });

function unary(clients: number, connections: number, workers: number, workload: Workload, t: Timing): Omit<RunOptions, 'driver' | 'endpoints'> {
  return { clients, connections, workers, total: 0, durationMs: t.durationMs, warmupMs: t.warmupMs, rate: 0, workload };
}

const both = [1, 3];
/** Left out of 3-member runs by default to fit the time budget with two servers: they add little there (put-64 lies
 * between put-1 and put-256; a serializable range is answered by the member alone, as on 1 member). */
const singleOnly = [1];

export const compareWorkloads: CompareWorkload[] = [
  { id: 'put-1', toLeader: true, title: 'put, 1 client (8-byte keys, 256-byte values)', clusterSizes: both, metric: 'requests', shape: (t) => unary(1, 1, 1, putWorkload(100_000), t) },
  { id: 'put-64', toLeader: true, title: 'put, 64 clients (gRPC/WS: 8 connections; JSON: a connection per client)', clusterSizes: singleOnly, metric: 'requests', shape: (t) => unary(64, 8, 2, putWorkload(100_000), t) },
  { id: 'put-256', toLeader: true, title: 'put, 256 clients (gRPC/WS: 16 connections; JSON: a connection per client)', clusterSizes: both, metric: 'requests', shape: (t) => unary(256, 16, 2, putWorkload(100_000), t) },
  {
    id: 'range-l',
    title: 'range one key, linearizable, 64 clients (gRPC/WS: 8 connections; JSON: 64)',
    clusterSizes: both,
    metric: 'requests',
    presetKey: 'bench-range',
    shape: (t) => unary(64, 8, 2, { type: 'range', key: 'bench-range', prefix: false, limit: 0, consistency: 'l' }, t),
  },
  {
    id: 'range-s',
    title: 'range one key, serializable, 64 clients (gRPC/WS: 8 connections; JSON: 64)',
    clusterSizes: singleOnly,
    metric: 'requests',
    presetKey: 'bench-range',
    shape: (t) => unary(64, 8, 2, { type: 'range', key: 'bench-range', prefix: false, limit: 0, consistency: 's' }, t),
  },
  {
    id: 'txn-put',
    toLeader: true,
    title: 'txn with one put, 64 clients (gRPC/WS: 8 connections; JSON: 64)',
    clusterSizes: both,
    metric: 'requests',
    shape: (t) => unary(64, 8, 2, { type: 'txn-put', keySizeBytes: 8, valueSizeBytes: 256, keySpaceSize: 100_000, opsPerTxn: 1 }, t),
  },
  {
    id: 'lease-10k',
    title: 'lease keep-alive, 10,000 leases over 20 streams (batches of 25)',
    clusterSizes: both,
    metric: 'keep-alives',
    shape: (t) => ({ clients: 20, connections: 20, workers: 2, total: 0, durationMs: t.durationMs, warmupMs: t.warmupMs, rate: 0, workload: { type: 'lease-keepalive', leases: 10_000, ttlSeconds: 600, streams: 20, batch: 25 } }),
  },
  {
    // 40 puts at 100/s offer 1,000,000 events/s to 10,000 watchers (400,000 in all), far more than either server
    // delivers here: the rate measured is the server's, not the putter's
    id: 'watch-10k',
    title: 'watch fan-out, 10,000 watchers on one key (10 streams x 1,000), 40 puts at 100/s',
    clusterSizes: both,
    metric: 'events',
    shape: () => ({ clients: 10, connections: 10, workers: 2, total: 0, durationMs: 0, warmupMs: 0, rate: 0, workload: { type: 'watch', streams: 10, watchersPerStream: 1_000, key: 'bench-watch', putRate: 100, putTotal: 40, valueSizeBytes: 32 } }),
  },
  {
    // 20 puts at 20/s offer 2,000,000 events/s to 100,000 watchers (2,000,000 events in all)
    id: 'watch-100k',
    title: 'watch fan-out, 100,000 watchers on one key (20 streams x 5,000), 20 puts at 20/s',
    clusterSizes: [1],
    metric: 'events',
    paths: ['best'],
    shape: () => ({ clients: 20, connections: 20, workers: 2, total: 0, durationMs: 0, warmupMs: 0, rate: 0, workload: { type: 'watch', streams: 20, watchersPerStream: 5_000, key: 'bench-watch', putRate: 20, putTotal: 20, valueSizeBytes: 32 } }),
  },
];
