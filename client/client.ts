// The typed client for tetcd (and etcd 3.4's JSON gateway): KV with a transaction builder, watches, leases with a
// keep-alive loop, cluster and maintenance calls; several endpoints with failover, deadlines, typed errors.
//
//   const client = new Client({ endpoints: ['127.0.0.1:2379'] });
//   await client.kv.put('a', '1');
//   const r = await client.kv.get('a', { prefix: true });
//   for await (const w of client.watch('a', { prefix: true })) console.log(w.events);
//   client.close();
import type {
  CompactionResponse,
  DeleteRangeResponse,
  HashKVResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  StatusResponse,
  TxnRequest,
  TxnResponse,
} from '../actors/api/types.js';
import { Connection, type CallOptions, type TransportMode } from './connection.js';
import { LeaseNotFoundError, RouteNotSupportedError } from './errors.js';
import * as json from './json.js';
import type { JsonObject } from './json.js';
import { toBytes, type KeyInput } from './keys.js';
import { keepAliveAttempt, LeaseKeepAlive } from './lease.js';
import { clientLimits } from './limits.js';
import { parseEndpoint, type Endpoint } from './transport/endpoint.js';
import { HttpStream } from './transport/http.js';
import { deleteRequest, putRequest, rangeRequest, TxnBuilder, type DeleteOptions, type GetOptions, type PutOptions } from './txn.js';
import type {
  AlarmMember,
  AlarmResponse,
  HashResponse,
  HeaderOnlyResponse,
  MemberAddResponse,
  MemberChangeResponse,
  SnapshotChunk,
} from './types.js';
import { AlarmType } from './types.js';
import { Watcher, type Watch, type WatchOptions } from './watch.js';

export interface ClientOptions {
  /** "host:port" or "http://host:port", one or more. */
  endpoints: string[] | string;
  /** Time to open a connection to one endpoint (default 2 s). */
  dialTimeoutMs?: number;
  /** Deadline of a unary call including retries and failover (default 5 s). */
  requestTimeoutMs?: number;
  /** auto (default): WebSocket for streams where accepted, else HTTP; http: HTTP only; ws: WebSocket for all. */
  transport?: TransportMode;
  /** Source of randomness for backoff jitter (tests pass a seeded one). */
  random?: () => number;
}

/** Options every call takes. */
export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

function call(options: RequestOptions | undefined, idempotent: boolean, endpoint?: Endpoint): CallOptions {
  const out: CallOptions = { idempotent };
  if (options?.timeoutMs !== undefined) out.timeoutMs = options.timeoutMs;
  if (options?.signal) out.signal = options.signal;
  if (endpoint) out.endpoint = endpoint;
  return out;
}

export class KV {
  constructor(private readonly connection: Connection) {}

  async get(key: KeyInput, options: GetOptions & RequestOptions = {}): Promise<RangeResponse> {
    const body = json.encodeRange(rangeRequest(key, options));
    return json.decodeRange(await this.connection.unary('/v3/kv/range', body, call(options, true)));
  }

  async put(key: KeyInput, value: KeyInput, options: PutOptions & RequestOptions = {}): Promise<PutResponse> {
    const body = json.encodePut(putRequest(key, value, options));
    return json.decodePut(await this.connection.unary('/v3/kv/put', body, call(options, false)));
  }

  async delete(key: KeyInput, options: DeleteOptions & RequestOptions = {}): Promise<DeleteRangeResponse> {
    const body = json.encodeDeleteRange(deleteRequest(key, options));
    return json.decodeDeleteRange(await this.connection.unary('/v3/kv/deleterange', body, call(options, false)));
  }

  /** A transaction builder: .if(...).success(...).failure(...).commit(). */
  txn(options?: RequestOptions): TxnBuilder {
    return new TxnBuilder((request) => this.commit(request, options));
  }

  async commit(request: TxnRequest, options?: RequestOptions): Promise<TxnResponse> {
    const readOnly = [...request.success, ...request.failure].every((o) => 'requestRange' in o);
    return json.decodeTxn(await this.connection.unary('/v3/kv/txn', json.encodeTxn(request), call(options, readOnly)));
  }

  async compact(revision: number, options: { physical?: boolean } & RequestOptions = {}): Promise<CompactionResponse> {
    const body: JsonObject = { revision: String(revision) };
    if (options.physical) body.physical = true;
    return json.decodeWithHeader(await this.connection.unary('/v3/kv/compaction', body, call(options, false)));
  }
}

export class Lease {
  constructor(private readonly connection: Connection) {}

  async grant(ttlSeconds: number, options: { id?: bigint } & RequestOptions = {}): Promise<LeaseGrantResponse> {
    const body: JsonObject = { TTL: String(ttlSeconds) };
    if (options.id) body.ID = options.id.toString();
    return json.decodeLeaseGrant(await this.connection.unary('/v3/lease/grant', body, call(options, false)));
  }

