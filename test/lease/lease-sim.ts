// A deterministic lease cluster for tests: 3 or 5 real raft cores (actors/raft/core), each with a real MVCC store
// applying the committed entries and a real Lessor driven through the lease actor's own decision functions
// (actors/lease/driver.ts), all on one fake clock. Grants, revokes and checkpoints travel through the replicated log
// exactly as in a member: the lease tick proposes encoded InternalRequests to the raft core, the store applies them
// and tells the lessor in log order, and leadership reaches the lessor from the core's soft state.
//
// The network delays every message by a few ms, can drop a fraction of them and can cut links (partitions). Members
// crash (durable log kept: every Ready is synced before the next) and restart (the store and lessor rebuilt by
// replaying the log). Clients reach members over their own links: a keep-alive sent to a follower is forwarded to the
// member it believes leads, as the server does, and fails when that hop fails. A keep-alive is answered as the lease
// actor answers it: once the checkpoint carrying its renewal has been applied at the member that proposed it, in the
// term it was proposed in (the part of the raft actor shell that reports proposals applied is played here).
//
// The harness records what tests assert on: every lease revoke applied on every member (with the time), every revoke
// proposed (with the proposer's raft role), every promotion of a lessor and the remaining time it gave each lease.
import { assert } from '../../runtime/assert.js';
import { SeededRandom } from '../../runtime/random.js';
import { RaftNode } from '../../actors/raft/core/raft.js';
import type { RaftMessage } from '../../actors/raft/core/messages.js';
import type { NodeId } from '../../actors/raft/core/types.js';
import { decodeInternalRequest } from '../../actors/api/entry-codec.js';
import type { InternalOp } from '../../actors/api/internal.js';
import { MvccStore } from '../../actors/mvcc/store.js';
import { Lessor, minimumTtlSeconds } from '../../actors/lease/lessor.js';
import { applyLeaderChange, applyLeaseEvents, KeepAliveCheckpoints, leaseOpPayload, tickProposals } from '../../actors/lease/driver.js';
import { proposalFailure } from '../../actors/raft/errors.js';
import { Errors, EtcdError, etcdError } from '../../actors/api/errors.js';
import { leaseLimits } from '../../actors/lease/actor.js';
import type { LeaseEvents } from '../../actors/lease/protocol.js';
import { FakeDisk, nodeIds } from '../sim/cluster.js';

export const RAFT_TICK_MS = 100;
export const ELECTION_TICKS = 10;
export const ELECTION_TIMEOUT_MS = RAFT_TICK_MS * ELECTION_TICKS;
export const LEASE_TICK_MS = 250;
/** A client waits this long for a keep-alive answer before it tries elsewhere. */
const keepAliveTimeoutMs = 2_000;
/** A simulated run is bounded in events so a livelock fails instead of hanging. */
const eventsMax = 2_000_000;

export interface LeaseSimOptions {
  seed: number;
  members: 3 | 5;
  /** Fraction of peer messages dropped (besides cut links). */
  dropRate?: number;
}

export interface RevokeApplied {
  member: NodeId;
  /** The member's life (bumped by every crash): a restarted member replays its log and applies the revoke again. */
  incarnation: number;
  lease: bigint;
  atMs: number;
  /** The store revision after the revoke applied. */
  revision: number;
}

export interface RevokeProposed {
  member: NodeId;
  lease: bigint;
  atMs: number;
  raftRole: string;
  lessorLeader: boolean;
}

export interface Promotion {
  member: NodeId;
  atMs: number;
  term: number;
  /** Remaining ms the new leader gave each lease at promotion. */
  remainingMs: Map<bigint, number>;
}

/** Where an entry sits in the log: the same index and term name the same entry on every member. */
export interface EntryAt {
  index: number;
  term: number;
}

export interface CheckpointProposed {
  member: NodeId;
  lease: bigint;
  remainingMs: number;
  atMs: number;
  /** Where raft appended it, once the proposer's raft said (never, for a proposal dropped on the way). */
  entry?: EntryAt;
}

