// The raft actor: a thin shell around the pure core (core/raft.ts). It owns the I/O the core must not do: it ticks
// the core on the runtime's clock, feeds it peer messages and requests, and acts on each Ready — appends to the WAL
// actor (several appends may be in flight; the WAL answers "durable through seq N" later), sends peer messages
// through the transport, streams committed entries to the appliers, and answers proposals, reads and membership
// changes.
//
// Batching: everything that arrives in one turn is fed to the core first, and only then are Readies collected, so
// a turn's proposals become one append, one WAL write and one apply batch; every output goes out as one message per
// destination per turn.
//
// Determinism: time comes from ctx.clock and the election jitter's seed from ctx.random, so under the runtime's
// deterministic placement a whole member replays exactly.
import { defineActor, type ActorContext, type AnyProtocol, type Behaviour, type Sender } from '../../runtime/actor.js';
import { assert } from '../../runtime/assert.js';
import type { Timer } from '../../runtime/clock.js';
import { Errors, etcdError } from '../api/errors.js';
import type { ConfChange } from './core/confchange.js';
import { RaftNode } from './core/raft.js';
import type { Ready } from './core/ready.js';
import type { NodeId } from './core/types.js';
import { proposalFailure, raftErrors } from './errors.js';
import { raftShellLimits } from './limits.js';
import type {
  ApplyBatch,
  Failure,
  LeaderChanged,
  MembershipChange,
  MembershipResult,
  ProposalResults,
  RaftInbox,
  RaftProtocol,
  RaftShellConfig,
  ReadIndexResults,
  SendMessages,
  SendSnapshot,
  ShellStatus,
  TransferResult,
} from './protocol.js';
import type { WalBootReply, WalProtocol } from './wal-contract.js';

/** Proposals of one sender inside a batch, in entry order. */
interface Part {
  sender: string;
  ids: number[];
}

/** One core proposal: a turn's proposals from every sender, in order. */
interface Group {
  parts: Part[];
  count: number;
  deadlineMs: number;
  /** Known once the core (or the leader, for a forwarded batch) accepted it. */
  index: number;
  term: number;
}

interface Waiting<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  deadlineMs: number;
}

interface MembershipWait extends Waiting<MembershipResult> {
  change: MembershipChange;
  index: number;
  term: number;
}

interface TransferWait extends Waiting<TransferResult> {
  to: NodeId;
}

/**
 * Sends to actors that must get every message in order (the WAL, the appliers, result receivers): when a mailbox is
 * full the message waits in a bounded backlog and goes out as soon as the receiver has room.
 */
class Courier {
  private readonly backlog = new Map<string, unknown[]>();

  constructor(
    private readonly ctx: ActorContext,
    private readonly onOverflow: (to: string) => void,
  ) {}

  send(to: string, message: unknown): void {
    const queue = this.backlog.get(to);
    if (queue) {
      if (queue.length >= raftShellLimits.backlogMessagesMax) return this.onOverflow(to);
      queue.push(message);
      return;
    }
    const ref = this.ctx.ref<AnyProtocol>(to);
    if (ref.tell(message as never)) return;
    if (ref.gone()) return; // nobody left to deliver to
    this.backlog.set(to, [message]);
    void ref.whenWritable().then(() => this.drain(to));
  }

  private drain(to: string): void {
    const queue = this.backlog.get(to);
    if (!queue) return;
    const ref = this.ctx.ref<AnyProtocol>(to);
    while (queue.length > 0 && ref.tell(queue[0] as never)) queue.shift();
    // nobody left to deliver to: waiting for room would resolve at once, forever
    if (queue.length > 0 && ref.gone()) queue.length = 0;
    if (queue.length === 0) this.backlog.delete(to);
    else void ref.whenWritable().then(() => this.drain(to));
  }
}

export class RaftShell {
  private core!: RaftNode;
  private readonly tickMs: number;
  private readonly proposalTimeoutMs: number;
  private readonly readTimeoutMs: number;
  private readonly keepEntries: number;
  private readonly transferTimeoutMs: number;
  private readonly courier: Courier;
  private timer: Timer | undefined;
  private stopped = false;

  // inputs gathered during a turn
  private turnPayloads: Uint8Array[] = [];
  private turnParts: Part[] = [];
  private turnReads = new Map<string, number[]>();

