// The member's Prometheus registry as served at /metrics: what the gateway measures itself (requests and their
// latency per route, open streams) and what the rest of the member knows (raft term and indexes, leader, WAL fsync
// latency, watchers, keys, database size), collected from the actors at each scrape.
// Where etcd has a metric for the same thing its name is used, so existing dashboards read tetcd unchanged.
//
// The per-request path costs a map lookup and a few additions: request counts and latency buckets are plain numbers
// per route, turned into Prometheus series only when /metrics is scraped (prom-client's own observe hashes its
// labels on every call, which costs more than the rest of the gateway's work on a put).
import { Counter, Gauge, Registry, type Metric } from 'prom-client';

export type StreamKind = 'watch' | 'keepalive' | 'snapshot';

export interface WalFsyncHistogram {
  boundsSeconds: readonly number[];
  /** Cumulative count per bound. */
  counts: number[];
  count: number;
  sumSeconds: number;
}

/** The member's state as seen at one scrape. */
export interface MemberGauges {
  raftTerm: number;
  committedIndex: number;
  appliedIndex: number;
  hasLeader: boolean;
  isLeader: boolean;
  leaderChanges: number;
  revision: number;
  keys: number;
  dbSizeBytes: number;
  watchers: number;
  watchStreams: number;
  slowWatchers: number;
  wal?: { bytes: number; fsync: WalFsyncHistogram };
}

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
  private readonly committed = new Gauge({ name: 'etcd_server_proposals_committed_total', help: 'The total number of consensus proposals committed.', registers: [this.registry] });
  private readonly applied = new Gauge({ name: 'etcd_server_proposals_applied_total', help: 'The total number of consensus proposals applied.', registers: [this.registry] });
  private readonly hasLeader = new Gauge({ name: 'etcd_server_has_leader', help: 'Whether or not a leader exists. 1 is existence, 0 is not.', registers: [this.registry] });
  private readonly isLeader = new Gauge({ name: 'etcd_server_is_leader', help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.', registers: [this.registry] });
  private readonly leaderChanges = new Gauge({ name: 'etcd_server_leader_changes_seen_total', help: 'The number of leader changes seen.', registers: [this.registry] });
  private readonly watchers = new Gauge({ name: 'etcd_debugging_mvcc_watcher_total', help: 'Total number of watchers.', registers: [this.registry] });
  private readonly watchStreams = new Gauge({ name: 'etcd_debugging_mvcc_watch_stream_total', help: 'Total number of watch streams.', registers: [this.registry] });
  private readonly slowWatchers = new Gauge({ name: 'etcd_debugging_mvcc_slow_watcher_total', help: 'Total number of unsynced slow watchers.', registers: [this.registry] });
  private readonly keys = new Gauge({ name: 'etcd_debugging_mvcc_keys_total', help: 'Total number of keys.', registers: [this.registry] });
  private readonly revision = new Gauge({ name: 'etcd_mvcc_current_revision', help: 'The current revision of the store.', registers: [this.registry] });
  private readonly dbSize = new Gauge({
    name: 'etcd_mvcc_db_total_size_in_bytes',
    help: 'Total size of the underlying database physically allocated in bytes.',
    registers: [this.registry],
  });
  private readonly walBytes = new Gauge({ name: 'tetcd_wal_bytes', help: 'Bytes of records in the WAL segments on disk.', registers: [this.registry] });
  /** The WAL's own fsync histogram (cumulative counts per bound), as last collected. */
  private fsync: WalFsyncHistogram | undefined;
  private collector: (() => Promise<MemberGauges>) | undefined;

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
    this.registry.registerMetric(
      scrapedMetric('etcd_disk_wal_fsync_duration_seconds', 'The latency distributions of fsync called by WAL.', 'histogram', () => {
        const fsync = this.fsync;
        if (fsync === undefined) return [];
        const name = 'etcd_disk_wal_fsync_duration_seconds';
        const values: SeriesValue[] = fsync.boundsSeconds.map((le, i) => ({ value: fsync.counts[i] ?? 0, labels: { le }, metricName: `${name}_bucket` }));
        values.push({ value: fsync.count, labels: { le: '+Inf' }, metricName: `${name}_bucket` });
        values.push({ value: fsync.sumSeconds, labels: {}, metricName: `${name}_sum` });
        values.push({ value: fsync.count, labels: {}, metricName: `${name}_count` });
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

  /** What the rest of the member knows is asked for at each scrape (raft, the store, the WAL). */
  collectFrom(collector: () => Promise<MemberGauges>): void {
    this.collector = collector;
  }

  private update(g: MemberGauges): void {
    this.raftTerm.set(g.raftTerm);
    this.appliedIndex.set(g.appliedIndex);
    this.committed.set(g.committedIndex);
    this.applied.set(g.appliedIndex);
    this.hasLeader.set(g.hasLeader ? 1 : 0);
    this.isLeader.set(g.isLeader ? 1 : 0);
    this.leaderChanges.set(g.leaderChanges);
    this.watchers.set(g.watchers);
    this.watchStreams.set(g.watchStreams);
    this.slowWatchers.set(g.slowWatchers);
    this.keys.set(g.keys);
    this.revision.set(g.revision);
    this.dbSize.set(g.dbSizeBytes);
    if (g.wal) {
      this.walBytes.set(g.wal.bytes);
      this.fsync = g.wal.fsync;
    }
  }

  contentType(): string {
    return this.registry.contentType;
  }
  /** The scrape: member gauges are collected first; if that fails (an actor is restarting), the last ones stand. */
  async text(): Promise<string> {
    if (this.collector) {
      try {
        this.update(await this.collector());
      } catch {
        // a scrape never fails for a gauge: Prometheus keeps the series, marked stale only when it disappears
      }
    }
    return this.registry.metrics();
  }
}