export interface CheckpointApplied {
  member: NodeId;
  lease: bigint;
  remainingMs: number;
  atMs: number;
  entry: EntryAt;
}

export class LeaseMember {
  core: RaftNode | undefined;
  readonly disk = new FakeDisk();
  store!: MvccStore;
  lessor!: Lessor;
  incarnation = 0;
  /** The entry the store is applying (entries are applied one at a time so the lease listener can name it). */
  applying: EntryAt = { index: 0, term: 0 };
  /** Keep-alives waiting for their checkpoint to apply (the lease actor's own). */
  keepAlives!: KeepAliveCheckpoints;
  /** Keep-alive checkpoint proposals by token: where raft appended them (undefined until it said), as the raft shell tracks. */
  readonly proposed = new Map<number, { index: number; term: number } | undefined>();
  private pending: LeaseEvents = emptyEvents();

  constructor(
    readonly id: NodeId,
    private readonly sim: LeaseSim,
  ) {
    this.fresh();
  }

  /** A new store and lessor, as after a process start (the log replays into them). */
  fresh(): void {
    this.store = new MvccStore({ memberId: this.id, leaseTTLMinSeconds: minimumTtlSeconds(ELECTION_TIMEOUT_MS) });
    this.lessor = new Lessor({
      electionTimeoutMs: ELECTION_TIMEOUT_MS,
      expiryRatePerSecond: leaseLimits.expiryRatePerSecondDefault,
      checkpointRatePerSecond: leaseLimits.checkpointRatePerSecondDefault,
      revokeRetryMs: leaseLimits.revokeRetryMs,
    });
    this.pending = emptyEvents();
    this.keepAlives = new KeepAliveCheckpoints({
      renewalsPendingMax: leaseLimits.keepAliveRenewalsPendingMax,
      leasesPerEntryMax: leaseLimits.keepAliveCheckpointLeasesMax,
    });
    this.proposed.clear();
    // what the mvcc actor does with the store's lease listener: collect, then tell the lease actor once per turn
    this.store.leaseListener = {
      granted: (ID, TTL) => void this.pending.granted.push({ ID, TTL }),
      revoked: (ID) => {
        this.pending.revoked.push(ID);
        this.sim.revokesApplied.push({ member: this.id, incarnation: this.incarnation, lease: ID, atMs: this.sim.now, revision: this.store.revision });
      },
      checkpointed: (ID, remainingMs) => {
        this.pending.checkpoints.push({ ID, remainingMs });
        this.sim.checkpointsApplied.push({ member: this.id, lease: ID, remainingMs, atMs: this.sim.now, entry: this.applying });
      },
    };
  }

  takeEvents(): LeaseEvents {
    const events = this.pending;
    this.pending = emptyEvents();
    return events;
  }
}

function emptyEvents(): LeaseEvents {
  return { type: 'leaseEvents', granted: [], revoked: [], checkpoints: [] };
}

interface Scheduled {
  at: number;
  seq: number;
  run: () => void;
}

export class LeaseSim {
  now = 0;
  readonly random: SeededRandom;
  readonly members = new Map<NodeId, LeaseMember>();
  readonly revokesApplied: RevokeApplied[] = [];
  readonly revokesProposed: RevokeProposed[] = [];
  readonly checkpointsApplied: CheckpointApplied[] = [];
  readonly checkpointsProposed: CheckpointProposed[] = [];
  readonly promotions: Promotion[] = [];
  /** Cut links, as "from>to". Clients are never cut off from members. */
  readonly blocked = new Set<string>();
  dropRate: number;
  private queue: Scheduled[] = [];
  private seq = 0;
  private events = 0;
  private token = 1;
  /** Checkpoint records of proposals raft has not placed yet, by token, with each record's offset in the batch. */
  private readonly unplaced = new Map<number, Array<{ offset: number; record: CheckpointProposed }>>();

