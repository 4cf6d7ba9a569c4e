// The transport-independent client API: what the gateway needs from the member, and nothing about HTTP. Requests go
// in as etcd's own messages (actors/api/types.ts, plus the cluster and maintenance messages below that only the edge
// needs); a response comes back, or the promise rejects with an EtcdError (actors/api/errors.ts) that the adapter
// turns into etcd's error body and status. Any other rejection is reported like gRPC's Unknown (code 2, HTTP 500).
//
// Streams are sessions, one per client stream, with backpressure in both directions:
//   - watch: the adapter feeds requests (create, cancel, progress) into a WatchSession and the session pushes batches
//     of WatchResponse into a WatchSink. When the client's socket backs up past a threshold the adapter calls
//     pause(); when it drains, resume(). A session that keeps sending while paused is not refused, but once the
//     socket's queue passes the per-socket cap the adapter closes that one stream with a reason and calls close().
//   - lease keep-alive: the same shape; the session answers every request with exactly one response, in order.
//   - snapshot: an async iterable of chunks; the adapter pulls the next chunk only once the socket took the last one.
//
// Watch fan-out: the encoder caches the JSON of an `events` array by identity, so when one applied batch reaches
// many watchers, hand them the same array object and its events are encoded once; only each response's header and
// watch_id are written per watcher.
import type {
  Bytes,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  HashKVRequest,
  HashKVResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeRequest,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  Member,
  MemberListResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  StatusResponse,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
} from '../api/types.js';
import type { EtcdError } from '../api/errors.js';

// ---- messages the shared types do not carry yet (etcd 3.4 shapes; member ids are 16-digit hex as elsewhere) ----

export type EmptyRequest = Record<string, never>;

export interface MemberAddRequest {
  peerURLs: string[];
  isLearner?: boolean;
}
export interface MemberAddResponse {
  header: ResponseHeader;
  member: Member;
  members: Member[];
}
export interface MemberRemoveRequest {
  ID: string;
}
export interface MemberUpdateRequest {
  ID: string;
  peerURLs: string[];
}
export interface MemberPromoteRequest {
  ID: string;
}
/** Remove, update and promote answer with the member list, like list. */
export type MembersResponse = MemberListResponse;

export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];
export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];

export interface AlarmRequest {
  action: AlarmAction;
  /** 16-digit hex, taken as given ("0000000000000000" is member 0, as in etcd; GET ignores it). */
  memberID: string;
  alarm: AlarmType;
}
export interface AlarmMember {
  memberID: string;
  alarm: AlarmType;
}
/** etcd 3.4 answers Alarm (and Defragment) without a header: leave it undefined to match its bytes. */
export interface AlarmResponse {
  header?: ResponseHeader;
  alarms: AlarmMember[];
}
export interface DefragmentResponse {
  header?: ResponseHeader;
}
export interface HashResponse {
  header: ResponseHeader;
  /** uint32 */
  hash: number;
}
export interface MoveLeaderRequest {
  /** 16-digit hex */
  targetID: string;
}
export interface MoveLeaderResponse {
  /** etcd sends none. */
  header?: ResponseHeader;
}
export interface SnapshotResponse {
  header?: ResponseHeader;
  remainingBytes: number;
  blob: Bytes;
}

export interface HealthRequest {
  /** Alarms to ignore (etcd 3.4: /health?exclude=NOSPACE). */
  exclude: AlarmType[];
  /** /health?serializable=true: answer from local state without a linearizable read. */
  serializable: boolean;
}
export interface HealthResponse {
  health: boolean;
  /** Why not healthy, for logs only (etcd's body carries only true/false). */
  reason?: string;
}

/** What /version reports. tetcd reports the etcd version whose API it serves (e.g. "3.4.23" / "3.4.0"). */
export interface VersionResponse {
  etcdserver: string;
  etcdcluster: string;
}

// ---- call context ----

/** Per-call facts from the transport. Cheap to create: one per request. */
export interface CallContext {
  /** The Authorization header (etcd's auth token); accepted and not yet checked. */
  readonly authToken: string | undefined;
  /** True once the client went away; a long operation may stop early. */
  readonly aborted: boolean;
}