  // waiting for outcomes
  private nextToken = 1;
  private readonly unanswered = new Map<number, Group>();
  /** Accepted groups not yet handed out for applying, by index. */
  private accepted: Group[] = [];
  /** Committed groups waiting for every applier, by last index. */
  private awaitingApply: Array<{ lastIndex: number; parts: Part[] }> = [];
  private pendingProposals = 0;
  private readonly reads = new Map<number, { parts: Part[]; deadlineMs: number }>();
  private pendingReads = 0;
  private readonly membership = new Map<number, MembershipWait>();
  private transfers: TransferWait[] = [];

  // outputs gathered during a turn
  private outMessages: SendMessages['messages'] = [];
  private outApply: ApplyBatch[] = [];
  private readonly proposalResults = new Map<string, ProposalResults>();
  private readonly readResults = new Map<string, ReadIndexResults>();

  // progress reported back
  private readonly appliedBy = new Map<string, number>();
  private appliedAll = 0;
  private lastSeqSent = 0;
  private pendingCompact = 0;
  private lead: NodeId | '' = '';
  private term = 0;
  /** The configuration last told to the appliers (as a comparable key). */
  private confSent = '';

  constructor(
    private readonly ctx: ActorContext,
    private readonly config: RaftShellConfig,
  ) {
    this.tickMs = config.tickMs ?? raftShellLimits.tickMsDefault;
    this.proposalTimeoutMs = config.proposalTimeoutMs ?? raftShellLimits.proposalTimeoutMsDefault;
    this.readTimeoutMs = config.readTimeoutMs ?? raftShellLimits.readTimeoutMsDefault;
    this.keepEntries = config.keepEntriesAfterSnapshot ?? raftShellLimits.keepEntriesAfterSnapshotDefault;
    this.transferTimeoutMs = this.tickMs * (config.electionTicks ?? 10) * 2;
    this.courier = new Courier(ctx, (to) => ctx.fail(new Error(`raft: backlog to ${to} overflowed; ${to} stopped taking messages`)));
    for (const name of config.actors.apply) this.appliedBy.set(name, 0);
  }

  /**
   * Loads durable state from the WAL and builds the core. Runs after the factory returned: the runtime delivers
   * nothing (not even the reply to an ask) to an actor whose factory has not finished, so the shell cannot wait
   * for the WAL inside its factory. Inputs that arrive meanwhile are queued (peer messages are dropped: raft
   * recovers from lost messages).
   */
  async boot(): Promise<void> {
    const config = this.config;
    const wal = this.ctx.ref<WalProtocol>(config.actors.wal);
    const boot: WalBootReply = await wal.ask({ type: 'boot' }, { timeoutMs: 120_000 });
    const options = {
      id: config.memberId,
      seed: this.ctx.random.int(2 ** 31),
      electionTicks: config.electionTicks,
      heartbeatTicks: config.heartbeatTicks,
      preVote: config.preVote,
      checkQuorum: config.checkQuorum,
      inflightMessagesMax: config.inflightMessagesMax,
      appendBytesMax: config.appendBytesMax,
      uncommittedBytesMax: config.uncommittedBytesMax,
    };
    const fresh = boot.created || (boot.hardState.term === 0 && boot.entries.length === 0 && boot.snapshot === undefined);
    if (fresh && (config.initialVoters?.length ?? 0) > 0) {
      this.core = RaftNode.bootstrap(options, config.initialVoters!, config.initialVoterContexts);
    } else {
      const snapshot = boot.snapshot;
      if (snapshot) assert(snapshot.confState, 'the WAL boot reply must carry the snapshot configuration');
      this.core = new RaftNode(options, {
        hardState: boot.hardState,
        snapshot: snapshot ? { index: snapshot.index, term: snapshot.term, confState: snapshot.confState! } : undefined,
        entries: boot.entries,
      });
    }
    const base = this.core.log.applied;
    for (const name of config.actors.apply) this.appliedBy.set(name, base);
    this.appliedAll = base;
    if (boot.snapshot && !fresh) {
      // the appliers start from the snapshot the log continues from, then get the committed entries after it
      const s = boot.snapshot;
      this.outApply.push({ type: 'apply', snapshot: { index: s.index, term: s.term, confState: s.confState! }, entries: [] });
    }
    this.ctx.log.info('raft booted', { member: config.memberId, term: this.core.term, commit: this.core.log.committed, lastIndex: this.core.log.lastIndex(), fresh });
    this.timer = this.ctx.clock.setInterval(this.tickMs, () => this.onTick());
    this.booted = true;
    const early = this.early;
    this.early = [];
    for (const { message, sender } of early) this.receive(message, sender, false);
    this.drive();
    this.bootWaiters.resolve();
  }