  constructor(options: LeaseSimOptions) {
    this.random = new SeededRandom(options.seed);
    this.dropRate = options.dropRate ?? 0;
    const ids = nodeIds(options.members);
    for (const id of ids) {
      const member = new LeaseMember(id, this);
      member.core = RaftNode.bootstrap(this.raftOptions(id), ids);
      this.members.set(id, member);
    }
    for (const member of this.members.values()) {
      this.process(member);
      this.startTimers(member);
    }
  }

  private raftOptions(id: NodeId) {
    return { id, seed: this.random.int(0x7fffffff), electionTicks: ELECTION_TICKS, heartbeatTicks: 1, preVote: true, checkQuorum: true };
  }

  // ---- time ----

  at(atMs: number, run: () => void): void {
    assert(atMs >= this.now, 'scheduling in the past');
    const item = { at: atMs, seq: this.seq++, run };
    // a sorted insert from the back: most events are scheduled a little after now
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1]!.at > item.at || (this.queue[i - 1]!.at === item.at && this.queue[i - 1]!.seq > item.seq))) i--;
    this.queue.splice(i, 0, item);
  }

  after(delayMs: number, run: () => void): void {
    this.at(this.now + delayMs, run);
  }

  /** Runs every event up to and including time `untilMs`. */
  runUntil(untilMs: number): void {
    while (this.queue.length > 0 && this.queue[0]!.at <= untilMs) {
      const item = this.queue.shift()!;
      this.now = item.at;
      assert(++this.events < eventsMax, 'simulation ran away');
      item.run();
    }
    this.now = untilMs;
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /** Runs until `done` holds (checked after every event), at most `limitMs`. Returns whether it held. */
  runUntilTrue(done: () => boolean, limitMs: number): boolean {
    const end = this.now + limitMs;
    while (!done()) {
      if (this.queue.length === 0 || this.queue[0]!.at > end) {
        this.now = end;
        return done();
      }
      const item = this.queue.shift()!;
      this.now = item.at;
      assert(++this.events < eventsMax, 'simulation ran away');
      item.run();
    }
    return true;
  }

  // ---- members ----

  private startTimers(member: LeaseMember): void {
    const incarnation = member.incarnation;
    const alive = () => member.core !== undefined && member.incarnation === incarnation;
    const raftTick = () => {
      if (!alive()) return;
      member.core!.tick();
      this.process(member);
      this.after(RAFT_TICK_MS, raftTick);
    };
    const leaseTick = () => {
      if (!alive()) return;
      this.leaseTick(member);
      this.after(LEASE_TICK_MS, leaseTick);
    };
    this.after(1 + this.random.int(RAFT_TICK_MS), raftTick);
    this.after(1 + this.random.int(LEASE_TICK_MS), leaseTick);
  }

  /** The lease actor's tick: revokes and checkpoints proposed through raft. */
  private leaseTick(member: LeaseMember): void {
    const core = member.core!;
    const due = tickProposals(member.lessor, this.now, {
      tickMs: LEASE_TICK_MS,
      expiryRatePerSecond: leaseLimits.expiryRatePerSecondDefault,
      checkpointRatePerSecond: leaseLimits.checkpointRatePerSecondDefault,
    });
    if (due.ops.length === 0) return;
    const token = this.token++;
    due.ops.forEach((op, offset) => {
      if (op.type === 'leaseRevoke') {
        this.revokesProposed.push({ member: member.id, lease: op.req.ID, atMs: this.now, raftRole: core.role, lessorLeader: member.lessor.isLeader });
      } else if (op.type === 'leaseCheckpoint') {
        this.recordCheckpoints(member, token, offset, op.checkpoints);
      }
    });
    core.propose(token, due.ops.map((op) => leaseOpPayload(member.id, op)));
    this.process(member);
  }

  /** The lease actor's end of turn: this turn's keep-alive checkpoint proposed through raft. */
  private proposeKeepAlives(member: LeaseMember): void {
    const core = member.core!;
    for (const p of member.keepAlives.takeTurn(() => this.token++)) {
      assert(p.op.type === 'leaseCheckpoint', 'keep-alives propose checkpoints');
      this.recordCheckpoints(member, p.id, 0, p.op.checkpoints);
      member.proposed.set(p.id, undefined);
      core.propose(p.id, [leaseOpPayload(member.id, p.op)]);
    }
    this.process(member);
  }

  private recordCheckpoints(member: LeaseMember, token: number, offset: number, checkpoints: ReadonlyArray<{ ID: bigint; remainingMs: number }>): void {
    let records = this.unplaced.get(token);
    if (!records) this.unplaced.set(token, (records = []));
    for (const c of checkpoints) {
      const record: CheckpointProposed = { member: member.id, lease: c.ID, remainingMs: c.remainingMs, atMs: this.now };
      this.checkpointsProposed.push(record);
      records.push({ offset, record });
    }
  }

  /** Acts on every Ready of a member: sync, send, apply, tell the lessor. */
  process(member: LeaseMember): void {
    const core = member.core;
    if (!core) return;
    for (let rounds = 0; core.hasReady(); rounds++) {
      assert(rounds < 10_000, `${member.id} keeps producing Readies`);
      const rd = core.ready();
      assert(!rd.snapshot, 'this harness never compacts, so no snapshot is sent');
      if (rd.entries.length > 0 || rd.hardState) {
        member.disk.pending.push({ readyId: rd.id, entries: rd.entries, hardState: rd.hardState, snapshot: undefined });
      }
      for (const m of rd.messages) this.send(member.id, m);
      // the raft shell tells the lease actor of a new term before it reports proposals of that Ready
      if (rd.softState) member.keepAlives.leaderChanged(rd.softState.term, rd.softState.lead === member.id);
      for (const outcome of rd.proposals) {
        const records = this.unplaced.get(outcome.token);
        this.unplaced.delete(outcome.token);
        if (records && outcome.accepted) for (const r of records) r.record.entry = { index: outcome.index + r.offset, term: outcome.term };
        if (!member.proposed.has(outcome.token)) continue;
        if (outcome.accepted) {
          member.proposed.set(outcome.token, { index: outcome.index, term: outcome.term });
        } else {
          member.proposed.delete(outcome.token);
          const failure = proposalFailure(outcome.reason);
          member.keepAlives.failed(member.lessor, outcome.token, new EtcdError(failure.code, failure.message));
        }
      }
      if (rd.committedEntries.length > 0) {
        for (const entry of rd.committedEntries) {
          member.applying = { index: entry.index, term: entry.term };
          member.store.applyEntries([entry]);
        }
        core.applied(member.store.appliedIndex);
        applyLeaseEvents(member.lessor, member.takeEvents(), this.now);
        // a proposal applied counts only if the entry at its index is still the one appended in its term
        for (const [token, at] of member.proposed) {
          if (!at || at.index > member.store.appliedIndex) continue;
          member.proposed.delete(token);
          if (core.log.term(at.index) === at.term) member.keepAlives.applied(member.lessor, [token]);
          else member.keepAlives.failed(member.lessor, token, etcdError(Errors.timeoutDueToLeaderFail));
        }
      }
      if (rd.softState) {
        const change = applyLeaderChange(member.lessor, rd.softState.lead === member.id, this.now);
        if (change === 'promoted') {
          const remainingMs = new Map<bigint, number>();
          for (const id of member.lessor.ids()) remainingMs.set(id, member.lessor.remainingMs(id, this.now)!);
          this.promotions.push({ member: member.id, atMs: this.now, term: rd.softState.term, remainingMs });
        }
      }
      // every write is durable before the next Ready (the WAL's group commit, without its delay)
      const last = member.disk.sync();
      if (last !== undefined) core.persisted(last);
    }
  }

  private send(from: NodeId, m: RaftMessage): void {
    if (this.blocked.has(`${from}>${m.to}`) || this.random.next() < this.dropRate) return;
    this.after(1 + this.random.int(10), () => {
      const member = this.members.get(m.to);
      if (!member?.core) return;
      member.core.step(m);
      this.process(member);
    });
  }

  member(id: NodeId): LeaseMember {
    const member = this.members.get(id);
    assert(member, `no member ${id}`);
    return member;
  }

  /** The live member whose lessor leads, with the highest raft term (an isolated old leader may still think it leads). */
  leader(): LeaseMember | undefined {
    let best: LeaseMember | undefined;
    for (const m of this.members.values()) {
      if (m.core?.role === 'leader' && m.lessor.isLeader && (!best || m.core.term > best.core!.term)) best = m;
    }
    return best;
  }

  /** Runs until some member leads with a quorum behind it (a stale isolated leader does not count). */
  awaitLeader(limitMs = 20_000): LeaseMember {
    const ok = this.runUntilTrue(() => {
      const l = this.leader();
      if (!l) return false;
      let followers = 0;
      for (const m of this.members.values()) if (m.core && m.core.lead === l.id && m.core.term === l.core!.term) followers++;
      return followers > this.members.size / 2;
    }, limitMs);
    assert(ok, 'no leader elected in time');
    return this.leader()!;
  }

  crash(id: NodeId): void {
    const member = this.member(id);
    if (!member.core) return;
    member.disk.crash(this.random);
    member.core = undefined;
    member.incarnation++;
  }

  restart(id: NodeId): void {
    const member = this.member(id);
    assert(!member.core, `${id} is running`);
    member.fresh();
    member.core = new RaftNode(this.raftOptions(id), member.disk.boot());
    this.process(member);
    this.startTimers(member);
  }

  /** Cuts `id` off from every other member, both ways. */
  isolate(id: NodeId): void {
    for (const other of this.members.keys()) {
      if (other === id) continue;
      this.blocked.add(`${id}>${other}`);
      this.blocked.add(`${other}>${id}`);
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  /** Proposes ops at the leader and runs until all of them applied there. */
  commit(ops: InternalOp[], limitMs = 10_000): void {
    const leader = this.awaitLeader();
    const startIndex = leader.core!.log.lastIndex();
    leader.core!.propose(this.token++, ops.map((op) => leaseOpPayload(leader.id, op)));
    this.process(leader);
    const target = startIndex + ops.length;
    const ok = this.runUntilTrue(() => leader.core !== undefined && leader.store.appliedIndex >= target, limitMs);
    assert(ok && leader.core!.log.term(target) === leader.core!.term, 'proposal did not commit in time');
  }

  /** Grants a lease (through raft) with keys attached to it. */
  grant(id: bigint, ttlSeconds: number, keys: string[] = []): void {
    const ops: InternalOp[] = [{ type: 'leaseGrant', req: { ID: id, TTL: ttlSeconds } }];
    for (const key of keys) ops.push({ type: 'put', req: { key: new TextEncoder().encode(key), value: new TextEncoder().encode('v'), lease: id } });
    this.commit(ops);
  }

  /** Live keys of a member's store. */
  keys(id: NodeId): string[] {
    const response = this.member(id).store.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]) });
    return response.kvs.map((kv) => new TextDecoder().decode(kv.key));
  }

  // ---- clients ----

  /**
   * A keep-alive from a client connected to `via`: renewed at `via` when it leads, else forwarded to the member it
   * believes leads. Calls back with the TTL (0: unknown lease) or an error message, after the round trip.
   */
  keepAlive(via: NodeId, lease: bigint, done: (result: { ttl: number } | { error: string }) => void): void {
    // the client gives up on an answer that does not come (a member crashed with the request in hand)
    let settled = false;
    const answer = (result: { ttl: number } | { error: string }) => {
      if (settled) return;
      settled = true;
      done(result);
    };
    this.after(keepAliveTimeoutMs, () => answer({ error: 'timed out' }));
    const hop = () => 1 + this.random.int(5);
    const fail = (error: string) => this.after(hop(), () => answer({ error }));
    this.after(hop(), () => {
      const entry = this.members.get(via);
      if (!entry?.core) return fail('member down');
      const lead = entry.core.lead;
      if (lead === '') return fail('no leader');
      // what the lease actor does for a keep-alive: renew, propose the renewal's checkpoint at the end of the turn,
      // answer once it has applied
      const renewAt = (target: LeaseMember, back: number) => {
        try {
          target.keepAlives.add(target.lessor, [lease], this.now, (outcome) =>
            this.after(back, () => answer('ttls' in outcome ? { ttl: outcome.ttls[0]! } : { error: outcome.error.message })),
          );
        } catch (error) {
          return this.after(back, () => answer({ error: error instanceof Error ? error.message : String(error) }));
        }
        this.proposeKeepAlives(target);
      };
      if (lead === via) return renewAt(entry, hop());
      if (this.blocked.has(`${via}>${lead}`) || this.random.next() < this.dropRate) return fail('forward failed');
      this.after(hop(), () => {
        const target = this.members.get(lead);
        if (!target?.core || this.blocked.has(`${lead}>${via}`)) return fail('forward failed');
        renewAt(target, 2 * hop());
      });
    });
  }

  liveIds(): NodeId[] {
    return [...this.members.values()].filter((m) => m.core).map((m) => m.id);
  }
}