// ---- streams ----

/** Where a watch session sends its responses. Calls after the stream closed are ignored. */
export interface WatchSink {
  /** A batch of responses, written in order with one syscall per batch. */
  send(responses: readonly WatchResponse[]): void;
  /** Ends the stream with an error the client sees as etcd's stream error (e.g. no leader). */
  fail(error: EtcdError): void;
}

export interface WatchSession {
  /** One client request; messages that carry none of create/cancel/progress never reach the session (etcd ignores them). */
  request(request: WatchRequest): void;
  /** The client's socket is backed up: hold responses (bounded, e.g. as etcd's slow "victim" watchers) until resume(). */
  pause(): void;
  /** The client's socket drained. */
  resume(): void;
  /** The stream is over (client gone, or closed by the adapter): release every watcher. The sink is dead after this. */
  close(): void;
}

export interface LeaseKeepAliveSink {
  /** Responses, exactly one per request, in request order. */
  send(responses: readonly LeaseKeepAliveResponse[]): void;
  fail(error: EtcdError): void;
}

export interface LeaseKeepAliveSession {
  request(request: LeaseKeepAliveRequest): void;
  pause(): void;
  resume(): void;
  close(): void;
}

// ---- the API ----

export interface Api {
  // KV
  range(request: RangeRequest, context: CallContext): Promise<RangeResponse>;
  put(request: PutRequest, context: CallContext): Promise<PutResponse>;
  deleteRange(request: DeleteRangeRequest, context: CallContext): Promise<DeleteRangeResponse>;
  txn(request: TxnRequest, context: CallContext): Promise<TxnResponse>;
  compact(request: CompactionRequest, context: CallContext): Promise<CompactionResponse>;
  // Watch
  watch(sink: WatchSink, context: CallContext): WatchSession;
  // Lease
  leaseGrant(request: LeaseGrantRequest, context: CallContext): Promise<LeaseGrantResponse>;
  leaseRevoke(request: LeaseRevokeRequest, context: CallContext): Promise<LeaseRevokeResponse>;
  leaseKeepAlive(sink: LeaseKeepAliveSink, context: CallContext): LeaseKeepAliveSession;
  leaseTimeToLive(request: LeaseTimeToLiveRequest, context: CallContext): Promise<LeaseTimeToLiveResponse>;
  leaseLeases(request: EmptyRequest, context: CallContext): Promise<LeaseLeasesResponse>;
  // Cluster
  memberAdd(request: MemberAddRequest, context: CallContext): Promise<MemberAddResponse>;
  memberRemove(request: MemberRemoveRequest, context: CallContext): Promise<MembersResponse>;
  memberUpdate(request: MemberUpdateRequest, context: CallContext): Promise<MembersResponse>;
  memberList(request: EmptyRequest, context: CallContext): Promise<MemberListResponse>;
  memberPromote(request: MemberPromoteRequest, context: CallContext): Promise<MembersResponse>;
  // Maintenance
  alarm(request: AlarmRequest, context: CallContext): Promise<AlarmResponse>;
  status(request: EmptyRequest, context: CallContext): Promise<StatusResponse>;
  defragment(request: EmptyRequest, context: CallContext): Promise<DefragmentResponse>;
  /** etcd 3.4's gateway binds /v3/maintenance/hash to Hash only (HashKV is shadowed there); HashKV is for gRPC. */
  hash(request: EmptyRequest, context: CallContext): Promise<HashResponse>;
  hashKV(request: HashKVRequest, context: CallContext): Promise<HashKVResponse>;
  /** Chunks of the backend snapshot; the adapter pulls the next one only when the socket took the previous one. */
  snapshot(request: EmptyRequest, context: CallContext): AsyncIterable<SnapshotResponse>;
  moveLeader(request: MoveLeaderRequest, context: CallContext): Promise<MoveLeaderResponse>;
  // Plain HTTP endpoints
  health(request: HealthRequest): Promise<HealthResponse>;
  version(): VersionResponse;
}