  private booted = false;
  private early: Array<{ message: RaftInbox; sender: Sender }> = [];
  private readonly bootWaiters = (() => {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    return { promise, resolve };
  })();

  /** Before boot: queue what must not be lost, drop peer messages, make asks wait. */
  private receiveEarly(message: RaftInbox, sender: Sender, isAsk: boolean): unknown {
    if (isAsk) return this.bootWaiters.promise.then(() => this.receive(message, sender, true));
    if (message.type === 'peerMessages' || message.type === 'unreachable') return undefined;
    if (this.early.length >= raftShellLimits.backlogMessagesMax) throw new Error('raft: too many messages before boot');
    this.early.push({ message, sender });
    return undefined;
  }

  behaviour(): Behaviour<RaftInbox> {
    return {
      receive: (message, sender, isAsk) => this.receive(message, sender, isAsk),
      endOfTurn: () => this.drive(),
      stop: () => this.stop(),
    };
  }

  // ---- inputs ----

  private receive(message: RaftInbox, sender: Sender, isAsk: boolean): unknown {
    if (!this.booted) return this.receiveEarly(message, sender, isAsk);
    switch (message.type) {
      case 'propose': {
        if (message.proposals.length === 0) return undefined;
        const ids: number[] = new Array(message.proposals.length);
        for (let i = 0; i < message.proposals.length; i++) {
          const p = message.proposals[i]!;
          ids[i] = p.id;
          this.turnPayloads.push(p.payload);
        }
        this.turnParts.push({ sender: sender.name, ids });
        return undefined;
      }
      case 'readIndex': {
        if (message.ids.length === 0) return undefined;
        const list = this.turnReads.get(sender.name);
        if (list) for (const id of message.ids) list.push(id);
        else this.turnReads.set(sender.name, message.ids.slice());
        return undefined;
      }
      case 'peerMessages':
        for (const m of message.messages) this.core.step(m);
        return undefined;
      case 'unreachable':
        for (const peer of message.peers) this.core.reportUnreachable(peer);
        return undefined;
      case 'snapshotStatus':
        this.core.reportSnapshot(message.peer, message.ok);
        return undefined;
      case 'applied':
        this.onApplied(sender.name, message.index);
        return undefined;
      case 'walDurable':
        if (message.seq > this.lastSeqSent) {
          this.ctx.log.warn('WAL reported a seq raft never sent; ignored', { seq: message.seq, lastSent: this.lastSeqSent });
          return undefined;
        }
        this.core.persisted(message.seq);
        return undefined;
      case 'snapshotSaved':
        this.pendingCompact = Math.max(this.pendingCompact, message.index);
        this.maybeCompact();
        return undefined;
      case 'changeMembership':
        return this.changeMembership(message.change);
      case 'transferLeadership':
        return this.transferLeadership(message.to);
      case 'status':
        return { ...this.core.status(), appliedByAll: this.appliedAll } satisfies ShellStatus;
    }
  }

  private onTick(): void {
    if (this.stopped) return;
    this.core.tick();
    this.expire(this.ctx.clock.now());
    this.drive();
  }

  private onApplied(applier: string, index: number): void {
    if (!this.appliedBy.has(applier)) return;
    this.appliedBy.set(applier, Math.max(this.appliedBy.get(applier)!, index));
    let min = Number.POSITIVE_INFINITY;
    for (const v of this.appliedBy.values()) min = Math.min(min, v);
    this.advanceApplied(min);
  }

  private advanceApplied(index: number): void {
    const target = Math.min(index, this.core.log.applying);
    if (target <= this.appliedAll) return;
    this.appliedAll = target;
    this.core.applied(target);
    let k = 0;
    while (k < this.awaitingApply.length && this.awaitingApply[k]!.lastIndex <= target) {
      for (const part of this.awaitingApply[k]!.parts) {
        const results = this.resultsFor(part.sender);
        for (const id of part.ids) results.applied.push(id);
      }
      k++;
    }
    if (k > 0) this.awaitingApply = this.awaitingApply.slice(k);
    this.maybeCompact();
  }

