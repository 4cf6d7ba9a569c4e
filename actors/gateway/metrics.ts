// The member's Prometheus registry as served at /metrics: what the gateway measures itself (requests and their
// latency per route, open streams) and setters for what other parts of the member know (raft term, applied index,
// WAL fsync latency, watchers, database size), which the member's boot code feeds from actor reports.
// Where etcd has a metric for the same thing its name is used, so existing dashboards read tetcd unchanged.
//
// The per-request path costs a map lookup and a few additions: request counts and latency buckets are plain numbers
// per route, turned into Prometheus series only when /metrics is scraped (prom-client's own observe hashes its
// labels on every call, which costs more than the rest of the gateway's work on a put).
import { Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';

export type StreamKind = 'watch' | 'keepalive' | 'snapshot';

const latencyBucketsSeconds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

class RouteStats {
  readonly buckets = new Float64Array(latencyBucketsSeconds.length);
  sum = 0;
  count = 0;
  readonly byCode = new Map<number, number>();
}

interface SeriesValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** A metric prom-client's registry can print, whose values are computed at scrape time from RouteStats. */
function scrapedMetric(name: string, help: string, type: 'counter' | 'histogram', values: () => SeriesValue[]): Metric {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    reset: () => undefined,
  };
  return metric as unknown as Metric;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly stats = new Map<string, RouteStats>();
  private readonly streams = new Gauge({
    name: 'tetcd_gateway_open_streams',
    help: 'Open client streams, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  private readonly slowClosed = new Counter({
    name: 'tetcd_gateway_slow_streams_closed_total',
    help: 'Streams closed because their client did not read fast enough.',
    registers: [this.registry],
  });
  private readonly raftTerm = new Gauge({ name: 'tetcd_raft_term', help: 'Current raft term of this member.', registers: [this.registry] });
  private readonly appliedIndex = new Gauge({
    name: 'tetcd_raft_applied_index',
    help: 'Index of the last raft entry applied to the state machine.',
    registers: [this.registry],
  });
  private readonly walFsync = new Histogram({
    name: 'etcd_disk_wal_fsync_duration_seconds',
    help: 'The latency distributions of fsync called by WAL.',
    buckets: Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i),
    registers: [this.registry],
  });
  private readonly watchers = new Gauge({
    name: 'etcd_debugging_mvcc_watcher_total',
    help: 'Total number of watchers.',
    registers: [this.registry],
  });
  private readonly dbSize = new Gauge({
    name: 'etcd_mvcc_db_total_size_in_bytes',
    help: 'Total size of the underlying database physically allocated in bytes.',
    registers: [this.registry],
  });

  constructor() {
    this.registry.registerMetric(
      scrapedMetric('tetcd_gateway_requests_total', 'Client requests answered by the gateway, by route and gRPC code.', 'counter', () => {
        const values: SeriesValue[] = [];
        for (const [route, stats] of this.stats) for (const [code, count] of stats.byCode) values.push({ value: count, labels: { route, code } });
        return values;
      }),
    );
    this.registry.registerMetric(
      scrapedMetric('tetcd_gateway_request_duration_seconds', 'Time from a complete request body to its response, by route.', 'histogram', () => {
        const values: SeriesValue[] = [];
        const name = 'tetcd_gateway_request_duration_seconds';
        for (const [route, stats] of this.stats) {
          let cumulative = 0;
          latencyBucketsSeconds.forEach((le, i) => {
            cumulative += stats.buckets[i]!;
            values.push({ value: cumulative, labels: { le, route }, metricName: `${name}_bucket` });
          });
          values.push({ value: stats.count, labels: { le: '+Inf', route }, metricName: `${name}_bucket` });
          values.push({ value: stats.sum, labels: { route }, metricName: `${name}_sum` });
          values.push({ value: stats.count, labels: { route }, metricName: `${name}_count` });
        }
        return values;
      }),
    );
  }

  /** One answered request: `code` 0 for success, else the gRPC code of the error sent. */
  observe(route: string, code: number, seconds: number): void {
    let stats = this.stats.get(route);
    if (stats === undefined) {
      stats = new RouteStats();
      this.stats.set(route, stats);
    }
    stats.byCode.set(code, (stats.byCode.get(code) ?? 0) + 1);
    stats.count++;
    stats.sum += seconds;
    for (let i = 0; i < latencyBucketsSeconds.length; i++) {
      if (seconds <= latencyBucketsSeconds[i]!) {
        stats.buckets[i]!++;
        break;
      }
    }
  }

  streamOpened(kind: StreamKind): void {
    this.streams.labels(kind).inc();
  }
  streamClosed(kind: StreamKind): void {
    this.streams.labels(kind).dec();
  }
  slowStreamClosed(): void {
    this.slowClosed.inc();
  }

  // Fed by the rest of the member.
  setRaftTerm(term: number): void {
    this.raftTerm.set(term);
  }
  setAppliedIndex(index: number): void {
    this.appliedIndex.set(index);
  }
  observeWalFsync(seconds: number): void {
    this.walFsync.observe(seconds);
  }
  setWatchers(count: number): void {
    this.watchers.set(count);
  }
  setDbSize(bytes: number): void {
    this.dbSize.set(bytes);
  }

  contentType(): string {
    return this.registry.contentType;
  }
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