  async revoke(id: bigint, options?: RequestOptions): Promise<LeaseRevokeResponse> {
    return json.decodeLeaseRevoke(await this.connection.unary('/v3/lease/revoke', { ID: id.toString() }, call(options, false)));
  }

  async timeToLive(id: bigint, options: { keys?: boolean } & RequestOptions = {}): Promise<LeaseTimeToLiveResponse> {
    const body: JsonObject = { ID: id.toString() };
    if (options.keys) body.keys = true;
    return json.decodeLeaseTimeToLive(await this.connection.unary('/v3/lease/timetolive', body, call(options, true)));
  }

  async leases(options?: RequestOptions): Promise<LeaseLeasesResponse> {
    return json.decodeLeaseLeases(await this.connection.unary('/v3/lease/leases', {}, call(options, true)));
  }

  /** One renewal. A lease the server does not know (answer TTL <= 0) is LeaseNotFoundError, as etcd's client says. */
  async keepAliveOnce(id: bigint, options?: RequestOptions): Promise<LeaseKeepAliveResponse> {
    const response = await this.connection.withRetries(call(options, true), (endpoint, signal) =>
      keepAliveAttempt(this.connection, endpoint, id, signal),
    );
    if (response.TTL <= 0) throw new LeaseNotFoundError(5, 'etcdserver: requested lease not found');
    return response;
  }

  /** Keeps the lease alive until close() or until it is lost; iterate it to see each renewal. */
  keepAlive(id: bigint): LeaseKeepAlive {
    const keepAlive = new LeaseKeepAlive(this.connection, id);
    this.connection.track(keepAlive);
    void keepAlive.ended.then(() => this.connection.untrack(keepAlive));
    return keepAlive;
  }
}

/** Member IDs are 16-digit hex strings (as etcdctl prints them, with or without leading zeros). */
export class Cluster {
  constructor(private readonly connection: Connection) {}

  async memberList(options?: RequestOptions & { endpoint?: string }): Promise<MemberListResponse> {
    const target = options?.endpoint ? parseEndpoint(options.endpoint) : undefined;
    return json.decodeMemberList(await this.connection.unary('/v3/cluster/member/list', {}, call(options, true, target)));
  }

  async memberAdd(peerURLs: string[], options: { isLearner?: boolean } & RequestOptions = {}): Promise<MemberAddResponse> {
    const body: JsonObject = { peerURLs };
    if (options.isLearner) body.isLearner = true;
    return json.decodeMemberAdd(await this.connection.unary('/v3/cluster/member/add', body, call(options, false)));
  }

  async memberRemove(id: string, options?: RequestOptions): Promise<MemberChangeResponse> {
    const body = { ID: json.hexIdToDecimal(id) };
    return json.decodeMemberChange(await this.connection.unary('/v3/cluster/member/remove', body, call(options, false)));
  }

  async memberUpdate(id: string, peerURLs: string[], options?: RequestOptions): Promise<MemberChangeResponse> {
    const body = { ID: json.hexIdToDecimal(id), peerURLs };
    return json.decodeMemberChange(await this.connection.unary('/v3/cluster/member/update', body, call(options, false)));
  }

  async memberPromote(id: string, options?: RequestOptions): Promise<MemberChangeResponse> {
    const body = { ID: json.hexIdToDecimal(id) };
    return json.decodeMemberChange(await this.connection.unary('/v3/cluster/member/promote', body, call(options, false)));
  }
}

/** Maintenance calls aim at one member: pass `endpoint` to choose it (default: the pinned endpoint, no failover). */
export class Maintenance {
  constructor(private readonly connection: Connection) {}

  private target(endpoint: string | undefined): Endpoint {
    return endpoint ? parseEndpoint(endpoint) : this.connection.current();
  }

  async status(options?: RequestOptions & { endpoint?: string }): Promise<StatusResponse> {
    const endpoint = this.target(options?.endpoint);
    return json.decodeStatus(await this.connection.unary('/v3/maintenance/status', {}, call(options, true, endpoint)));
  }

  async alarmList(options?: RequestOptions): Promise<AlarmResponse> {
    return json.decodeAlarm(await this.connection.unary('/v3/maintenance/alarm', { action: 'GET' }, call(options, true)));
  }

  /** Disarms one alarm, or (none given) every raised alarm one by one, answering with the alarms disarmed. */
  async alarmDisarm(alarm?: AlarmMember, options?: RequestOptions): Promise<AlarmResponse> {
    if (!alarm) {
      const raised = await this.alarmList(options);
      const disarmed: AlarmResponse = raised.header ? { header: raised.header, alarms: [] } : { alarms: [] };
      for (const a of raised.alarms) disarmed.alarms.push(...(await this.alarmDisarm(a, options)).alarms);
      return disarmed;
    }
    const body: JsonObject = { action: 'DEACTIVATE', memberID: json.hexIdToDecimal(alarm.memberID), alarm: json.alarmName(alarm.alarm) };
    return json.decodeAlarm(await this.connection.unary('/v3/maintenance/alarm', body, call(options, false)));
  }