  private maybeCompact(): void {
    const index = this.pendingCompact;
    if (index === 0 || index > this.core.log.applied) return; // waits until every applier passed the snapshot
    this.pendingCompact = 0;
    if (index <= this.core.latestSnapshot().index) return;
    this.core.compact(index, this.keepEntries);
    const snapshot = this.core.latestSnapshot();
    this.courier.send(this.config.actors.wal, { type: 'snapshotMarker', term: snapshot.term, index: snapshot.index, confState: snapshot.confState, installed: false });
    const released = this.core.log.snapshotIndex;
    if (released > 0) this.courier.send(this.config.actors.wal, { type: 'release', index: released });
  }

  private changeMembership(change: MembershipChange): Promise<MembershipResult> {
    const conf = this.core.confState();
    const isVoter = conf.voters.includes(change.nodeId);
    const isLearner = conf.learners.includes(change.nodeId);
    let coreChange: ConfChange;
    switch (change.op) {
      case 'addVoter':
        if (isVoter || isLearner) return Promise.reject(etcdError(Errors.memberExists));
        coreChange = { op: 'addVoter', nodeId: change.nodeId, context: change.context ?? new Uint8Array(0) };
        break;
      case 'addLearner':
        if (isVoter || isLearner) return Promise.reject(etcdError(Errors.memberExists));
        coreChange = { op: 'addLearner', nodeId: change.nodeId, context: change.context ?? new Uint8Array(0) };
        break;
      case 'promote':
        if (!isLearner) return Promise.reject(etcdError(isVoter ? Errors.memberNotLearner : Errors.memberNotFound));
        coreChange = { op: 'addVoter', nodeId: change.nodeId, context: new Uint8Array(0) };
        break;
      case 'remove':
        if (!isVoter && !isLearner) return Promise.reject(etcdError(Errors.memberNotFound));
        coreChange = { op: 'removeNode', nodeId: change.nodeId, context: new Uint8Array(0) };
        break;
    }
    const token = this.nextToken++;
    return new Promise<MembershipResult>((resolve, reject) => {
      this.membership.set(token, { resolve, reject, change, index: 0, term: 0, deadlineMs: this.ctx.clock.now() + this.proposalTimeoutMs });
      this.core.proposeConfChange(token, coreChange);
    });
  }

  private transferLeadership(to: NodeId): Promise<TransferResult> | TransferResult {
    if (!this.core.confState().voters.includes(to)) return Promise.reject(etcdError(Errors.badLeaderTransferee));
    if (this.core.lead === '') return Promise.reject(etcdError(Errors.noLeader));
    if (this.core.lead === to) return { leader: to, term: this.core.term };
    return new Promise<TransferResult>((resolve, reject) => {
      this.transfers.push({ to, resolve, reject, deadlineMs: this.ctx.clock.now() + this.transferTimeoutMs });
      this.core.transferLeadership(to);
    });
  }

  // ---- the Ready loop ----

  /** Feeds the turn's batched requests to the core, acts on every Ready, and sends one message per destination. */
  private drive(): void {
    if (this.stopped || !this.booted) return;
    this.feedTurn();
    for (let rounds = 0; this.core.hasReady(); rounds++) {
      assert(rounds < 100_000, 'raft core keeps producing Readies');
      this.handleReady(this.core.ready());
    }
    this.flush();
  }