/** Decodes the ops of a committed entry (for assertions). */
export function entryOp(data: Uint8Array): InternalOp | undefined {
  if (data.length === 0) return undefined;
  return decodeInternalRequest(data).op;
}

/**
 * A client holding a lease: renews every TTL/3 through the member it is connected to (etcd's client does the same);
 * when a keep-alive fails it connects to another member at random and tries again shortly.
 */
export class Holder {
  renewals = 0;
  failures = 0;
  /** Times (ms) keep-alives answered with the TTL were sent: the holder counts on its lease until then + TTL. */
  readonly renewedAtMs: number[] = [];
  /** Set when a keep-alive answered TTL 0: the lease was gone while held. */
  lostAtMs: number | undefined;
  private stopped = false;
  private via: NodeId;

  constructor(
    private readonly sim: LeaseSim,
    readonly lease: bigint,
    readonly ttlSeconds: number,
    /** Fraction of keep-alives lost on the client's link (the client retries after a timeout). */
    private readonly lossRate = 0,
  ) {
    const ids = [...sim.members.keys()];
    this.via = ids[sim.random.int(ids.length)]!;
    sim.after(sim.random.int(500), () => this.renew());
  }

  stop(): void {
    this.stopped = true;
  }

  /** Until when the holder counts on its lease (its last acknowledged keep-alive's send time + TTL). */
  believedUntilMs(): number {
    const last = this.renewedAtMs.at(-1);
    return last === undefined ? 0 : last + this.ttlSeconds * 1000;
  }

  private renew(): void {
    if (this.stopped) return;
    if (this.sim.random.next() < this.lossRate) {
      // the request or its answer is lost: the client notices by a timeout and tries elsewhere
      this.failures++;
      this.sim.after(500, () => this.retry());
      return;
    }
    const sentAtMs = this.sim.now;
    this.sim.keepAlive(this.via, this.lease, (result) => {
      if (this.stopped) return;
      if ('error' in result) {
        this.failures++;
        this.retry();
        return;
      }
      if (result.ttl === 0) {
        this.lostAtMs ??= this.sim.now;
        return;
      }
      this.renewals++;
      this.renewedAtMs.push(sentAtMs);
      this.sim.after(Math.floor((this.ttlSeconds * 1000) / 3), () => this.renew());
    });
  }

  private retry(): void {
    const ids = [...this.sim.members.keys()];
    this.via = ids[this.sim.random.int(ids.length)]!;
    this.sim.after(200 + this.sim.random.int(300), () => this.renew());
  }
}
