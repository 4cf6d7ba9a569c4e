// The member's Prometheus registry as served at /metrics: what the gateway measures itself (requests and their
// latency per route, open streams) and setters for what other parts of the member know (raft term, applied index,
// WAL fsync latency, watchers, database size), which the member's boot code feeds from actor reports.
// Where etcd has a metric for the same thing its name is used, so existing dashboards read tetcd unchanged.
//
// The per-request path touches only pre-resolved children (no label hashing): one counter increment and one
// histogram observation.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type StreamKind = 'watch' | 'keepalive' | 'snapshot';

interface RouteMeters {
  ok: Counter.Internal;
  latency: Histogram.Internal<'route'>;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'tetcd_gateway_requests_total',
    help: 'Client requests answered by the gateway, by route and gRPC code.',
    labelNames: ['route', 'code'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'tetcd_gateway_request_duration_seconds',
    help: 'Time from a complete request body to its response, by route.',
    labelNames: ['route'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
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
  private readonly routes = new Map<string, RouteMeters>();

  /** The meters of one route, resolved once so a request costs no label lookups. */
  route(name: string): RouteMeters {
    let meters = this.routes.get(name);
    if (meters === undefined) {
      meters = { ok: this.requests.labels(name, '0'), latency: this.latency.labels(name) };
      this.routes.set(name, meters);
    }
    return meters;
  }

  /** One answered request: `code` 0 for success, else the gRPC code of the error sent. */
  observe(route: string, code: number, seconds: number): void {
    const meters = this.route(route);
    if (code === 0) meters.ok.inc();
    else this.requests.labels(route, String(code)).inc();
    meters.latency.observe(seconds);
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