  private feedTurn(): void {
    if (this.turnPayloads.length > 0) {
      const payloads = this.turnPayloads;
      const parts = this.turnParts;
      this.turnPayloads = [];
      this.turnParts = [];
      if (this.pendingProposals + payloads.length > raftShellLimits.pendingProposalsMax) {
        this.failParts(parts, Errors.tooManyRequests);
      } else {
        const token = this.nextToken++;
        this.pendingProposals += payloads.length;
        this.unanswered.set(token, { parts, count: payloads.length, deadlineMs: this.ctx.clock.now() + this.proposalTimeoutMs, index: 0, term: 0 });
        this.core.propose(token, payloads);
      }
    }
    if (this.turnReads.size > 0) {
      const parts: Part[] = [];
      let count = 0;
      for (const [sender, ids] of this.turnReads) {
        parts.push({ sender, ids });
        count += ids.length;
      }
      this.turnReads = new Map();
      if (this.pendingReads + count > raftShellLimits.pendingReadsMax) {
        this.failReads(parts, Errors.tooManyRequests);
      } else {
        const token = this.nextToken++;
        this.pendingReads += count;
        this.reads.set(token, { parts, deadlineMs: this.ctx.clock.now() + this.readTimeoutMs });
        this.core.readIndex(token);
      }
    }
  }

  private handleReady(rd: Ready): void {
    const actors = this.config.actors;
    if (rd.softState) this.onSoftState(rd.softState.lead, rd.softState.term);
    if (rd.snapshot) {
      const s = rd.snapshot;
      this.courier.send(actors.wal, { type: 'snapshotMarker', term: s.term, index: s.index, confState: s.confState, installed: true });
      this.outApply.push({ type: 'apply', snapshot: s, entries: [] });
      // The appliers restore to the snapshot and go on from there. Whatever waited to be applied is below the
      // snapshot (a snapshot is installed only beyond the commit index), so its effects are part of it.
      for (const name of actors.apply) this.appliedBy.set(name, s.index);
      this.appliedAll = s.index;
      for (const waiting of this.awaitingApply) {
        for (const part of waiting.parts) {
          const results = this.resultsFor(part.sender);
          for (const id of part.ids) results.applied.push(id);
        }
      }
      this.awaitingApply = [];
      // accepted batches the snapshot jumped over can no longer be checked entry by entry
      this.settleAccepted(s.index);
    }
    if (rd.entries.length > 0 || rd.hardState !== undefined || rd.mustSync) {
      this.lastSeqSent = rd.id;
      const append: WalProtocol['inbox'] = { type: 'append', seq: rd.id, entries: rd.entries, sync: rd.mustSync };
      if (rd.hardState) append.hardState = rd.hardState;
      this.courier.send(actors.wal, append);
    }
    for (const m of rd.messages) {
      if (m.type === 'snap') {
        if (actors.snapshot) this.courier.send(actors.snapshot, { type: 'sendSnapshot', message: m } satisfies SendSnapshot);
        else this.core.reportSnapshot(m.to, false);
      } else {
        this.outMessages.push(m);
      }
    }
    for (const outcome of rd.proposals) {
      const group = this.unanswered.get(outcome.token);
      if (group) {
        this.unanswered.delete(outcome.token);
        if (!outcome.accepted) {
          this.pendingProposals -= group.count;
          this.failParts(group.parts, proposalFailure(outcome.reason));
        } else {
          group.index = outcome.index;
          group.term = outcome.term;
          this.insertAccepted(group);
        }
        continue;
      }
      const change = this.membership.get(outcome.token);
      if (change) {
        if (!outcome.accepted) {
          this.membership.delete(outcome.token);
          change.reject(etcdError(this.membershipFailure(change.change, outcome.reason)));
        } else {
          change.index = outcome.index;
          change.term = outcome.term;
        }
      }
    }
    if (rd.committedEntries.length > 0) {
      const entries = rd.committedEntries;
      const last = entries[entries.length - 1]!.index;
      const batch = this.outApply[this.outApply.length - 1];
      if (batch) for (const e of entries) batch.entries.push(e);
      else this.outApply.push({ type: 'apply', entries });
      this.settleAccepted(last);
      this.settleMembership(rd, last);
      if (actors.apply.length === 0) this.advanceApplied(last);
    } else if (this.accepted.length > 0 && this.accepted[0]!.index <= this.core.log.applying) {
      // a forwarded batch's answer came after its entries were handed out
      this.settleAccepted(this.core.log.applying);
    }
    for (const r of rd.readStates) {
      const read = this.reads.get(r.token);
      if (!read) continue;
      this.reads.delete(r.token);
      for (const part of read.parts) {
        this.pendingReads -= part.ids.length;
        this.readResultsFor(part.sender).ready.push({ ids: part.ids, index: r.index });
      }
    }
    for (const token of rd.readsFailed) {
      const read = this.reads.get(token);
      if (!read) continue;
      this.reads.delete(token);
      this.failReads(read.parts, this.core.lead === '' ? Errors.noLeader : Errors.leaderChanged);
    }
  }

