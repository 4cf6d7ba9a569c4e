// An in-memory Api for testing the gateway alone: enough of etcd's behaviour (revisions, ranges, txn, leases,
// watches with fan-out, keep-alives, members, alarms, snapshot chunks) to drive every route, and hooks to make it
// fail, stall or flood. It is a test double, not a model of etcd: the differential tests against the real etcd
// check the codec, and the member's own tests check the semantics.
import { EtcdError, Errors, etcdError } from '../../actors/api/errors.js';
import type {
  CompactionRequest,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KeyValue,
  LeaseKeepAliveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  WatchCreateRequest,
  WatchRequest,
  WatchResponse,
} from '../../actors/api/types.js';
import type {
  AlarmMember,
  Api,
  CallContext,
  LeaseKeepAliveSink,
  LeaseKeepAliveSession,
  SnapshotResponse,
  WatchSink,
  WatchSession,
} from '../../actors/gateway/api.js';

const CLUSTER = '0482757b1d4d5087';
const MEMBER = '2e12df9a0f9c6740';

function keyString(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

function inRange(key: string, start: string, end: string | undefined): boolean {
  if (end === undefined || end === '') return key === start;
  if (end === '\0') return key >= start;
  return key >= start && key < end;
}

interface FakeWatcher {
  id: number;
  key: string;
  end: string | undefined;
  prevKv: boolean;
  session: FakeWatchSession;
}

class FakeWatchSession implements WatchSession {
  private nextId = 0;
  readonly watchers = new Map<number, FakeWatcher>();
  paused = false;
  held: WatchResponse[] = [];
  closed = false;

  constructor(private readonly api: FakeApi, private readonly sink: WatchSink) {}

  request(request: WatchRequest): void {
    this.api.watchRequests.push(request);
    if ('createRequest' in request) return this.create(request.createRequest);
    if ('cancelRequest' in request) {
      const id = request.cancelRequest.watchId;
      if (!this.watchers.delete(id)) return;
      this.api.watchers.delete(this.watcherKey(id));
      return this.emit([{ header: this.api.header(), watchId: id, canceled: true, events: [] }]);
    }
    this.emit([{ header: this.api.header(), watchId: -1, events: [] }]);
  }

  private watcherKey(id: number): string {
    return `${this.api.sessionId(this)}:${id}`;
  }

  private create(c: WatchCreateRequest): void {
    const id = c.watchId !== undefined && c.watchId !== 0 ? c.watchId : this.nextId++;
    if (this.watchers.has(id)) {
      return this.emit([{ header: this.api.header(), watchId: -1, created: true, canceled: true, cancelReason: 'mvcc: duplicate watch ID provided on the WatchStream', events: [] }]);
    }
    const end = c.rangeEnd !== undefined && c.rangeEnd.length > 0 ? keyString(c.rangeEnd) : undefined;
    const watcher: FakeWatcher = { id, key: keyString(c.key), end, prevKv: c.prevKv === true, session: this };
    this.watchers.set(id, watcher);
    this.api.watchers.set(this.watcherKey(id), watcher);
    const responses: WatchResponse[] = [{ header: this.api.header(), watchId: id, created: true, events: [] }];
    if (c.startRevision !== undefined && c.startRevision > 0) {
      const events = this.api.history.filter((e) => e.kv.modRevision >= c.startRevision! && inRange(keyString(e.kv.key), watcher.key, end));
      if (events.length > 0) responses.push({ header: this.api.header(), watchId: id, events });
    }
    this.emit(responses);
  }

  emit(responses: WatchResponse[]): void {
    if (this.closed) return;
    if (this.paused) {
      // Bounded like etcd's victim list: past the bound the oldest responses are dropped and counted.
      this.held.push(...responses);
      if (this.held.length > this.api.heldResponsesMax) {
        this.api.droppedWhilePaused += this.held.length - this.api.heldResponsesMax;
        this.held.splice(0, this.held.length - this.api.heldResponsesMax);
      }
      return;
    }
    this.sink.send(responses);
  }

  pause(): void {
    this.api.pauses++;
    if (!this.api.ignorePause) this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.api.resumes++;
    const held = this.held;
    this.held = [];
    if (held.length > 0) this.sink.send(held);
  }

  close(): void {
    this.closed = true;
    for (const id of this.watchers.keys()) this.api.watchers.delete(this.watcherKey(id));
    this.watchers.clear();
    this.api.closedWatchSessions++;
  }

  fail(error: EtcdError): void {
    this.sink.fail(error);
  }
}

class FakeKeepAliveSession implements LeaseKeepAliveSession {
  closed = false;
  constructor(private readonly api: FakeApi, private readonly sink: LeaseKeepAliveSink) {}
  request(request: { ID: bigint }): void {
    const answer = () => {
      if (this.closed) return;
      const lease = this.api.leases.get(request.ID);
      const response: LeaseKeepAliveResponse = { header: this.api.header(), ID: request.ID, TTL: lease?.ttl ?? 0 };
      this.sink.send([response]);
    };
    if (this.api.keepAliveDelayMs > 0) setTimeout(answer, this.api.keepAliveDelayMs);
    else queueMicrotask(answer);
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
    this.api.closedKeepAliveSessions++;
  }
}

export class FakeApi implements Api {
  revision = 1;
  compacted = 0;
  readonly store = new Map<string, KeyValue>();
  readonly history: Event[] = [];
  readonly leases = new Map<bigint, { ttl: number; keys: Set<string> }>();
  private nextLease = 7587862072907213000n;
  readonly watchers = new Map<string, FakeWatcher>();
  private readonly sessions = new WeakMap<FakeWatchSession, number>();
  private sessionCount = 0;
  readonly watchSessions: FakeWatchSession[] = [];
  readonly watchRequests: WatchRequest[] = [];
  alarms: AlarmMember[] = [];
  /** Calls the fake received, by method, for assertions. */
  readonly calls: Array<{ method: string; request: unknown; context: CallContext }> = [];
  /** When set, the next call rejects with this error. */
  failNext: unknown;
  keepAliveDelayMs = 0;
  heldResponsesMax = 100_000;
  droppedWhilePaused = 0;
  pauses = 0;
  resumes = 0;
  closedWatchSessions = 0;
  closedKeepAliveSessions = 0;
  /** A session that keeps sending while paused (to test the per-socket cap). */
  ignorePause = false;
  snapshotPulled = 0;
  snapshotChunks = 3;
  snapshotChunkBytes = 32 * 1024;
  /** Record calls (off in benchmarks). */
  record = true;

  header(revision = this.revision): ResponseHeader {
    return { clusterId: CLUSTER, memberId: MEMBER, revision, raftTerm: 2 };
  }

  sessionId(session: FakeWatchSession): number {
    let id = this.sessions.get(session);
    if (id === undefined) {
      id = ++this.sessionCount;
      this.sessions.set(session, id);
    }
    return id;
  }

  private begin(method: string, request: unknown, context: CallContext): void {
    if (this.record) this.calls.push({ method, request, context });
    if (this.failNext !== undefined) {
      const error = this.failNext;
      this.failNext = undefined;
      throw error;
    }
  }

  private async unary<T>(method: string, request: unknown, context: CallContext, run: () => T): Promise<T> {
    this.begin(method, request, context);
    return run();
  }

  // ---- KV ----

  private rangeNow(r: RangeRequest): RangeResponse {
    if (r.key.length === 0) throw etcdError(Errors.emptyKey);
    if (r.revision !== undefined && r.revision > this.revision) throw etcdError(Errors.futureRevision);
    if (r.revision !== undefined && r.revision > 0 && r.revision <= this.compacted) throw etcdError(Errors.compacted);
    const start = keyString(r.key);
    const end = r.rangeEnd !== undefined && r.rangeEnd.length > 0 ? keyString(r.rangeEnd) : undefined;
    const all = [...this.store.values()].filter((kv) => inRange(keyString(kv.key), start, end)).sort((a, b) => (keyString(a.key) < keyString(b.key) ? -1 : 1));
    const limit = r.limit ?? 0;
    const kvs = r.countOnly ? [] : (limit > 0 ? all.slice(0, limit) : all).map((kv) => (r.keysOnly ? { ...kv, value: new Uint8Array(0) } : kv));
    return { header: this.header(), kvs, more: limit > 0 && all.length > limit, count: all.length };
  }

  private putNow(r: PutRequest, revision: number): PutResponse {
    if (r.key.length === 0) throw etcdError(Errors.emptyKey);
    const k = keyString(r.key);
    const prev = this.store.get(k);
    const lease = r.lease ?? 0n;
    if (lease !== 0n && !this.leases.has(lease)) throw etcdError(Errors.leaseNotFound);
    const kv: KeyValue = {
      key: r.key,
      createRevision: prev?.createRevision ?? revision,
      modRevision: revision,
      version: (prev?.version ?? 0) + 1,
      value: r.value,
      lease,
    };
    this.store.set(k, kv);
    if (lease !== 0n) this.leases.get(lease)!.keys.add(k);
    this.publish({ type: 0, kv, prevKv: prev });
    const response: PutResponse = { header: this.header(revision) };
    if (r.prevKv === true && prev !== undefined) response.prevKv = prev;
    return response;
  }

  private deleteNow(r: DeleteRangeRequest, revision: number): DeleteRangeResponse {
    if (r.key.length === 0) throw etcdError(Errors.emptyKey);
    const start = keyString(r.key);
    const end = r.rangeEnd !== undefined && r.rangeEnd.length > 0 ? keyString(r.rangeEnd) : undefined;
    const prevKvs: KeyValue[] = [];
    for (const [k, kv] of [...this.store]) {
      if (!inRange(k, start, end)) continue;
      this.store.delete(k);
      prevKvs.push(kv);
      this.publish({ type: 1, kv: { key: kv.key, createRevision: 0, modRevision: revision, version: 0, value: new Uint8Array(0), lease: 0n }, prevKv: kv });
    }
    return { header: this.header(revision), deleted: prevKvs.length, prevKvs: r.prevKv === true ? prevKvs : [] };
  }

  /**
   * Sends one event to every matching watcher, one batch per session as the member's server does; watchers that match
   * share one events array (encoded once).
   */
  private publish(event: Event): void {
    this.history.push(event);
    if (this.history.length > 10_000) this.history.shift();
    const key = keyString(event.kv.key);
    const shared: Event[] = [{ type: event.type, kv: event.kv }];
    const withPrev: Event[] = [event];
    const batches = new Map<FakeWatchSession, WatchResponse[]>();
    for (const watcher of this.watchers.values()) {
      if (!inRange(key, watcher.key, watcher.end)) continue;
      let batch = batches.get(watcher.session);
      if (batch === undefined) batches.set(watcher.session, (batch = []));
      batch.push({ header: this.header(event.kv.modRevision), watchId: watcher.id, events: watcher.prevKv ? withPrev : shared });
    }
    for (const [session, responses] of batches) session.emit(responses);
  }

  range(request: RangeRequest, context: CallContext): Promise<RangeResponse> {
    return this.unary('range', request, context, () => this.rangeNow(request));
  }

  put(request: PutRequest, context: CallContext): Promise<PutResponse> {
    return this.unary('put', request, context, () => this.putNow(request, ++this.revision));
  }

  deleteRange(request: DeleteRangeRequest, context: CallContext): Promise<DeleteRangeResponse> {
    return this.unary('deleteRange', request, context, () => {
      const response = this.deleteNow(request, this.revision + 1);
      if (response.deleted > 0) this.revision++;
      else response.header = this.header();
      return response;
    });
  }

  private compareNow(c: TxnRequest['compare'][number]): boolean {
    const kv = this.store.get(keyString(c.key));
    let diff: number;
    switch (c.target) {
      case 3: {
        if (kv === undefined) return false;
        diff = Buffer.compare(Buffer.from(kv.value), Buffer.from(c.value ?? new Uint8Array(0)));
        break;
      }
      case 0: diff = (kv?.version ?? 0) - (c.version ?? 0); break;
      case 1: diff = (kv?.createRevision ?? 0) - (c.createRevision ?? 0); break;
      case 2: diff = (kv?.modRevision ?? 0) - (c.modRevision ?? 0); break;
      default: diff = Number((kv?.lease ?? 0n) - (c.lease ?? 0n));
    }
    switch (c.result) {
      case 0: return diff === 0;
      case 1: return diff > 0;
      case 2: return diff < 0;
      default: return diff !== 0;
    }
  }

  private txnNow(r: TxnRequest, revision: number): { response: TxnResponse; wrote: boolean } {
    const succeeded = r.compare.every((c) => this.compareNow(c));
    let wrote = false;
    const responses: ResponseOp[] = (succeeded ? r.success : r.failure).map((op: RequestOp): ResponseOp => {
      const sub = { clusterId: '', memberId: '', revision, raftTerm: 0 };
      if ('requestRange' in op) return { responseRange: { ...this.rangeNow(op.requestRange), header: { ...sub, revision: this.revision } } };
      if ('requestPut' in op) {
        wrote = true;
        return { responsePut: { ...this.putNow(op.requestPut, revision), header: sub } };
      }
      if ('requestDeleteRange' in op) {
        const deleted = this.deleteNow(op.requestDeleteRange, revision);
        if (deleted.deleted > 0) wrote = true;
        return { responseDeleteRange: { ...deleted, header: sub } };
      }
      const inner = this.txnNow(op.requestTxn, revision);
      wrote ||= inner.wrote;
      return { responseTxn: { ...inner.response, header: { clusterId: '', memberId: '', revision: 0, raftTerm: 0 } } };
    });
    return { response: { header: this.header(revision), succeeded, responses }, wrote };
  }

  txn(request: TxnRequest, context: CallContext): Promise<TxnResponse> {
    return this.unary('txn', request, context, () => {
      const { response, wrote } = this.txnNow(request, this.revision + 1);
      if (wrote) this.revision++;
      else response.header = this.header();
      return response;
    });
  }

  compact(request: CompactionRequest, context: CallContext) {
    return this.unary('compact', request, context, () => {
      if (request.revision > this.revision) throw etcdError(Errors.futureRevision);
      if (request.revision <= this.compacted) throw etcdError(Errors.compacted);
      this.compacted = request.revision;
      return { header: this.header() };
    });
  }

  // ---- watch and lease streams ----

  watch(sink: WatchSink, context: CallContext): WatchSession {
    this.begin('watch', undefined, context);
    const session = new FakeWatchSession(this, sink);
    this.watchSessions.push(session);
    return session;
  }

  leaseKeepAlive(sink: LeaseKeepAliveSink, context: CallContext): LeaseKeepAliveSession {
    this.begin('leaseKeepAlive', undefined, context);
    return new FakeKeepAliveSession(this, sink);
  }

  leaseGrant(request: { TTL: number; ID?: bigint }, context: CallContext) {
    return this.unary('leaseGrant', request, context, () => {
      if (request.TTL > 9_000_000_000) throw etcdError(Errors.leaseTTLTooLarge);
      const id = request.ID !== undefined && request.ID !== 0n ? request.ID : this.nextLease++;
      if (this.leases.has(id)) throw etcdError(Errors.leaseExists);
      const ttl = Math.max(request.TTL, 2);
      this.leases.set(id, { ttl, keys: new Set() });
      return { header: this.header(), ID: id, TTL: ttl };
    });
  }

  leaseRevoke(request: { ID: bigint }, context: CallContext) {
    return this.unary('leaseRevoke', request, context, () => {
      const lease = this.leases.get(request.ID);
      if (lease === undefined) throw etcdError(Errors.leaseNotFound);
      this.leases.delete(request.ID);
      for (const k of lease.keys) this.store.delete(k);
      return { header: this.header() };
    });
  }

  leaseTimeToLive(request: { ID: bigint; keys?: boolean }, context: CallContext) {
    return this.unary('leaseTimeToLive', request, context, () => {
      const lease = this.leases.get(request.ID);
      if (lease === undefined) return { header: this.header(), ID: request.ID, TTL: -1, grantedTTL: 0 };
      const keys = request.keys === true ? [...lease.keys].map((k) => Buffer.from(k, 'latin1') as Uint8Array) : undefined;
      return { header: this.header(), ID: request.ID, TTL: lease.ttl - 1, grantedTTL: lease.ttl, ...(keys ? { keys } : {}) };
    });
  }

  leaseLeases(request: Record<string, never>, context: CallContext) {
    return this.unary('leaseLeases', request, context, () => ({ header: this.header(), leases: [...this.leases.keys()].map((ID) => ({ ID })) }));
  }

  // ---- cluster ----

  private members() {
    return [{ ID: MEMBER, name: 'default', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379'] }];
  }
  private clusterHeader(): ResponseHeader {
    return { clusterId: CLUSTER, memberId: MEMBER, revision: 0, raftTerm: 2 };
  }

  memberAdd(request: { peerURLs: string[]; isLearner?: boolean }, context: CallContext) {
    return this.unary('memberAdd', request, context, () => {
      const member = { ID: '0821e5cae1d2f8cf', name: '', peerURLs: request.peerURLs, clientURLs: [], isLearner: request.isLearner };
      return { header: this.clusterHeader(), member, members: [member, ...this.members()] };
    });
  }
  memberRemove(request: { ID: string }, context: CallContext) {
    return this.unary('memberRemove', request, context, () => {
      if (request.ID !== MEMBER) throw etcdError(Errors.memberNotFound);
      return { header: this.clusterHeader(), members: [] };
    });
  }
  memberUpdate(request: { ID: string; peerURLs: string[] }, context: CallContext) {
    return this.unary('memberUpdate', request, context, () => {
      if (request.ID !== MEMBER) throw etcdError(Errors.memberNotFound);
      return { header: this.clusterHeader(), members: [{ ...this.members()[0]!, peerURLs: request.peerURLs }] };
    });
  }
  memberList(request: Record<string, never>, context: CallContext) {
    return this.unary('memberList', request, context, () => ({ header: this.clusterHeader(), members: this.members() }));
  }
  memberPromote(request: { ID: string }, context: CallContext) {
    return this.unary('memberPromote', request, context, () => {
      if (request.ID !== MEMBER) throw etcdError(Errors.memberNotFound);
      throw etcdError(Errors.memberNotLearner);
    });
  }

  // ---- maintenance ----

  alarm(request: { action: number; memberID: string; alarm: 0 | 1 | 2 }, context: CallContext) {
    return this.unary('alarm', request, context, () => {
      if (request.action === 1) {
        const entry = { memberID: request.memberID, alarm: request.alarm };
        this.alarms.push(entry);
        return { alarms: [entry] };
      }
      if (request.action === 2) {
        const removed = this.alarms.filter((a) => a.memberID === request.memberID && a.alarm === request.alarm);
        this.alarms = this.alarms.filter((a) => !removed.includes(a));
        return { alarms: removed };
      }
      return { alarms: this.alarms };
    });
  }
  status(request: Record<string, never>, context: CallContext) {
    return this.unary('status', request, context, () => ({
      header: this.header(),
      version: '3.4.23',
      dbSize: 20480,
      leader: MEMBER,
      raftIndex: 30,
      raftTerm: 2,
      raftAppliedIndex: 30,
      dbSizeInUse: 16384,
    }));
  }
  defragment(request: Record<string, never>, context: CallContext) {
    return this.unary('defragment', request, context, () => ({}));
  }
  hash(request: Record<string, never>, context: CallContext) {
    return this.unary('hash', request, context, () => ({ header: this.header(), hash: 3282267906 }));
  }
  hashKV(request: { revision?: number }, context: CallContext) {
    return this.unary('hashKV', request, context, () => ({ header: this.header(), hash: 1, compactRevision: this.compacted }));
  }
  snapshot(request: Record<string, never>, context: CallContext): AsyncIterable<SnapshotResponse> {
    this.begin('snapshot', request, context);
    const count = this.snapshotChunks;
    const size = this.snapshotChunkBytes;
    const api = this;
    return (async function* () {
      for (let i = 0; i < count; i++) {
        await new Promise((r) => setImmediate(r));
        api.snapshotPulled++;
        yield { remainingBytes: (count - 1 - i) * size, blob: new Uint8Array(size).fill(i & 0xff) };
      }
    })();
  }
  moveLeader(request: { targetID: string }, context: CallContext) {
    return this.unary('moveLeader', request, context, () => {
      if (request.targetID !== MEMBER) throw etcdError(Errors.badLeaderTransferee);
      return { header: this.header() };
    });
  }

  async health(request: { exclude: number[]; serializable: boolean }) {
    const active = this.alarms.filter((a) => !request.exclude.includes(a.alarm));
    return { health: active.length === 0 };
  }

  version() {
    return { etcdserver: '3.4.23', etcdcluster: '3.4.0' };
  }

  // ---- test hooks ----

  /** Fails every open watch session's stream with an error (as a lost leader would). */
  failWatches(error: EtcdError): void {
    for (const session of this.watchSessions) if (!session.closed) session.fail(error);
  }
}