  async defragment(options?: RequestOptions & { endpoint?: string }): Promise<HeaderOnlyResponse> {
    const endpoint = this.target(options?.endpoint);
    return json.decodeHeaderOnly(await this.connection.unary('/v3/maintenance/defragment', {}, call(options, false, endpoint)));
  }

  async hash(options?: RequestOptions & { endpoint?: string }): Promise<HashResponse> {
    const endpoint = this.target(options?.endpoint);
    return json.decodeHash(await this.connection.unary('/v3/maintenance/hash', {}, call(options, true, endpoint)));
  }

  /**
   * HashKV. etcd 3.4's gateway binds /v3/maintenance/hash to Hash (both RPCs share the route), so HashKV is asked on
   * /v3/maintenance/hashkv first; where that route does not exist the answer of /v3/maintenance/hash is used, which
   * on etcd 3.4 is the whole-store Hash without compact_revision (`fromHashRoute` tells).
   */
  async hashKV(revision: number, options?: RequestOptions & { endpoint?: string }): Promise<HashKVResponse & { fromHashRoute: boolean }> {
    const endpoint = this.target(options?.endpoint);
    const body: JsonObject = revision ? { revision: String(revision) } : {};
    try {
      const r = json.decodeHashKV(await this.connection.unary('/v3/maintenance/hashkv', body, call(options, true, endpoint)));
      return { ...r, fromHashRoute: false };
    } catch (error) {
      if (!(error instanceof RouteNotSupportedError)) throw error;
    }
    const r = json.decodeHashKV(await this.connection.unary('/v3/maintenance/hash', body, call(options, true, endpoint)));
    return { ...r, fromHashRoute: true };
  }

  async moveLeader(targetId: string, options?: RequestOptions & { endpoint?: string }): Promise<HeaderOnlyResponse> {
    const endpoint = this.target(options?.endpoint);
    const body = { targetID: json.hexIdToDecimal(targetId) };
    return json.decodeHeaderOnly(await this.connection.unary('/v3/maintenance/transfer-leadership', body, call(options, false, endpoint)));
  }

  /** The member's snapshot as a stream of chunks, with at most a few chunks buffered ahead of the consumer. */
  snapshot(options?: { endpoint?: string }): AsyncIterable<SnapshotChunk> & { close(): void } {
    const endpoint = this.target(options?.endpoint);
    const connection = this.connection;
    const queue: SnapshotChunk[] = [];
    let failure: Error | undefined;
    let ended = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    const stream = new HttpStream(endpoint, '/v3/maintenance/snapshot', '{}', {
      onResult: (result) => {
        try {
          queue.push(json.decodeSnapshotChunk(result));
        } catch (error) {
          failure = error as Error;
          stream.close();
        }
        if (queue.length >= clientLimits.snapshotChunksAheadMax) stream.pause();
        notify();
      },
      onEnd: (error) => {
        ended = true;
        failure ??= error;
        connection.untrack(stream);
        notify();
      },
    }, connection.dialTimeoutMs);
    connection.track(stream);
    return {
      close: () => {
        ended = true;
        stream.close();
        connection.untrack(stream);
        notify();
      },
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            const chunk = queue.shift();
            if (chunk) {
              if (queue.length < clientLimits.snapshotChunksAheadMax / 2) stream.resume();
              yield chunk;
              continue;
            }
            if (failure) throw failure;
            if (ended) return;
            await new Promise<void>((resolve) => (wake = resolve));
          }
        } finally {
          stream.close();
          connection.untrack(stream);
        }
      },
    };
  }
}

export class Client {
  readonly kv: KV;
  readonly lease: Lease;
  readonly cluster: Cluster;
  readonly maintenance: Maintenance;
  readonly watcher: Watcher;
  readonly connection: Connection;

  constructor(options: ClientOptions) {
    const list = typeof options.endpoints === 'string' ? options.endpoints.split(',') : options.endpoints;
    this.connection = new Connection({
      endpoints: list.filter((e) => e.trim() !== '').map(parseEndpoint),
      dialTimeoutMs: options.dialTimeoutMs ?? clientLimits.dialTimeoutMsDefault,
      requestTimeoutMs: options.requestTimeoutMs ?? clientLimits.requestTimeoutMsDefault,
      transport: options.transport ?? 'auto',
      random: options.random ?? Math.random,
    });
    this.kv = new KV(this.connection);
    this.lease = new Lease(this.connection);
    this.cluster = new Cluster(this.connection);
    this.maintenance = new Maintenance(this.connection);
    this.watcher = new Watcher(this.connection);
  }

  get endpoints(): readonly Endpoint[] {
    return this.connection.endpoints;
  }

  /** Watches a key or range; iterate the result, cancel() or break to stop. */
  watch(key: KeyInput, options?: WatchOptions): Watch {
    return this.watcher.watch(key, options);
  }

  /** Ends every call, watch and keep-alive of this client and releases its sockets. */
  close(): void {
    this.connection.close();
  }
}

export { AlarmType, toBytes };