  private onSoftState(lead: NodeId | '', term: number): void {
    if (lead === this.lead && term === this.term) return;
    const changed = lead !== this.lead;
    this.lead = lead;
    this.term = term;
    if (changed) this.ctx.log.info('leader changed', { leader: lead, term });
    const notice: LeaderChanged = { type: 'leaderChanged', leader: lead, term, isLeader: lead === this.config.memberId };
    for (const name of this.config.actors.notify ?? []) this.courier.send(name, notice);
    if (lead !== '') {
      const done = this.transfers.filter((t) => t.to === lead);
      if (done.length > 0) {
        this.transfers = this.transfers.filter((t) => t.to !== lead);
        for (const t of done) t.resolve({ leader: lead, term });
      }
    }
  }

  private insertAccepted(group: Group): void {
    const list = this.accepted;
    let at = list.length;
    while (at > 0 && list[at - 1]!.index > group.index) at--;
    list.splice(at, 0, group);
  }

  /** Groups whose entries were all handed out: find out whether they are what was committed at their indexes. */
  private settleAccepted(handedTo: number): void {
    const log = this.core.log;
    let k = 0;
    while (k < this.accepted.length) {
      const g = this.accepted[k]!;
      const lastIndex = g.index + g.count - 1;
      if (lastIndex > handedTo) break;
      k++;
      this.pendingProposals -= g.count;
      const first = log.term(g.index);
      const last = log.term(lastIndex);
      if (first === g.term && last === g.term) {
        // by log matching the whole run from index to lastIndex is the batch we proposed
        this.insertAwaitingApply(lastIndex, g.parts);
        continue;
      }
      if (first === undefined || last === undefined) {
        this.failParts(g.parts, Errors.timeout); // compacted before we could look: outcome unknown
        continue;
      }
      // some or all of the batch was overwritten by a later leader: sort it out entry by entry
      let index = g.index;
      for (const part of g.parts) {
        const kept: number[] = [];
        for (const id of part.ids) {
          if (log.term(index) === g.term) kept.push(id);
          else this.resultsFor(part.sender).failed.push({ id, ...Errors.timeoutDueToLeaderFail });
          index++;
        }
        if (kept.length > 0) this.insertAwaitingApply(index - 1, [{ sender: part.sender, ids: kept }]);
      }
    }
    if (k > 0) this.accepted = this.accepted.slice(k);
  }

  private insertAwaitingApply(lastIndex: number, parts: Part[]): void {
    if (lastIndex <= this.appliedAll) {
      for (const part of parts) {
        const results = this.resultsFor(part.sender);
        for (const id of part.ids) results.applied.push(id);
      }
      return;
    }
    const list = this.awaitingApply;
    let at = list.length;
    while (at > 0 && list[at - 1]!.lastIndex > lastIndex) at--;
    list.splice(at, 0, { lastIndex, parts });
  }

  private settleMembership(rd: Ready, handedTo: number): void {
    for (const [token, wait] of this.membership) {
      if (wait.index === 0 || wait.index > handedTo) continue;
      this.membership.delete(token);
      const outcome = rd.confChanges.find((c) => c.index === wait.index);
      if (this.core.log.term(wait.index) !== wait.term || !outcome) {
        wait.reject(etcdError(Errors.timeoutDueToLeaderFail));
      } else if (!outcome.applied) {
        wait.reject(etcdError(raftErrors.invalidConfChange));
      } else {
        wait.resolve({ index: outcome.index, confState: outcome.confState });
      }
    }
  }

  private membershipFailure(change: MembershipChange, reason: Parameters<typeof proposalFailure>[0]): Failure {
    if (reason === 'invalidConfChange') {
      if (change.op === 'promote') return Errors.memberNotLearner;
      if (change.op === 'remove') return Errors.memberNotFound;
      return Errors.memberExists;
    }
    return proposalFailure(reason);
  }

  // ---- timeouts ----

