// The etcd server of one member, on the main thread: it implements the transport-independent Api (what the HTTP and
// WebSocket adapter calls) over the member's actors. It holds no replicated state; it turns requests into proposals,
// read-index rounds, reads, watch traffic and lease calls, batches each kind per turn, and matches the answers.
//
//   put/delete/txn/compact/lease grant+revoke ──propose (one message per turn)──▶ raft ──▶ wal, peers ──▶ mvcc
//                                   ◀── mvccOutput.results (outcome of every request this member proposed) ──┘
//   linearizable range ──readIndex (one per turn)──▶ raft ──readIndexResults──▶ read{minAppliedIndex} ──▶ mvcc
//   serializable range ──read{minAppliedIndex: 0}──▶ mvcc ──mvccOutput.reads──▶ here
//   watch streams ◀──▶ mvcc's watch hub (create/cancel/progress/flow in; responses and shared event batches out)
//   keep-alive ──▶ lease actor (renews on the leader)
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { ActorContext, ActorRef } from '../../runtime/actor.js';
import { encodeValue } from '../../runtime/codec.js';
import { memberIdFor } from '../../runtime/config.js';
import type { Logger } from '../../runtime/log.js';
import { EtcdError, Errors, etcdError, GrpcCode } from '../api/errors.js';
import type { ApplyOutcome, InternalOp, InternalRequest } from '../api/internal.js';
import { encodeInternalRequest } from '../api/entry-codec.js';
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  HashKVRequest,
  HashKVResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseKeepAliveRequest,
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
import type {
  AlarmRequest,
  AlarmResponse,
  Api,
  DefragmentResponse,
  HashResponse,
  HealthRequest,
  HealthResponse,
  LeaseKeepAliveSession,
  LeaseKeepAliveSink,
  MemberAddRequest,
  MemberAddResponse,
  MemberPromoteRequest,
  MemberRemoveRequest,
  MembersResponse,
  MemberUpdateRequest,
  MoveLeaderRequest,
  MoveLeaderResponse,
  SnapshotResponse,
  VersionResponse,
  WatchSession,
  WatchSink,
} from '../gateway/api.js';
import { AlarmType } from '../gateway/api.js';
import type { MemberGauges } from '../gateway/metrics.js';
import type { LeaseProtocol } from '../lease/protocol.js';
import type { WalProtocol } from '../wal/protocol.js';
import type { TransportProtocol } from '../transport/protocol.js';
import type { MemberContext, MemberRecord } from '../mvcc/members.js';
import type { MvccOutput, MvccProtocol, ReadOp, ReadResponse, ReadResult, StatusReply } from '../mvcc/protocol.js';
import { isTxnReadOnly, validateDeleteRange, validateLeaseGrant, validatePut, validateRange, validateTxn } from '../mvcc/validate.js';
import type { WatchOutput } from '../mvcc/watch/hub.js';
import type { LeaderChanged, ProposalResults, RaftProtocol, ReadIndexResults } from '../raft/protocol.js';
import type { SnapshotSaveReply } from '../mvcc/protocol.js';
import { serverLimits } from './limits.js';
import { proposalBytes, proposalHeaderBytes } from './proposal-size.js';

export const tetcdVersion = '0.1.0';
/** The etcd API version tetcd serves, reported where etcd reports its own version. */
export const etcdApiVersion = '3.4.23';
export const etcdClusterVersion = '3.4.0';

export interface ServerConfig {
  memberId: string;
  /** --initial-cluster-token: part of the ID of members added through the API. */
  clusterToken: string;
  /** This incarnation of the member (see InternalRequest.boot); mvcc answers only requests carrying it. */
  bootId: number;
  clusterId: string;
  name: string;
  peerUrls: string[];
  clientUrls: string[];
  maxTxnOps: number;
  /** etcd's --max-request-bytes: a write whose proposal (as etcd would encode it) is larger is refused. */
  maxRequestBytes?: number;
  quotaBackendBytes: number;
  electionTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** The WAL is asked only for /metrics (its fsync latencies). */
  actors: { raft: string; mvcc: string; lease: string; transport: string; wal?: string };
}

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  deadlineMs: number;
}

interface WatchStream {
  sink: WatchSink;
  paused: boolean;
}

/** Shared recipient sets announced by the watch hub: one event batch goes to every (stream, watch) in the set. */
interface RecipientSet {
  streamIds: number[];
  watchIds: number[];
}

/** Callers waiting for a condition that holds after some event: the event wakes them all, and each checks again. */
class Wakeups {
  private waiters = new Set<() => void>();

  wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Resolves once `holds()`, checked at each wake; rejects with `timedOut()` after `timeoutMs`. */
  async until(holds: () => boolean, timeoutMs: number, timedOut: () => EtcdError): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!holds()) {
      const leftMs = deadline - Date.now();
      if (leftMs <= 0) throw timedOut();
      if (this.waiters.size >= serverLimits.readsInFlightMax) throw etcdError(Errors.tooManyRequests);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          this.waiters.delete(wake);
          resolve();
        }, leftMs);
        this.waiters.add(wake);
      });
    }
  }
}

export class EtcdServer implements Api {
  private readonly raft: ActorRef<RaftProtocol>;
  private readonly mvcc: ActorRef<MvccProtocol>;
  private readonly lease: ActorRef<LeaseProtocol>;
  private readonly transport: ActorRef<TransportProtocol>;
  private readonly wal: ActorRef<WalProtocol> | undefined;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private readonly maxRequestBytes: number;
  private readonly proposalHeaderBytes: number;

  private nextRequestId = 1;
  private proposals: Array<{ id: number; payload: Uint8Array }> = [];
  private readonly proposed = new Map<number, Waiter>();

  private nextReadId = 1;
  private readonly reads = new Map<number, Waiter & { op: ReadOp }>();
  private linearizable: number[] = [];
  private serializable: Array<{ id: number; minAppliedIndex: number; op: ReadOp }> = [];

  private nextStreamId = 1;
  private readonly streams = new Map<number, WatchStream>();
  private readonly recipientSets = new Map<number, RecipientSet>();
  private watchRequests: MvccWatchInput[] = [];

  private flushScheduled = false;
  private readonly sweepTimer: NodeJS.Timeout;
  private leader = '';
  private term = 0;
  private appliedIndex = 0;
  /** The store's revision as last reported by mvcc (etcd's header revision for answers that do not read the store). */
  private revision = 0;
  private lastStatus: StatusReply | undefined;
  private noSpace = false;
  private closed = false;
  /** Lease calls waiting for a leader to be known. */
  private readonly leaderKnown = new Wakeups();
  /** Leaders seen since this member started (etcd_server_leader_changes_seen_total). */
  private leaderChanges = 0;
  private members: MemberRecord[] = [];
  /** Membership calls waiting for the replicated member table to show their change. */
  private readonly membersChanged = new Wakeups();
  private published = false;
  private publishing = false;
  /** Called when this member finds itself removed from the cluster. */
  onRemoved: () => void = () => {};
  private readonly ctx: ActorContext;