  private expire(nowMs: number): void {
    for (const [token, group] of this.unanswered) {
      if (group.deadlineMs > nowMs) continue;
      this.unanswered.delete(token);
      this.pendingProposals -= group.count;
      this.failParts(group.parts, Errors.timeout);
    }
    if (this.accepted.length > 0) {
      const keep: Group[] = [];
      for (const g of this.accepted) {
        if (g.deadlineMs > nowMs) keep.push(g);
        else {
          this.pendingProposals -= g.count;
          this.failParts(g.parts, Errors.timeout);
        }
      }
      this.accepted = keep;
    }
    for (const [token, read] of this.reads) {
      if (read.deadlineMs > nowMs) continue;
      this.reads.delete(token);
      this.failReads(read.parts, Errors.timeout);
    }
    for (const [token, wait] of this.membership) {
      if (wait.deadlineMs > nowMs) continue;
      this.membership.delete(token);
      wait.reject(etcdError(Errors.timeout));
    }
    if (this.transfers.length > 0) {
      const late = this.transfers.filter((t) => t.deadlineMs <= nowMs);
      this.transfers = this.transfers.filter((t) => t.deadlineMs > nowMs);
      for (const t of late) t.reject(etcdError(Errors.timeout));
    }
  }

  // ---- outputs ----

  private resultsFor(sender: string): ProposalResults {
    let r = this.proposalResults.get(sender);
    if (!r) {
      r = { type: 'proposalResults', applied: [], failed: [] };
      this.proposalResults.set(sender, r);
    }
    return r;
  }

  private readResultsFor(sender: string): ReadIndexResults {
    let r = this.readResults.get(sender);
    if (!r) {
      r = { type: 'readIndexResults', ready: [], failed: [] };
      this.readResults.set(sender, r);
    }
    return r;
  }

  private failParts(parts: Part[], failure: Failure): void {
    for (const part of parts) {
      const results = this.resultsFor(part.sender);
      for (const id of part.ids) results.failed.push({ id, code: failure.code, message: failure.message });
    }
  }

  private failReads(parts: Part[], failure: Failure): void {
    for (const part of parts) {
      this.pendingReads -= part.ids.length;
      this.readResultsFor(part.sender).failed.push({ ids: part.ids, code: failure.code, message: failure.message });
    }
  }

  private flush(): void {
    const actors = this.config.actors;
    if (this.outMessages.length > 0) {
      const messages = this.outMessages;
      this.outMessages = [];
      // The transport never holds raft up: if its mailbox is full the messages are dropped and their peers treated
      // as unreachable (raft retries through its own heartbeats and probes).
      if (!this.ctx.ref<AnyProtocol>(actors.transport).tell({ type: 'send', messages } satisfies SendMessages as never)) {
        const peers = new Set(messages.map((m) => m.to));
        for (const peer of peers) this.core.reportUnreachable(peer);
      }
    }
    if (this.outApply.length > 0) {
      const conf = this.core.confState();
      const key = `${conf.voters.join(',')}|${conf.learners.join(',')}|${conf.votersOutgoing.join(',')}`;
      if (key !== this.confSent) {
        this.confSent = key;
        this.outApply[this.outApply.length - 1]!.confState = conf;
      }
      for (const batch of this.outApply) for (const name of actors.apply) this.courier.send(name, batch);
      this.outApply = [];
    }
    for (const [sender, results] of this.proposalResults) this.courier.send(sender, results);
    this.proposalResults.clear();
    for (const [sender, results] of this.readResults) this.courier.send(sender, results);
    this.readResults.clear();
  }

  private stop(): void {
    if (!this.booted) return;
    this.stopped = true;
    this.timer?.cancel();
    const stopped = Errors.stopped;
    for (const group of this.unanswered.values()) this.failParts(group.parts, stopped);
    for (const group of this.accepted) this.failParts(group.parts, stopped);
    for (const read of this.reads.values()) this.failReads(read.parts, stopped);
    for (const wait of this.membership.values()) wait.reject(etcdError(stopped));
    for (const t of this.transfers) t.reject(etcdError(stopped));
    this.unanswered.clear();
    this.accepted = [];
    this.reads.clear();
    this.membership.clear();
    this.transfers = [];
    this.flush();
  }
}

export default defineActor<RaftProtocol, RaftShellConfig>((ctx, config) => {
  const shell = new RaftShell(ctx, config);
  shell.boot().catch((error: unknown) => ctx.fail(error));
  return shell.behaviour();
});