  constructor(
    ctx: ActorContext,
    private readonly config: ServerConfig,
  ) {
    this.ctx = ctx;
    this.raft = ctx.ref<RaftProtocol>(config.actors.raft);
    this.mvcc = ctx.ref<MvccProtocol>(config.actors.mvcc);
    this.lease = ctx.ref<LeaseProtocol>(config.actors.lease);
    this.transport = ctx.ref<TransportProtocol>(config.actors.transport);
    this.wal = config.actors.wal === undefined ? undefined : ctx.ref<WalProtocol>(config.actors.wal);
    this.log = ctx.log;
    // etcd's request timeout: 5 s plus two election timeouts
    this.requestTimeoutMs = 5_000 + 2 * config.electionTimeoutMs;
    this.maxRequestBytes = config.maxRequestBytes ?? serverLimits.maxRequestBytesDefault;
    this.proposalHeaderBytes = proposalHeaderBytes(config.memberId);
    this.sweepTimer = setInterval(() => this.sweep(), serverLimits.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  // ---- messages from the actors ----

  onMvccOutput(output: MvccOutput): void {
    if (output.appliedIndex > this.appliedIndex) this.appliedIndex = output.appliedIndex;
    if (output.revision > this.revision) this.revision = output.revision;
    for (const outcome of output.results) this.settleProposal(outcome);
    for (const result of output.reads) this.settleRead(result);
    if (output.watch.length > 0) this.deliverWatch(output.watch);
  }

  onProposalResults(results: ProposalResults): void {
    // applied proposals are answered by the mvcc outcome, which carries the response; only failures matter here
    for (const failure of results.failed) {
      const waiter = this.proposed.get(failure.id);
      if (!waiter) continue;
      this.proposed.delete(failure.id);
      waiter.reject(new EtcdError(failure.code as GrpcCode, failure.message));
    }
  }

  onReadIndexResults(results: ReadIndexResults): void {
    for (const ready of results.ready) {
      for (const id of ready.ids) {
        const read = this.reads.get(id);
        if (read) this.serializable.push({ id, minAppliedIndex: ready.index, op: read.op });
      }
    }
    for (const failed of results.failed) {
      for (const id of failed.ids) {
        const read = this.reads.get(id);
        if (!read) continue;
        this.reads.delete(id);
        read.reject(new EtcdError(failed.code as GrpcCode, failed.message));
      }
    }
    if (this.serializable.length > 0) this.scheduleFlush();
  }

  onLeaderChanged(notice: LeaderChanged): void {
    if (notice.leader !== '' && notice.leader !== this.leader) this.leaderChanges++;
    this.leader = notice.leader;
    this.term = notice.term;
    if (notice.leader !== '') {
      this.publish();
      if (this.proposals.length > 0 || this.linearizable.length > 0) this.scheduleFlush();
      this.leaderKnown.wakeAll();
    }
  }

  // ---- KV ----

  range(request: RangeRequest): Promise<RangeResponse> {
    const invalid = validateRange(request);
    if (invalid) return Promise.reject(invalid);
    return this.read({ type: 'range', req: request }, request.serializable === true) as Promise<RangeResponse>;
  }

  put(request: PutRequest): Promise<PutResponse> {
    const invalid =
      validatePut(request) ??
      this.tooLarge(proposalBytes.put(request, this.proposalHeaderBytes)) ??
      this.quota(request.key.length + (request.value?.length ?? 0));
    if (invalid) return Promise.reject(invalid);
    return this.propose({ type: 'put', req: request }) as Promise<PutResponse>;
  }

  deleteRange(request: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    const invalid = validateDeleteRange(request) ?? this.tooLarge(proposalBytes.deleteRange(request, this.proposalHeaderBytes));
    if (invalid) return Promise.reject(invalid);
    return this.propose({ type: 'deleteRange', req: request }) as Promise<DeleteRangeResponse>;
  }

  txn(request: TxnRequest): Promise<TxnResponse> {
    const invalid = validateTxn(request, this.config.maxTxnOps);
    if (invalid) return Promise.reject(invalid);
    if (isTxnReadOnly(request)) return this.read({ type: 'txn', req: request }, false) as Promise<TxnResponse>;
    const refused = this.tooLarge(proposalBytes.txn(request, this.proposalHeaderBytes)) ?? this.quota(txnBytes(request));
    if (refused) return Promise.reject(refused);
    return this.propose({ type: 'txn', req: request }) as Promise<TxnResponse>;
  }

  compact(request: CompactionRequest): Promise<CompactionResponse> {
    return this.propose({ type: 'compaction', req: request }) as Promise<CompactionResponse>;
  }

  // ---- watch ----

  watch(sink: WatchSink): WatchSession {
    const streamId = this.nextStreamId++;
    const stream: WatchStream = { sink, paused: false };
    this.streams.set(streamId, stream);
    const server = this;
    return {
      request(request: WatchRequest) {
        if ('createRequest' in request) server.queueWatch({ type: 'create', streamId, req: request.createRequest });
        else if ('cancelRequest' in request) server.queueWatch({ type: 'cancel', streamId, watchId: request.cancelRequest.watchId });
        else if ('progressRequest' in request) server.queueWatch({ type: 'progress', streamId });
      },
      pause() {
        if (stream.paused) return;
        stream.paused = true;
        server.queueWatch({ type: 'flow', streamId, blocked: true });
      },
      resume() {
        if (!stream.paused) return;
        stream.paused = false;
        server.queueWatch({ type: 'flow', streamId, blocked: false });
      },
      close() {
        if (!server.streams.delete(streamId)) return;
        server.queueWatch({ type: 'close', streamId });
      },
    };
  }

  private queueWatch(request: MvccWatchInput): void {
    this.watchRequests.push(request);
    this.scheduleFlush();
  }

  private deliverWatch(outputs: WatchOutput[]): void {
    const batches = new Map<number, WatchResponse[]>();
    const push = (streamId: number, response: WatchResponse) => {
      if (!this.streams.has(streamId)) return;
      let list = batches.get(streamId);
      if (!list) batches.set(streamId, (list = []));
      list.push(response);
    };
    for (const out of outputs) {
      switch (out.kind) {
        case 'response':
          push(out.streamId, out.response);
          break;
        case 'recipients':
          this.recipientSets.set(out.setId, { streamIds: out.streamIds, watchIds: out.watchIds });
          break;
        case 'forget':
          this.recipientSets.delete(out.setId);
          break;
        case 'events': {
          const set = out.setId === 0 ? out : this.recipientSets.get(out.setId);
          if (!set) break;
          // every recipient shares the same events array: the encoder writes its JSON once
          for (let i = 0; i < set.streamIds.length; i++) {
            const response: WatchResponse = { header: out.header, watchId: set.watchIds[i]!, events: out.events };
            if (out.fragment) response.fragment = true;
            push(set.streamIds[i]!, response);
          }
          break;
        }
      }
    }
    for (const [streamId, responses] of batches) this.streams.get(streamId)?.sink.send(responses);
  }

  // ---- lease ----

  leaseGrant(request: LeaseGrantRequest): Promise<LeaseGrantResponse> {
    const invalid = validateLeaseGrant(request);
    if (invalid) return Promise.reject(invalid);
    let ID = BigInt(request.ID ?? 0n);
    if (ID === 0n) ID = randomLeaseId();
    return this.propose({ type: 'leaseGrant', req: { ID, TTL: request.TTL } }) as Promise<LeaseGrantResponse>;
  }

  leaseRevoke(request: LeaseRevokeRequest): Promise<LeaseRevokeResponse> {
    return this.propose({ type: 'leaseRevoke', req: { ID: BigInt(request.ID) } }) as Promise<LeaseRevokeResponse>;
  }

  leaseKeepAlive(sink: LeaseKeepAliveSink): LeaseKeepAliveSession {
    // Requests are answered in order: each turn's requests go to the lease actor as one ask.
    let queue: bigint[] = [];
    let inFlight = false;
    let closed = false;
    const server = this;
    const pump = (): void => {
      if (inFlight || closed || queue.length === 0) return;
      const ids = queue;
      queue = [];
      inFlight = true;
      server
        .leaseCall('keepAlive', ids)
        .then(
          (ttls) => {
            if (closed) return;
            const header = server.header();
            sink.send(ids.map((ID, i) => ({ header, ID, TTL: ttls[i]! })));
          },
          (error: unknown) => {
            if (!closed) sink.fail(asEtcdError(error));
            closed = true;
          },
        )
        .finally(() => {
          inFlight = false;
          pump();
        });
    };
    return {
      request(request: LeaseKeepAliveRequest) {
        if (closed) return;
        if (queue.length >= serverLimits.keepAliveQueueMax) {
          closed = true;
          sink.fail(etcdError(Errors.tooManyRequests));
          return;
        }
        queue.push(BigInt(request.ID));
        setImmediate(pump);
      },
      pause() {},
      resume() {},
      close() {
        closed = true;
      },
    };
  }

  async leaseTimeToLive(request: LeaseTimeToLiveRequest): Promise<LeaseTimeToLiveResponse> {
    const ID = BigInt(request.ID);
    const [view, remaining] = await Promise.all([
      this.read({ type: 'leaseTimeToLive', req: { ID, keys: request.keys ?? false } }, false) as Promise<LeaseTimeToLiveResponse>,
      this.leaseCall('remaining', [ID]),
    ]);
    if (view.TTL === -1 || remaining[0]! < 0) return { header: view.header, ID, TTL: -1, grantedTTL: 0 };
    // etcd truncates the remaining time to whole seconds
    return { ...view, TTL: Math.floor(remaining[0]! / 1000) };
  }

  /**
   * Lease time lives on the leader: ask the local lease actor when this member leads, otherwise forward the call to
   * the leader's lease actor through the peer transport (as etcd forwards keep-alives to its leader).
   */
  private async leaseCall(op: 'keepAlive' | 'remaining', ids: bigint[]): Promise<number[]> {
    const local = (): Promise<number[]> => this.lease.ask(op === 'keepAlive' ? { type: 'keepAlive', ids } : { type: 'remaining', ids }, { timeoutMs: this.requestTimeoutMs });
    if (this.leader === '') await this.untilLeader();
    if (this.leader === this.config.memberId) return local();
    try {
      return await this.transport.ask({ type: 'forwardLease', to: this.leader, op, ids }, { timeoutMs: this.requestTimeoutMs });
    } catch (error) {
      this.log.debug('forwarding a lease call to the leader failed', { leader: this.leader, error: error instanceof Error ? error.message : String(error) });
      throw etcdError(this.leader === '' ? Errors.noLeader : Errors.leaderChanged);
    }
  }

  leaseLeases(): Promise<LeaseLeasesResponse> {
    return this.read({ type: 'leaseLeases' }, false) as Promise<LeaseLeasesResponse>;
  }

  // ---- cluster ----

  /** The replicated member table changed (told by mvcc after it applied a membership change or a publish). */
  onMembers(members: MemberRecord[]): void {
    const wasMember = this.members.some((m) => m.id === this.config.memberId);
    this.members = members;
    this.membersChanged.wakeAll();
    if (wasMember && !members.some((m) => m.id === this.config.memberId)) {
      this.log.error('this member has been permanently removed from the cluster; stopping');
      this.onRemoved();
    }
  }

  async memberList(): Promise<MemberListResponse> {
    // etcd's cluster answers carry no revision
    return { header: this.header(0), members: this.members.map(toMember) };
  }

  async memberAdd(request: MemberAddRequest): Promise<MemberAddResponse> {
    const peerURLs = request.peerURLs ?? [];
    const invalid = peerURLs.find((url) => !isPeerUrl(url));
    if (peerURLs.length === 0 || invalid !== undefined) throw new EtcdError(GrpcCode.INVALID_ARGUMENT, `etcdserver: member peerURLs are invalid${invalid ? ` (${invalid})` : ''}`);
    if (this.members.some((m) => m.peerURLs.some((url) => peerURLs.includes(url)))) throw etcdError(Errors.peerURLExists);
    const id = memberIdFor(peerURLs, this.config.clusterToken, Date.now());
    const context = encodeValue({ peerURLs } satisfies MemberContext);
    await this.raft.ask(
      { type: 'changeMembership', change: request.isLearner ? { op: 'addLearner', nodeId: id, context } : { op: 'addVoter', nodeId: id, context } },
      { timeoutMs: this.requestTimeoutMs },
    );
    await this.untilMembers((members) => members.some((m) => m.id === id));
    const member: Member = { ID: id, name: '', peerURLs, clientURLs: [] };
    if (request.isLearner) member.isLearner = true;
    return { header: this.header(0), member, members: this.members.map(toMember) };
  }

  async memberRemove(request: MemberRemoveRequest): Promise<MembersResponse> {
    const id = request.ID;
    if (!this.members.some((m) => m.id === id)) throw etcdError(Errors.memberNotFound);
    await this.raft.ask({ type: 'changeMembership', change: { op: 'remove', nodeId: id } }, { timeoutMs: this.requestTimeoutMs });
    await this.untilMembers((members) => !members.some((m) => m.id === id));
    return { header: this.header(0), members: this.members.map(toMember) };
  }

  async memberUpdate(request: MemberUpdateRequest): Promise<MembersResponse> {
    const id = request.ID;
    const peerURLs = request.peerURLs ?? [];
    if (!this.members.some((m) => m.id === id)) throw etcdError(Errors.memberNotFound);
    if (this.members.some((m) => m.id !== id && m.peerURLs.some((url) => peerURLs.includes(url)))) throw etcdError(Errors.peerURLExists);
    await this.propose({ type: 'memberUpdate', memberId: id, peerURLs });
    await this.untilMembers((members) => members.some((m) => m.id === id && m.peerURLs.join(',') === peerURLs.join(',')));
    return { header: this.header(0), members: this.members.map(toMember) };
  }

  async memberPromote(request: MemberPromoteRequest): Promise<MembersResponse> {
    const id = request.ID;
    const member = this.members.find((m) => m.id === id);
    if (!member) throw etcdError(Errors.memberNotFound);
    if (!member.isLearner) throw etcdError(Errors.memberNotLearner);
    await this.raft.ask({ type: 'changeMembership', change: { op: 'promote', nodeId: id } }, { timeoutMs: this.requestTimeoutMs });
    await this.untilMembers((members) => members.some((m) => m.id === id && !m.isLearner));
    return { header: this.header(0), members: this.members.map(toMember) };
  }

  /** Waits (bounded) until the member table satisfies `done`; mvcc applies a change shortly after raft does. */
  private untilMembers(done: (members: MemberRecord[]) => boolean): Promise<void> {
    return this.membersChanged.until(() => done(this.members), this.requestTimeoutMs, () => etcdError(Errors.timeout));
  }

  /** etcd's publish: once there is a leader, record this member's name and URLs in the replicated member table. */
  private publish(): void {
    if (this.published || this.publishing || this.closed) return;
    this.publishing = true;
    this.propose({ type: 'memberAttributes', memberId: this.config.memberId, name: this.config.name, clientURLs: this.config.clientUrls, peerURLs: this.config.peerUrls })
      .then(() => {
        this.published = true;
        this.log.info('published member attributes', { name: this.config.name, clientURLs: this.config.clientUrls });
      })
      .catch((error: unknown) => this.log.warn('publishing member attributes failed; will retry', { error: error instanceof Error ? error.message : String(error) }))
      .finally(() => {
        this.publishing = false;
        if (!this.published && !this.closed) setTimeout(() => this.publish(), 500).unref();
      });
  }

  // ---- maintenance ----

  async alarm(request: AlarmRequest): Promise<AlarmResponse> {
    const status = await this.mvcc.ask({ type: 'status' });
    this.lastStatus = status;
    const alarms = status.alarms.map((a) => ({ memberID: a.memberID, alarm: a.alarm === 'NOSPACE' ? AlarmType.NOSPACE : AlarmType.CORRUPT }));
    if (request.action === 0) return { alarms: alarms.filter((a) => request.alarm === AlarmType.NONE || a.alarm === request.alarm) };
    const name = request.alarm === AlarmType.NOSPACE ? 'NOSPACE' : request.alarm === AlarmType.CORRUPT ? 'CORRUPT' : undefined;
    if (!name) return { alarms: [] };
    // etcd takes the member id as given, 0 included (etcdctl's disarm lists the alarms and names each one's member)
    const memberId = request.memberID;
    await this.propose({ type: 'alarm', action: request.action === 1 ? 'activate' : 'deactivate', memberId, alarm: name });
    if (name === 'NOSPACE' && request.action === 2) this.noSpace = false;
    // etcd answers an activation with the alarm (new or already active), a deactivation with the alarm it removed
    if (request.action === 1) return { alarms: [{ memberID: memberId, alarm: request.alarm }] };
    return { alarms: alarms.filter((a) => a.memberID === memberId && a.alarm === request.alarm) };
  }

  async status(): Promise<StatusResponse> {
    const [raft, mvcc] = await Promise.all([this.raft.ask({ type: 'status' }), this.mvcc.ask({ type: 'status' })]);
    this.lastStatus = mvcc;
    const response: StatusResponse = {
      header: { ...this.headerFrom(mvcc), raftTerm: raft.term },
      version: etcdApiVersion,
      dbSize: mvcc.sizeBytes,
      leader: raft.lead,
      raftIndex: raft.commit,
      raftTerm: raft.term,
      raftAppliedIndex: raft.applied,
      dbSizeInUse: mvcc.sizeBytes,
    };
    // Go's protobuf text form of each alarm, which leaves out a zero member id
    const errors = mvcc.alarms.map((a) => `${BigInt('0x' + a.memberID) === 0n ? '' : `memberID:${BigInt('0x' + a.memberID)} `}alarm:${a.alarm} `);
    if (errors.length > 0) response.errors = errors;
    if (raft.confState.learners.includes(this.config.memberId)) response.isLearner = true;
    return response;
  }

  /** The member's state for /metrics: raft, the store and the WAL, asked in parallel. */
  async gauges(): Promise<MemberGauges> {
    const timeoutMs = serverLimits.metricsAskTimeoutMs;
    const [raft, mvcc, wal] = await Promise.all([
      this.raft.ask({ type: 'status' }, { timeoutMs }),
      this.mvcc.ask({ type: 'status' }, { timeoutMs }),
      this.wal ? this.wal.ask({ type: 'stats' }, { timeoutMs }).catch(() => undefined) : undefined,
    ]);
    this.lastStatus = mvcc;
    const gauges: MemberGauges = {
      raftTerm: raft.term,
      committedIndex: raft.commit,
      appliedIndex: raft.applied,
      hasLeader: raft.lead !== '',
      isLeader: raft.lead === this.config.memberId,
      leaderChanges: this.leaderChanges,
      revision: mvcc.revision,
      keys: mvcc.keys,
      dbSizeBytes: mvcc.sizeBytes,
      watchers: mvcc.watch.synced + mvcc.watch.unsynced + mvcc.watch.victims,
      watchStreams: mvcc.watch.streams,
      slowWatchers: mvcc.watch.unsynced + mvcc.watch.victims,
    };
    if (wal) {
      const h = wal.fsyncHistogram;
      gauges.wal = { bytes: wal.bytes, fsync: { boundsSeconds: h.boundsSeconds, counts: h.counts, count: wal.fsyncs, sumSeconds: wal.fsyncSecondsTotal } };
    }
    return gauges;
  }

  async defragment(): Promise<DefragmentResponse> {
    // tetcd keeps its state in memory: "defragmenting" writes a fresh snapshot, so the WAL segments before it can go
    await this.saveSnapshot();
    return {};
  }

  async hash(): Promise<HashResponse> {
    const reply = await this.mvcc.ask({ type: 'hashKV', revision: 0 });
    return { header: this.header(reply.revision), hash: reply.hash };
  }

  async hashKV(request: HashKVRequest): Promise<HashKVResponse> {
    const reply = await this.mvcc.ask({ type: 'hashKV', revision: request.revision ?? 0 });
    return { header: this.header(reply.revision), hash: reply.hash, compactRevision: reply.compactRevision };
  }

  async *snapshot(): AsyncIterable<SnapshotResponse> {
    const saved = await this.saveSnapshot();
    const size = fs.statSync(saved.path).size;
    const header = this.header();
    let sent = 0;
    for await (const chunk of fs.createReadStream(saved.path, { highWaterMark: serverLimits.snapshotChunkBytes })) {
      const blob = chunk as Buffer;
      sent += blob.length;
      yield { header, remainingBytes: size - sent, blob };
    }
  }

  async moveLeader(request: MoveLeaderRequest): Promise<MoveLeaderResponse> {
    if (this.leader !== this.config.memberId) throw etcdError(Errors.notLeader);
    // raft refuses with an etcd error (e.g. bad leader transferee), which reaches here as a RemoteError with its code
    await this.raft.ask({ type: 'transferLeadership', to: request.targetID }, { timeoutMs: this.requestTimeoutMs }).catch((error: unknown) => {
      throw asEtcdError(error);
    });
    // etcd answers a transfer with an empty message, no header (etcdctl move-leader -w json prints {})
    return {};
  }

  async health(request: HealthRequest): Promise<HealthResponse> {
    try {
      const status = await this.mvcc.ask({ type: 'status' }, { timeoutMs: 2_000 });
      const alarms = status.alarms.filter((a) => !request.exclude.includes(a.alarm === 'NOSPACE' ? AlarmType.NOSPACE : AlarmType.CORRUPT));
      if (alarms.length > 0) return { health: false, reason: `alarm ${alarms[0]!.alarm}` };
      if (this.leader === '') return { health: false, reason: 'no leader' };
      await this.read({ type: 'range', req: { key: new TextEncoder().encode('health') } }, request.serializable);
      return { health: true };
    } catch (error) {
      return { health: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  version(): VersionResponse {
    return { etcdserver: etcdApiVersion, etcdcluster: etcdClusterVersion };
  }

  // ---- snapshots ----

  /** Writes a fresh snapshot file of the current state (and lets the WAL before it go). */
  saveSnapshot(): Promise<SnapshotSaveReply> {
    return this.mvcc.ask({ type: 'saveSnapshot' }, { timeoutMs: serverLimits.snapshotSaveTimeoutMs });
  }

  // ---- the machinery ----

  header(revision = Math.max(this.revision, this.lastStatus?.revision ?? 0)): ResponseHeader {
    return { clusterId: this.config.clusterId, memberId: this.config.memberId, revision, raftTerm: this.term };
  }

  private headerFrom(status: StatusReply): ResponseHeader {
    return { clusterId: this.config.clusterId, memberId: this.config.memberId, revision: status.revision, raftTerm: status.raftTerm };
  }

  /** etcd's check of a proposal's size against --max-request-bytes (reads are not proposed and not checked). */
  private tooLarge(proposalBytes: number): EtcdError | undefined {
    return proposalBytes > this.maxRequestBytes ? etcdError(Errors.requestTooLarge) : undefined;
  }

  private quota(requestBytes: number): EtcdError | undefined {
    if (this.noSpace) return etcdError(Errors.noSpace);
    const size = this.lastStatus?.sizeBytes ?? 0;
    if (size + requestBytes <= this.config.quotaBackendBytes) return undefined;
    // over quota: raise the NOSPACE alarm (through raft, so every member sees it) and refuse writes until disarmed
    this.noSpace = true;
    this.log.warn('database space exceeded: raising the NOSPACE alarm', { sizeBytes: size, quotaBytes: this.config.quotaBackendBytes });
    void this.propose({ type: 'alarm', action: 'activate', memberId: this.config.memberId, alarm: 'NOSPACE' }).catch(() => {});
    return etcdError(Errors.noSpace);
  }

  private propose(op: InternalOp): Promise<unknown> {
    if (this.closed) return Promise.reject(etcdError(Errors.stopped));
    if (this.proposed.size >= serverLimits.proposalsInFlightMax) return Promise.reject(etcdError(Errors.tooManyRequests));
    const id = this.nextRequestId++;
    const request: InternalRequest = { id, member: this.config.memberId, boot: this.config.bootId, op };
    this.proposals.push({ id, payload: encodeInternalRequest(request) });
    this.scheduleFlush();
    return new Promise((resolve, reject) => {
      this.proposed.set(id, { resolve, reject, deadlineMs: Date.now() + this.requestTimeoutMs });
    });
  }

  private read(op: ReadOp, serializable: boolean): Promise<ReadResponse> {
    if (this.closed) return Promise.reject(etcdError(Errors.stopped));
    if (this.reads.size >= serverLimits.readsInFlightMax) return Promise.reject(etcdError(Errors.tooManyRequests));
    const id = this.nextReadId++;
    if (serializable) this.serializable.push({ id, minAppliedIndex: 0, op });
    else this.linearizable.push(id);
    this.scheduleFlush();
    return new Promise((resolve, reject) => {
      this.reads.set(id, { resolve: resolve as (value: unknown) => void, reject, deadlineMs: Date.now() + this.requestTimeoutMs, op });
    });
  }

  private settleProposal(outcome: ApplyOutcome): void {
    const waiter = this.proposed.get(outcome.id);
    if (!waiter) return;
    this.proposed.delete(outcome.id);
    if ('error' in outcome) waiter.reject(new EtcdError(outcome.error.code as GrpcCode, outcome.error.message));
    else waiter.resolve(outcome.response);
  }

  private settleRead(result: ReadResult): void {
    const waiter = this.reads.get(result.id);
    if (!waiter) return;
    this.reads.delete(result.id);
    if ('error' in result) waiter.reject(new EtcdError(result.error.code as GrpcCode, result.error.message));
    else waiter.resolve(result.response);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends this turn's proposals, read-index requests, reads and watch traffic: one message of each kind. */
  private flush(): void {
    this.flushScheduled = false;
    // With no leader known (at boot, during an election), writes and linearizable reads wait here for one, up to
    // their deadline ("no leader" then), instead of being dropped by raft at once. onLeaderChanged flushes them.
    const leaderKnown = this.leader !== '';
    if (leaderKnown && this.proposals.length > 0) {
      const proposals = this.proposals;
      this.proposals = [];
      if (!this.raft.tell({ type: 'propose', proposals })) {
        for (const p of proposals) this.failProposal(p.id, etcdError(Errors.tooManyRequests));
      }
    }
    if (leaderKnown && this.linearizable.length > 0) {
      const ids = this.linearizable;
      this.linearizable = [];
      if (!this.raft.tell({ type: 'readIndex', ids })) for (const id of ids) this.failRead(id, etcdError(Errors.tooManyRequests));
    }
    if (this.serializable.length > 0) {
      const reads = this.serializable;
      this.serializable = [];
      if (!this.mvcc.tell({ type: 'read', reads })) for (const r of reads) this.failRead(r.id, etcdError(Errors.tooManyRequests));
    }
    if (this.watchRequests.length > 0) {
      const requests = this.watchRequests;
      this.watchRequests = [];
      if (!this.mvcc.tell({ type: 'watch', requests })) {
        // the watch hub is overwhelmed: end the streams that asked for something rather than lose their requests
        for (const r of requests) this.streams.get(r.streamId)?.sink.fail(etcdError(Errors.tooManyRequests));
      }
    }
    // this turn's batch is complete: send it now, not one loop round later at the end of the actor's turn
    this.ctx.flush();
  }

  /** Resolves once a leader is known; fails with "no leader" after the request timeout. */
  private untilLeader(): Promise<void> {
    return this.leaderKnown.until(() => this.leader !== '', this.requestTimeoutMs, () => etcdError(Errors.noLeader));
  }

  private failProposal(id: number, error: EtcdError): void {
    const waiter = this.proposed.get(id);
    if (!waiter) return;
    this.proposed.delete(id);
    waiter.reject(error);
  }

  private failRead(id: number, error: EtcdError): void {
    const waiter = this.reads.get(id);
    if (!waiter) return;
    this.reads.delete(id);
    waiter.reject(error);
  }

  /** Times out what waited too long. Maps iterate in insertion order, which is deadline order here. */
  private sweep(): void {
    const now = Date.now();
    for (const [id, waiter] of this.proposed) {
      if (waiter.deadlineMs > now) break;
      this.proposed.delete(id);
      waiter.reject(etcdError(this.leader === '' ? Errors.noLeader : Errors.timeout));
    }
    for (const [id, waiter] of this.reads) {
      if (waiter.deadlineMs > now) break;
      this.reads.delete(id);
      waiter.reject(etcdError(this.leader === '' ? Errors.noLeader : Errors.timeout));
    }
    // the quota check and headers use a recent view of the store
    void this.mvcc
      .ask({ type: 'status' }, { timeoutMs: 2_000 })
      .then((status) => (this.lastStatus = status))
      .catch(() => {});
  }

  /** Waits until nothing is in flight (or the time is up); answers how many requests were still unfinished. */
  async drain(timeoutMs: number): Promise<number> {
    this.closed = true;
    const deadline = Date.now() + timeoutMs;
    while (this.proposed.size + this.reads.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.proposed.size + this.reads.size;
  }

  /** Fails everything in flight (the member is stopping). */
  close(): void {
    this.closed = true;
    clearInterval(this.sweepTimer);
    for (const waiter of this.proposed.values()) waiter.reject(etcdError(Errors.stopped));
    for (const waiter of this.reads.values()) waiter.reject(etcdError(Errors.stopped));
    this.proposed.clear();
    this.reads.clear();
    for (const stream of this.streams.values()) stream.sink.fail(etcdError(Errors.stopped));
    this.streams.clear();
  }
}

type MvccWatchInput = Extract<MvccProtocol['inbox'], { type: 'watch' }>['requests'][number];

function asEtcdError(error: unknown): EtcdError {
  if (error instanceof EtcdError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number') return new EtcdError(code as GrpcCode, (error as Error).message);
  return etcdError(Errors.timeout);
}

/** A positive int63, as etcd picks lease IDs. */
function randomLeaseId(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64BE() & 0x7fffffffffffffffn;
    if (id !== 0n) return id;
  }
}

function txnBytes(request: TxnRequest): number {
  let bytes = 0;
  for (const branch of [request.success ?? [], request.failure ?? []]) {
    for (const op of branch) {
      if ('requestPut' in op) bytes += op.requestPut.key.length + (op.requestPut.value?.length ?? 0);
      else if ('requestTxn' in op) bytes += txnBytes(op.requestTxn);
    }
  }
  return bytes;
}

function toMember(record: MemberRecord): Member {
  const member: Member = { ID: record.id, name: record.name, peerURLs: record.peerURLs, clientURLs: record.clientURLs };
  if (record.isLearner) member.isLearner = true;
  return member;
}

function isPeerUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.port !== '';
  } catch {
    return false;
  }
}
