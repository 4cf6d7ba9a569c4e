// The raft consensus core: a pure, deterministic state machine. Input is a tick, a message or a local request;
// output is a Ready bundle (see ready.ts for the cycle the shell runs). No I/O, no clock, and no randomness but the
// seeded generator for election jitter, so a seed and a sequence of inputs always give the same outputs.
//
// Model: the Raft paper and Ongaro's thesis, with the extensions etcd's raft library made well known: pre-vote,
// check-quorum, ReadIndex, leadership transfer, learners, and asynchronous storage writes (the leader writes its
// own log in parallel with replicating it and counts itself only once durable).
//
// Roles are behaviour: stepLeader / stepCandidate / stepFollower and tickLeader / tickElection are chosen when the
// role changes, and the common term rules run before them in step().
import { assert } from '../../../runtime/assert.js';
import { SeededRandom } from '../../../runtime/random.js';
import { applyConfChange, cloneConfState, decodeConfChange, emptyConfState, encodeConfChange, isNodeId, type ConfChange } from './confchange.js';
import { Durability } from './durability.js';
import { RaftConfigError, RaftSafetyError, RaftUsageError } from './errors.js';
import { raftLimits } from './limits.js';
import { entryBytes, RaftLog } from './log.js';
import type { AppendMessage, HeartbeatMessage, ProposalMessage, ProposalRejectReason, RaftMessage, ReadIndexRequest, SnapshotMessage, VoteRequest } from './messages.js';
import { Progress } from './progress.js';
import { ForwardedReads, LeaderReads, type ReadRequest } from './readindex.js';
import { majorityValue, voteResult, type VoteResult } from './quorum.js';
import type { ConfChangeOutcome, ProposalOutcome, RaftStatus, ReadState, Ready, Role, SoftState } from './ready.js';
import { EntryType, type ConfState, type Entry, type HardState, type NodeId, type SnapshotMetadata } from './types.js';

export interface RaftOptions {
  id: NodeId;
  /** Seed of the election jitter. Give each member its own (the shell takes it from ctx.random). */
  seed: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  inflightMessagesMax?: number;
  inflightBytesMax?: number;
  appendBytesMax?: number;
  uncommittedBytesMax?: number;
  committedBytesPerReadyMax?: number;
  applyingBytesMax?: number;
}

/** Durable state loaded at boot. */
export interface RaftBoot {
  hardState: HardState;
  /** The newest snapshot the member has (its state machine is restored from it). */
  snapshot?: SnapshotMetadata;
  /** Durable entries after the snapshot, contiguous. */
  entries: Entry[];
}

export class RaftNode {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = '';
  lead: NodeId | '' = '';
  role: Role = 'follower';
  readonly log: RaftLog;

  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly inflightMessagesMax: number;
  private readonly inflightBytesMax: number;
  private readonly appendBytesMax: number;
  private readonly uncommittedBytesMax: number;
  private readonly committedBytesPerReadyMax: number;
  private readonly applyingBytesMax: number;
  private readonly random: SeededRandom;

  // ---- membership ----
  private conf: ConfState;
  private voters: NodeId[] = [];
  /** Configurations by the index of the entry that made them (the first is the boot configuration). */
  private confHistory: Array<{ index: number; conf: ConfState }> = [];
  /** Latest saved snapshot: what a follower gets when it needs compacted entries. */
  private snapshotMeta: SnapshotMetadata;

  // ---- elections and leadership ----
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private votes = new Map<NodeId, boolean>();
  /** Leader: every member's progress, its own included. Empty otherwise. */
  private progress = new Map<NodeId, Progress>();
  private leadTransferee: NodeId | '' = '';
  /** Leader: index of the newest entry that may be a membership change; a new one waits until this is applied. */
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  private committedInTerm = false;
  private stepRole: (m: RaftMessage) => void;
  private tickRole: () => void;

  // ---- ReadIndex ----
  private readonly leaderReads = new LeaderReads();
  private readonly forwardedReads = new ForwardedReads();

  // ---- output and persistence bookkeeping ----
  private msgs: RaftMessage[] = [];
  private readStates: ReadState[] = [];
  private readsFailed: number[] = [];
  private proposalOutcomes: ProposalOutcome[] = [];
  private confOutcomes: ConfChangeOutcome[] = [];
  private appendPending = false;
  private readonly durability: Durability;
  private handedHardState: HardState;
  private handedSoftState: SoftState;
  /** A snapshot installed from the leader and not yet handed out. */
  private pendingSnapshot: SnapshotMetadata | undefined;
  private applyingBytes = 0;

  constructor(options: RaftOptions, boot: RaftBoot) {
    if (!isNodeId(options.id)) throw new RaftConfigError(`member id ${JSON.stringify(options.id)} is not 16 lowercase hex digits`);
    this.id = options.id;
    this.electionTimeout = options.electionTicks ?? raftLimits.electionTicksDefault;
    this.heartbeatTimeout = options.heartbeatTicks ?? raftLimits.heartbeatTicksDefault;
    if (!(this.heartbeatTimeout >= 1 && this.electionTimeout > this.heartbeatTimeout)) {
      throw new RaftConfigError(`election ticks (${this.electionTimeout}) must exceed heartbeat ticks (${this.heartbeatTimeout}) >= 1`);
    }
    this.preVote = options.preVote ?? true;
    this.checkQuorum = options.checkQuorum ?? true;
    this.inflightMessagesMax = options.inflightMessagesMax ?? raftLimits.inflightMessagesDefault;
    this.appendBytesMax = options.appendBytesMax ?? raftLimits.appendBytesDefault;
    this.inflightBytesMax = options.inflightBytesMax ?? Math.max(this.appendBytesMax, this.appendBytesMax * this.inflightMessagesMax);
    this.uncommittedBytesMax = options.uncommittedBytesMax ?? raftLimits.uncommittedBytesDefault;
    this.committedBytesPerReadyMax = options.committedBytesPerReadyMax ?? raftLimits.committedBytesPerReadyDefault;
    this.applyingBytesMax = options.applyingBytesMax ?? raftLimits.applyingBytesDefault;
    if (this.inflightMessagesMax < 1 || this.appendBytesMax < 1) throw new RaftConfigError('inflight messages and append bytes must be positive');
    this.random = new SeededRandom(options.seed);

    const snapshot = boot.snapshot;
    const hs = boot.hardState;
    // A snapshot may have been saved after a commit index that never reached the disk (commit-only hard states are
    // not synced): whatever a snapshot covers is committed.
    const commit = Math.max(hs.commit, snapshot?.index ?? 0);
    const snapshotIndex = snapshot?.index ?? 0;
    let skip = 0;
    while (skip < boot.entries.length && boot.entries[skip]!.index <= snapshotIndex) skip++; // covered by the snapshot
    this.log = new RaftLog(snapshotIndex, snapshot?.term ?? 0, skip === 0 ? boot.entries : boot.entries.slice(skip), commit);
    this.log.onCut = (first) => {
      const term = this.log.term(first - 1);
      assert(term !== undefined, 'a cut is always above the snapshot');
      this.durability.cut(first, term);
    };
    this.term = hs.term;
    this.vote = hs.vote;
    this.conf = snapshot ? cloneConfState(snapshot.confState) : emptyConfState();
    this.snapshotMeta = snapshot ? { index: snapshot.index, term: snapshot.term, confState: cloneConfState(snapshot.confState) } : { index: 0, term: 0, confState: emptyConfState() };
    this.confHistory.push({ index: this.log.snapshotIndex, conf: this.conf });
    this.setVoters();
    this.handedHardState = { term: hs.term, vote: hs.vote, commit };
    this.durability = new Durability(hs.term, hs.vote);
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
    this.resetRandomizedElectionTimeout();
    this.handedSoftState = { lead: '', role: 'follower', term: this.term };
    this.log.checkInvariants();
  }

  /**
   * A new cluster: every initial member starts with the same log, one committed addVoter entry per initial voter
   * (term 1), so members that join later learn the initial configuration by replaying it like any other change.
   */
  /** A new cluster's first entries: one addVoter per voter, committed at term 1, each with its context if given. */
  static bootstrap(options: RaftOptions, voters: readonly NodeId[], contexts: Readonly<Record<NodeId, Uint8Array>> = {}): RaftNode {
    if (voters.length === 0) throw new RaftConfigError('a new cluster needs at least one voter');
    const unique = [...new Set(voters)].sort();
    if (unique.length !== voters.length) throw new RaftConfigError('initial voters listed twice');
    const node = new RaftNode(options, { hardState: { term: 0, vote: '', commit: 0 }, entries: [] });
    const entries: Entry[] = unique.map((nodeId, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ op: 'addVoter', nodeId, context: contexts[nodeId] ?? new Uint8Array(0) }),
    }));
    node.log.append(entries);
    node.term = 1;
    node.log.commitTo(entries.length);
    return node;
  }

  // =====================================================================================================
  // Inputs
  // =====================================================================================================

  /** One tick of logical time (the shell's heartbeat interval). */
  tick(): void {
    this.tickRole();
  }

  /** A message from a peer (or a forwarded request). */
  step(m: RaftMessage): void {
    if (m.to !== this.id) return; // misrouted
    if (m.term === 0) {
      this.stepLocal(m);
      return;
    }
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const inLease = this.checkQuorum && this.lead !== '' && this.electionElapsed < this.electionTimeout;
        if (inLease && !m.transfer) return; // a leader is alive: a disruptive candidate gets no answer
      }
      if (m.type === 'preVote') {
        // a pre-vote never changes anyone's term
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // a granted pre-vote carries the future term; we move there only when we really campaign
      } else if (m.type === 'vote') {
        // Follow the newer term, but keep the election timer running: only a leader's message or a granted vote
        // resets it (Raft paper, figure 2). Otherwise a member with a stale log that keeps campaigning would keep
        // resetting the up-to-date members' timers, and they would rarely get to campaign themselves.
        const elapsed = this.electionElapsed;
        this.becomeFollower(m.term, '');
        this.electionElapsed = elapsed;
      } else {
        const lead = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap' ? m.from : '';
        this.becomeFollower(m.term, lead);
      }
    } else if (m.term < this.term) {
      if (m.type === 'app' || m.type === 'heartbeat') {
        // A stale leader learns our term and steps down (Raft paper: the reply carries currentTerm). With pre-vote
        // or check-quorum this is also what lets a member whose term ran ahead in a partition rejoin: nobody would
        // otherwise ever move to its term.
        this.send({ type: 'appResp', from: this.id, to: m.from, term: this.term, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }
    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    this.stepRole(m);
  }

  /**
   * Proposes a batch of entries. `token` comes back in a ProposalOutcome (accepted with its indexes, or rejected).
   * On a follower the batch is forwarded to the leader and the outcome arrives once the leader answers.
   */
  propose(token: number, data: readonly Uint8Array[], type: EntryType = EntryType.Normal): void {
    if (data.length === 0) return;
    if (this.role === 'leader') {
      const result = this.appendProposals(data, type);
      if (typeof result === 'string') this.proposalOutcomes.push({ token, accepted: false, reason: result });
      else this.proposalOutcomes.push({ token, accepted: true, index: result, term: this.term, count: data.length });
      return;
    }
    if (this.lead === '') {
      this.proposalOutcomes.push({ token, accepted: false, reason: 'noLeader' });
      return;
    }
    const entries: Entry[] = new Array(data.length);
    for (let i = 0; i < data.length; i++) entries[i] = { term: 0, index: 0, type, data: data[i]! };
    this.send({ type: 'prop', from: this.id, to: this.lead, term: 0, token, entries });
  }

  /** Proposes a membership change (one at a time; answered like any proposal, then applied when committed). */
  proposeConfChange(token: number, change: ConfChange): void {
    this.propose(token, [encodeConfChange(change)], EntryType.ConfChange);
  }

  /** Registers every read the shell holds under `token`; answered by a ReadState (or readsFailed). */
  readIndex(token: number): void {
    if (this.leaderReads.pending + this.forwardedReads.unsentCount() >= raftLimits.pendingReadsMax) {
      this.readsFailed.push(token);
      return;
    }
    if (this.role === 'leader') {
      this.leaderRead({ from: this.id, token });
    } else if (this.lead !== '') {
      this.forwardedReads.add(token);
    } else {
      this.readsFailed.push(token);
    }
  }

  /** Asks the leader to hand leadership to `transferee`. */
  transferLeadership(transferee: NodeId): void {
    if (this.role === 'leader') this.startTransfer(transferee);
    else if (this.lead !== '') this.send({ type: 'transferLeader', from: this.id, to: this.lead, term: 0, transferee });
  }

  /** The transport could not reach `peer`: stop streaming to it optimistically. */
  reportUnreachable(peer: NodeId): void {
    const pr = this.role === 'leader' ? this.progress.get(peer) : undefined;
    if (pr && pr.state === 'replicate') pr.becomeProbe();
  }

  /** The snapshot sent to `peer` was delivered (ok) or failed. */
  reportSnapshot(peer: NodeId, ok: boolean): void {
    const pr = this.role === 'leader' ? this.progress.get(peer) : undefined;
    if (!pr || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    // wait for the follower's answer (or a heartbeat answer) before probing again
    pr.probeSent = true;
  }

  /** Everything in Readies up to `readyId` is durable. */
  persisted(readyId: number): void {
    const { stable, released } = this.durability.persisted(readyId);
    if (stable) this.log.stableTo(stable.index, stable.term);
    for (const m of released) this.msgs.push(m);
    const d = this.durability;
    if (this.role === 'leader') {
      // the leader's own log counts towards a commit only as far as it is durable
      const self = this.progress.get(this.id);
      if (self && self.maybeUpdate(this.log.stable)) this.maybeCommit();
    } else if (this.role === 'candidate' && d.durableTerm === this.term && d.durableVote === this.id && !this.votes.has(this.id)) {
      // and a candidate's own vote only once it is durable
      this.pollAndAct(this.id, true);
    }
  }

  /** The appliers finished every entry up to `index`. */
  applied(index: number): void {
    if (index > this.log.applying) throw new RaftUsageError(`applied(${index}) beyond what was handed out (${this.log.applying})`);
    if (index <= this.log.applied) return;
    for (let i = this.log.applied + 1; i <= index; i++) {
      const e = this.log.entry(i);
      if (e) this.applyingBytes -= entryBytes(e);
    }
    if (this.applyingBytes < 0) this.applyingBytes = 0;
    this.log.applied = index;
  }

  /**
   * A snapshot of the state machine at `snapshotIndex` is saved: remember it (it is what lagging followers will be
   * sent) and drop log entries up to snapshotIndex - keepEntries (entries kept let slow followers catch up without a
   * snapshot).
   */
  compact(snapshotIndex: number, keepEntries = 0): void {
    if (snapshotIndex > this.log.applied) throw new RaftUsageError(`compact(${snapshotIndex}) beyond applied ${this.log.applied}`);
    if (snapshotIndex <= this.snapshotMeta.index) return;
    const term = this.log.term(snapshotIndex);
    if (term === undefined) throw new RaftUsageError(`compact(${snapshotIndex}): that entry is no longer in the log`);
    this.snapshotMeta = { index: snapshotIndex, term, confState: cloneConfState(this.confAt(snapshotIndex)) };
    const cut = snapshotIndex - Math.max(0, keepEntries);
    if (cut > this.log.snapshotIndex) {
      this.log.compact(cut);
      let keepFrom = 0;
      for (let i = 0; i < this.confHistory.length; i++) if (this.confHistory[i]!.index <= cut) keepFrom = i;
      this.confHistory = this.confHistory.slice(keepFrom);
    }
  }

  // =====================================================================================================
  // Outputs
  // =====================================================================================================

  hasReady(): boolean {
    if (this.msgs.length > 0 || this.readStates.length > 0 || this.readsFailed.length > 0 || this.proposalOutcomes.length > 0 || this.confOutcomes.length > 0) return true;
    if (this.pendingSnapshot !== undefined || this.log.hasUnhanded()) return true;
    const hs = this.handedHardState;
    if (hs.term !== this.term || hs.vote !== this.vote || hs.commit !== this.log.committed) return true;
    const ss = this.handedSoftState;
    if (ss.lead !== this.lead || ss.role !== this.role || ss.term !== this.term) return true;
    if (this.canHandOutCommitted()) return true;
    if (this.appendPending || this.leaderReads.hasUnsent() || this.forwardedReads.unsentCount() > 0) return true;
    if (this.role === 'leader' && this.commitToTell()) return true;
    return false;
  }

  /** Collects everything the shell must act on, and marks it handed out. */
  ready(): Ready {
    const committedEntries = this.handOutCommitted();
    this.flush();
    const rd: Ready = {
      id: 0,
      entries: this.log.takeUnhanded(),
      mustSync: false,
      messages: this.msgs,
      committedEntries,
      readStates: this.readStates,
      readsFailed: this.readsFailed,
      proposals: this.proposalOutcomes,
      confChanges: this.confOutcomes,
    };
    this.msgs = [];
    this.readStates = [];
    this.readsFailed = [];
    this.proposalOutcomes = [];
    this.confOutcomes = [];
    const ss = this.handedSoftState;
    if (ss.lead !== this.lead || ss.role !== this.role || ss.term !== this.term) {
      rd.softState = { lead: this.lead, role: this.role, term: this.term };
      this.handedSoftState = rd.softState;
    }
    const hs = this.handedHardState;
    const termOrVoteChanged = hs.term !== this.term || hs.vote !== this.vote;
    if (termOrVoteChanged || hs.commit !== this.log.committed) {
      rd.hardState = { term: this.term, vote: this.vote, commit: this.log.committed };
      this.handedHardState = rd.hardState;
    }
    if (this.pendingSnapshot) {
      rd.snapshot = this.pendingSnapshot;
      this.pendingSnapshot = undefined;
    }
    rd.mustSync = rd.entries.length > 0 || rd.snapshot !== undefined || termOrVoteChanged;
    rd.id = this.durability.handOut(rd.mustSync, { lastIndex: this.log.lastIndex(), lastTerm: this.log.lastTerm(), term: this.term, vote: this.vote });
    return rd;
  }

  status(): RaftStatus {
    const progress = [];
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) {
        progress.push({ id, match: pr.match, next: pr.next, state: pr.state, learner: pr.learner, recentActive: pr.recentActive });
      }
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      lead: this.lead,
      role: this.role,
      commit: this.log.committed,
      applied: this.log.applied,
      applying: this.log.applying,
      lastIndex: this.log.lastIndex(),
      stable: this.log.stable,
      firstIndex: this.log.firstIndex(),
      confState: cloneConfState(this.conf),
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  confState(): ConfState {
    return cloneConfState(this.conf);
  }

  /** The latest snapshot the core knows (what it sends to followers that need compacted entries). */
  latestSnapshot(): SnapshotMetadata {
    return this.snapshotMeta;
  }

  // =====================================================================================================
  // Persistence-dependent sends
  // =====================================================================================================

  private send(m: RaftMessage): void {
    this.msgs.push(m);
  }

  /**
   * Sends `m` once everything it depends on is durable: whatever is not yet handed out goes in the next Ready, so
   * the message waits for that Ready; otherwise it waits for the last Ready that had something to make durable.
   */
  private sendAfterPersist(m: RaftMessage): void {
    const hs = this.handedHardState;
    const dirty = this.log.hasUnhanded() || this.pendingSnapshot !== undefined || hs.term !== this.term || hs.vote !== this.vote;
    if (this.durability.mayLeave(m, dirty)) this.msgs.push(m);
  }

  // =====================================================================================================
  // Roles
  // =====================================================================================================

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.random.int(this.electionTimeout);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = '';
    this.votes = new Map();
    if (this.role === 'leader') this.dropLeaderState();
  }

  /** A leader loses its role: reads waiting on it fail, progress goes. */
  private dropLeaderState(): void {
    for (const r of this.leaderReads.drain()) {
      if (r.from === this.id) this.readsFailed.push(r.token);
      else this.send({ type: 'readIndexResp', from: this.id, to: r.from, term: 0, token: r.token, index: 0, reject: true });
    }
    this.progress = new Map();
    this.appendPending = false;
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.committedInTerm = false;
  }

  private becomeFollower(term: number, lead: NodeId | ''): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'a leader does not pre-campaign');
    // Term and vote stay: a pre-candidate changes nothing durable. It stops following, though.
    this.votes = new Map();
    this.lead = '';
    this.role = 'preCandidate';
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'a leader does not campaign');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', 'only a candidate becomes leader');
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    this.stepRole = this.stepLeader;
    this.tickRole = this.tickLeader;
    this.progress = new Map();
    for (const id of this.conf.voters) this.addProgress(id, false);
    for (const id of this.conf.learners) this.addProgress(id, false);
    const self = this.progress.get(this.id);
    if (self) {
      self.maybeUpdate(this.log.stable);
      self.becomeReplicate();
    }
    // Anything in the log may be an unapplied membership change: the next one waits until all of it is applied.
    this.pendingConfIndex = this.log.lastIndex();
    this.uncommittedBytes = 0;
    this.committedInTerm = false;
    // The no-op entry that lets the new leader commit (and learn the commit index) in its own term.
    const appended = this.appendProposals([new Uint8Array(0)], EntryType.Normal);
    assert(typeof appended === 'number', 'a new leader always accepts its no-op');
  }

  private addProgress(id: NodeId, recentActive: boolean): void {
    const learner = this.conf.learners.includes(id);
    const pr = new Progress(this.log.lastIndex() + 1, learner, this.inflightMessagesMax, this.inflightBytesMax);
    pr.recentActive = recentActive || id === this.id;
    this.progress.set(id, pr);
  }

  private promotable(): boolean {
    return this.voters.includes(this.id);
  }

  private setVoters(): void {
    assert(this.conf.votersOutgoing.length === 0, 'joint configurations are not used by this core');
    this.voters = [...this.conf.voters];
  }

  // ---- ticks ----

  private tickElection = (): void => {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  };

  private tickLeader = (): void => {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum && !this.quorumActive()) {
        // Heard from no quorum for a whole election timeout: another leader may exist; stop serving.
        this.becomeFollower(this.term, '');
        return;
      }
      if (this.leadTransferee !== '') this.leadTransferee = ''; // the transfer took too long: give up
    }
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  };

  /** Whether a quorum of voters was heard from since the last check; starts the next check period. */
  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) {
      const pr = this.progress.get(id);
      if (id === this.id || pr?.recentActive) active++;
    }
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return active >= (this.voters.length >> 1) + 1;
  }

  // ---- elections ----

  private hup(transfer: boolean): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) return;
    if (this.hasCommittedUnappliedConfChange()) return; // our configuration may be about to change: wait
    if (this.preVote && !transfer) this.campaign('pre', false);
    else this.campaign('election', transfer);
  }

  private hasCommittedUnappliedConfChange(): boolean {
    for (let i = this.log.applying + 1; i <= this.log.committed; i++) {
      const e = this.log.entry(i);
      if (e && e.type === EntryType.ConfChange) return true;
    }
    return false;
  }

  private campaign(kind: 'pre' | 'election', transfer: boolean): void {
    let voteTerm: number;
    if (kind === 'pre') {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
      // A pre-vote for oneself changes nothing durable, so it counts at once.
      if (this.pollAndAct(this.id, true)) return;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
      // Our own vote counts once the Ready carrying the new term and vote is durable (see persisted()).
    }
    const index = this.log.lastIndex();
    const logTerm = this.log.lastTerm();
    const type = kind === 'pre' ? 'preVote' : 'vote';
    for (const id of this.voters) {
      if (id === this.id) continue;
      this.send({ type, from: this.id, to: id, term: voteTerm, index, logTerm, transfer });
    }
  }

  /** Records a vote and acts on the result. Returns true when the role changed because of it. */
  private pollAndAct(from: NodeId, granted: boolean): boolean {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    const result: VoteResult = voteResult(this.voters, this.votes);
    if (result === 'won') {
      if (this.role === 'preCandidate') this.campaign('election', false);
      else this.becomeLeader();
      return true;
    }
    if (result === 'lost') {
      this.becomeFollower(this.term, '');
      return true;
    }
    return false;
  }

  private handleVoteRequest(m: VoteRequest): void {
    // We may vote for m.from if we already did in this term, or have voted for nobody and follow nobody, or this is a
    // pre-vote for a later term (which promises nothing).
    const canVote = this.vote === m.from || (this.vote === '' && this.lead === '') || (m.type === 'preVote' && m.term > this.term);
    const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
        // the grant must not leave before the vote is durable
        this.sendAfterPersist({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      } else {
        this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  // =====================================================================================================
  // Step functions per role
  // =====================================================================================================

  private stepLeader = (m: RaftMessage): void => {
    switch (m.type) {
      case 'appResp':
        this.leaderHandleAppendResponse(m.from, m.index, m.reject, m.hintIndex, m.hintTerm);
        return;
      case 'heartbeatResp':
        this.leaderHandleHeartbeatResponse(m.from, m.round);
        return;
      case 'app':
      case 'heartbeat':
      case 'snap':
        throw new RaftSafetyError(`two leaders in term ${this.term}: ${this.id} and ${m.from}`);
      case 'voteResp':
      case 'preVoteResp':
      case 'timeoutNow':
        return; // late answers of the election we won; a leader does not time out on command
      case 'vote':
      case 'preVote':
      case 'prop':
      case 'propResp':
      case 'readIndex':
      case 'readIndexResp':
      case 'transferLeader':
        return; // handled before role dispatch
    }
  };

  private stepCandidate = (m: RaftMessage): void => {
    switch (m.type) {
      case 'app':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'voteResp':
        if (this.role === 'candidate') this.pollAndAct(m.from, !m.reject);
        return;
      case 'preVoteResp':
        if (this.role === 'preCandidate') this.pollAndAct(m.from, !m.reject);
        return;
      case 'appResp':
      case 'heartbeatResp':
      case 'timeoutNow':
        return;
      case 'vote':
      case 'preVote':
      case 'prop':
      case 'propResp':
      case 'readIndex':
      case 'readIndexResp':
      case 'transferLeader':
        return;
    }
  };

  private stepFollower = (m: RaftMessage): void => {
    switch (m.type) {
      case 'app':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        // the leader hands over to us: campaign now, skipping pre-vote and the others' leader lease
        this.hup(true);
        return;
      case 'appResp':
      case 'heartbeatResp':
      case 'voteResp':
      case 'preVoteResp':
        return;
      case 'vote':
      case 'preVote':
      case 'prop':
      case 'propResp':
      case 'readIndex':
      case 'readIndexResp':
      case 'transferLeader':
        return;
    }
  };

  /** Messages outside the term protocol: forwarded requests and their answers. */
  private stepLocal(m: RaftMessage): void {
    switch (m.type) {
      case 'prop':
        this.handleForwardedProposal(m);
        return;
      case 'propResp':
        if (m.reject === '') this.proposalOutcomes.push({ token: m.token, accepted: true, index: m.index, term: m.logTerm, count: m.count });
        else this.proposalOutcomes.push({ token: m.token, accepted: false, reason: m.reject });
        return;
      case 'readIndex':
        this.handleForwardedRead(m);
        return;
      case 'readIndexResp': {
        const tokens = this.forwardedReads.answer(m.token);
        if (!tokens) return;
        for (const token of tokens) {
          if (m.reject) this.readsFailed.push(token);
          else this.readStates.push({ token, index: m.index });
        }
        return;
      }
      case 'transferLeader':
        if (this.role === 'leader') this.startTransfer(m.transferee);
        return;
      default:
        return; // a term-protocol message with term 0 is malformed: ignore it
    }
  }

  // =====================================================================================================
  // Follower side of replication
  // =====================================================================================================

  private handleAppend(m: AppendMessage): void {
    if (m.index < this.log.committed) {
      // everything up to our commit index is already here: tell the leader where we are
      this.sendAfterPersist({ type: 'appResp', from: this.id, to: m.from, term: this.term, index: this.log.committed, reject: false, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.sendAfterPersist({ type: 'appResp', from: this.id, to: m.from, term: this.term, index: lastNew, reject: false, hintIndex: 0, hintTerm: 0 });
      return;
    }
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: 'appResp', from: this.id, to: m.from, term: this.term, index: m.index, reject: true, hintIndex: hint.index, hintTerm: hint.term });
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    // the leader sends min(our match, its commit), so this never commits past what we share with it
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, round: m.round });
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const s = m.snapshot;
    if (this.restore(s)) {
      this.sendAfterPersist({ type: 'appResp', from: this.id, to: m.from, term: this.term, index: this.log.lastIndex(), reject: false, hintIndex: 0, hintTerm: 0 });
    } else {
      this.sendAfterPersist({ type: 'appResp', from: this.id, to: m.from, term: this.term, index: this.log.committed, reject: false, hintIndex: 0, hintTerm: 0 });
    }
  }

  /** Installs a snapshot unless the log already covers it. Returns whether the log was replaced. */
  private restore(s: SnapshotMetadata): boolean {
    if (s.index <= this.log.committed) return false;
    if (this.log.matchTerm(s.index, s.term)) {
      // we hold that entry already: only the commit index moves
      this.log.commitTo(s.index);
      return false;
    }
    // Any Ready handed out before this point described the old log: it must not move `stable` on the new one.
    this.durability.restored();
    this.log.restore(s.index, s.term);
    this.applyingBytes = 0;
    this.conf = cloneConfState(s.confState);
    this.setVoters();
    this.confHistory = [{ index: s.index, conf: this.conf }];
    this.snapshotMeta = { index: s.index, term: s.term, confState: cloneConfState(s.confState) };
    this.pendingSnapshot = this.snapshotMeta;
    return true;
  }

  // =====================================================================================================
  // Leader side of replication
  // =====================================================================================================

  /**
   * Appends proposals in the leader's term: `data` with one entry type, or entries forwarded by a follower (each
   * with its own type). Each entry object is made once, here. Returns the first index, or why nothing was appended.
   */
  private appendProposals(data: readonly Uint8Array[], type: EntryType): number | ProposalRejectReason;
  private appendProposals(forwarded: readonly Entry[]): number | ProposalRejectReason;
  private appendProposals(items: readonly (Uint8Array | Entry)[], type?: EntryType): number | ProposalRejectReason {
    if (this.leadTransferee !== '') return 'leaderTransferring';
    const n = items.length;
    const overhead = raftLimits.entryOverheadBytes;
    let bytes = 0;
    let confChanges = false;
    for (let i = 0; i < n; i++) {
      const item = items[i]!;
      if (item instanceof Uint8Array) bytes += item.length + overhead;
      else {
        bytes += item.data.length + overhead;
        if (item.type === EntryType.ConfChange) confChanges = true;
      }
    }
    if (type === EntryType.ConfChange) confChanges = true;
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.uncommittedBytesMax) return 'tooManyRequests';
    if (confChanges) {
      for (const item of items) {
        const isConf = item instanceof Uint8Array ? type === EntryType.ConfChange : item.type === EntryType.ConfChange;
        if (!isConf) continue;
        const refusal = this.checkConfChangeProposal(decodeConfChange(item instanceof Uint8Array ? item : item.data));
        if (refusal) return refusal;
      }
    }
    const first = this.log.lastIndex() + 1;
    const term = this.term;
    const own: Entry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const item = items[i]!;
      const e: Entry = item instanceof Uint8Array ? { term, index: first + i, type: type!, data: item } : { term, index: first + i, type: item.type, data: item.data };
      own[i] = e;
      if (e.type === EntryType.ConfChange) this.pendingConfIndex = e.index;
    }
    this.log.append(own);
    this.uncommittedBytes += bytes;
    this.appendPending = true;
    return first;
  }

  private checkConfChangeProposal(change: ConfChange): ProposalRejectReason | undefined {
    if (this.pendingConfIndex > this.log.applying) return 'confChangePending';
    const check = applyConfChange(this.conf, change);
    if (!check.ok) return 'invalidConfChange';
    if (change.op === 'addVoter' && this.conf.learners.includes(change.nodeId)) {
      const pr = this.progress.get(change.nodeId);
      if (!pr || pr.match < this.log.lastIndex() * raftLimits.learnerPromotionFraction) return 'learnerNotReady';
    }
    return undefined;
  }

  private handleForwardedProposal(m: ProposalMessage): void {
    let reply: { index: number; reason: ProposalRejectReason | '' };
    if (this.role !== 'leader') {
      reply = { index: 0, reason: 'noLeader' };
    } else {
      const result = this.appendProposals(m.entries);
      reply = typeof result === 'string' ? { index: 0, reason: result } : { index: result, reason: '' };
    }
    this.send({
      type: 'propResp',
      from: this.id,
      to: m.from,
      term: 0,
      token: m.token,
      index: reply.index,
      count: reply.reason === '' ? m.entries.length : 0,
      logTerm: reply.reason === '' ? this.term : 0,
      reject: reply.reason,
    });
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.sendAppends(id);
    }
  }

  /** Sends as many appends to `to` as its flow control allows (one in probe state). Returns whether any left. */
  private sendAppends(to: NodeId): boolean {
    const pr = this.progress.get(to);
    if (!pr) return false;
    let sent = false;
    while (this.sendAppend(to, pr, !sent)) {
      sent = true;
      if (pr.state !== 'replicate' || pr.next > this.log.lastIndex()) break;
    }
    return sent;
  }

  /**
   * One append (or a snapshot when the entries it needs are compacted). With `sendIfEmpty` false, nothing goes out
   * when there are no entries to send. Returns whether a message went out.
   */
  private sendAppend(to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined || pr.next < this.log.firstIndex()) return this.sendSnapshot(to, pr);
    const last = this.log.lastIndex();
    let entries: Entry[] = [];
    let bytes = 0;
    if (pr.next <= last) {
      const slice = this.log.sliceBytes(pr.next, last + 1, this.appendBytesMax);
      entries = slice.entries;
      bytes = slice.bytes;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    const commit = this.log.committed;
    this.send({ type: 'app', from: this.id, to, term: this.term, index: prevIndex, logTerm: prevTerm, entries, commit });
    pr.commitSent = commit;
    pr.sentEntries(entries.length, prevIndex + entries.length, bytes);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false; // do not ship a snapshot to a member that may be down
    const snapshot = this.snapshotMeta;
    assert(snapshot.index >= this.log.snapshotIndex, 'the saved snapshot covers every compacted entry');
    pr.becomeSnapshot(snapshot.index);
    this.send({ type: 'snap', from: this.id, to, term: this.term, snapshot });
    return true;
  }

  private bcastHeartbeat(): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit, round: this.leaderReads.lastRound });
    }
  }

  private leaderHandleAppendResponse(from: NodeId, index: number, reject: boolean, hintIndex: number, hintTerm: number): void {
    const pr = this.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    if (reject) {
      let nextProbe = hintIndex;
      if (hintTerm > 0) nextProbe = this.log.findConflictByTerm(hintIndex, hintTerm).index;
      if (pr.maybeDecrTo(index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppends(from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppends(from);
      return;
    }
    switch (pr.state) {
      case 'probe':
        pr.becomeReplicate();
        break;
      case 'snapshot':
        if (pr.match >= pr.pendingSnapshot) {
          pr.becomeProbe();
          pr.becomeReplicate();
        }
        break;
      case 'replicate':
        pr.inflights.freeLE(index);
        break;
    }
    this.maybeCommit();
    if (this.role !== 'leader') return; // the commit applied nothing yet, but stay defensive
    if (pr.next <= this.log.lastIndex()) this.sendAppends(from);
    if (from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(from);
  }

  private leaderHandleHeartbeatResponse(from: NodeId, round: number): void {
    const pr = this.progress.get(from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppends(from);
    if (round > pr.readRound) {
      pr.readRound = round;
      this.advanceReadRounds();
    }
  }

  /** Commits what a majority holds durably, if it is from this term (Raft paper, section 5.4.2). */
  private maybeCommit(): boolean {
    const index = majorityValue(this.voters, (id) => this.progress.get(id)?.match ?? 0);
    if (index <= this.log.committed || !Number.isFinite(index)) return false;
    if (this.log.term(index) !== this.term) return false;
    const before = this.log.committed;
    this.log.commitTo(index);
    for (let i = before + 1; i <= index; i++) {
      const e = this.log.entry(i);
      if (e) this.uncommittedBytes -= entryBytes(e);
    }
    if (this.uncommittedBytes < 0) this.uncommittedBytes = 0;
    if (!this.committedInTerm) {
      this.committedInTerm = true;
      // reads that waited for the leader to know its commit index can go now
      this.leaderReads.commitKnown();
    }
    return true;
  }

  /** Whether some follower could commit more than it was last told. */
  private commitToTell(): boolean {
    for (const [id, pr] of this.progress) {
      if (id !== this.id && this.commitNewsFor(pr)) return true;
    }
    return false;
  }

  /** A follower can use a commit index only up to its match; tell it when that moved past what it was told. */
  private commitNewsFor(pr: Progress): boolean {
    // anchored at match, so match must still be in the log (a compacted one gets the commit with its next append)
    return pr.state !== 'snapshot' && pr.commitSent < Math.min(this.log.committed, pr.match) && pr.match >= this.log.snapshotIndex;
  }

  /**
   * An empty append anchored at the follower's match point, carrying only the commit index. Anchored at match (not
   * at the optimistic next) it cannot be rejected because earlier appends are still on their way, and it leaves
   * flow control alone.
   */
  private sendCommit(to: NodeId, pr: Progress): void {
    const logTerm = this.log.term(pr.match);
    assert(logTerm !== undefined, 'commitNewsFor checked that match is in the log');
    const commit = this.log.committed;
    this.send({ type: 'app', from: this.id, to, term: this.term, index: pr.match, logTerm, entries: [], commit });
    pr.commitSent = commit;
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  private startTransfer(transferee: NodeId): void {
    if (transferee === this.id) return; // already leader
    if (!this.voters.includes(transferee)) return; // only a voter can lead
    if (this.leadTransferee === transferee) return;
    this.leadTransferee = transferee;
    // the transfer must finish within an election timeout, or it is abandoned
    this.electionElapsed = 0;
    const pr = this.progress.get(transferee);
    if (!pr) return;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppends(transferee);
  }

  // =====================================================================================================
  // ReadIndex
  // =====================================================================================================

  private leaderRead(r: ReadRequest): void {
    this.leaderReads.add(r, this.committedInTerm);
  }

  private handleForwardedRead(m: ReadIndexRequest): void {
    if (this.role !== 'leader' || this.leaderReads.pending >= raftLimits.pendingReadsMax) {
      this.send({ type: 'readIndexResp', from: this.id, to: m.from, term: 0, token: m.token, index: 0, reject: true });
      return;
    }
    this.leaderRead({ from: m.from, token: m.token });
  }

  private releaseRead(r: ReadRequest, index: number): void {
    if (r.from === this.id) this.readStates.push({ token: r.token, index });
    else this.send({ type: 'readIndexResp', from: this.id, to: r.from, term: 0, token: r.token, index, reject: false });
  }

  /** Releases every round acknowledged (directly or by a later round) by a majority of voters. */
  private advanceReadRounds(): void {
    const reads = this.leaderReads;
    if (!reads.hasRounds()) return;
    const acked = majorityValue(this.voters, (id) => (id === this.id ? reads.lastRound : (this.progress.get(id)?.readRound ?? 0)));
    for (const round of reads.release(acked)) for (const r of round.requests) this.releaseRead(r, round.index);
  }

  /** Starts one heartbeat round for every read registered since the last round; forwards a follower's reads. */
  private flushReads(): void {
    const forwarded = this.forwardedReads;
    if (this.role === 'leader') {
      // reads that waited to be forwarded when this member became leader are served here
      for (const token of forwarded.takeUnsent()) this.leaderRead({ from: this.id, token });
      if (!this.leaderReads.hasUnsent()) return;
      const index = this.log.committed;
      if (this.voters.length === 1 && this.voters[0] === this.id) {
        for (const r of this.leaderReads.takeUnsent()) this.releaseRead(r, index); // nobody to confirm with
        return;
      }
      this.leaderReads.startRound(index);
      this.bcastHeartbeat();
      this.heartbeatElapsed = 0;
      return;
    }
    for (const token of forwarded.dropStale(this.lead, this.term)) this.readsFailed.push(token);
    if (forwarded.unsentCount() === 0) return;
    const tokens = forwarded.takeUnsent();
    if (this.lead === '' || forwarded.waitingCount() >= raftLimits.forwardedReadRoundsMax) {
      for (const t of tokens) this.readsFailed.push(t);
      return;
    }
    const batch = forwarded.forward(tokens, this.lead, this.term);
    this.send({ type: 'readIndex', from: this.id, to: this.lead, term: 0, token: batch });
  }

  // =====================================================================================================
  // Ready assembly
  // =====================================================================================================

  /** Work deferred to the end of a batch of inputs, so many proposals or reads cost one round of messages. */
  private flush(): void {
    if (this.role === 'leader') {
      if (this.appendPending) {
        this.appendPending = false;
        this.bcastAppend();
      }
      // followers that got no entries still need the new commit index, to apply
      for (const [id, pr] of this.progress) {
        if (id !== this.id && this.commitNewsFor(pr)) this.sendCommit(id, pr);
      }
    } else {
      this.appendPending = false;
    }
    this.flushReads();
  }

  private canHandOutCommitted(): boolean {
    return this.log.applying < this.log.applicableTo() && this.applyingBytes < this.applyingBytesMax;
  }

  /** Durable committed entries for the appliers, applying membership changes on the way. */
  private handOutCommitted(): Entry[] {
    if (!this.canHandOutCommitted()) return [];
    const hi = this.log.applicableTo();
    const lo = this.log.applying + 1;
    const { entries, bytes } = this.log.sliceBytes(lo, hi + 1, Math.min(this.committedBytesPerReadyMax, this.applyingBytesMax - this.applyingBytes));
    this.applyingBytes += bytes;
    for (const e of entries) {
      this.log.applying = e.index;
      if (e.type === EntryType.ConfChange) this.applyConfEntry(e);
    }
    return entries;
  }

  private applyConfEntry(e: Entry): void {
    const change = decodeConfChange(e.data);
    const check = applyConfChange(this.conf, change);
    if (!check.ok) {
      this.confOutcomes.push({ index: e.index, change, applied: false, reason: check.reason, confState: cloneConfState(this.conf) });
      return;
    }
    const before = this.conf;
    this.conf = check.confState;
    this.setVoters();
    this.confHistory.push({ index: e.index, conf: this.conf });
    this.confOutcomes.push({ index: e.index, change, applied: true, confState: cloneConfState(this.conf) });
    if (this.role !== 'leader') return;
    // keep the progress map in step with the configuration
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      const pr = this.progress.get(id);
      if (!pr) this.addProgress(id, true);
      else pr.learner = this.conf.learners.includes(id);
    }
    for (const id of [...this.progress.keys()]) {
      if (!this.conf.voters.includes(id) && !this.conf.learners.includes(id)) {
        this.progress.delete(id);
        if (this.leadTransferee === id) this.leadTransferee = '';
      }
    }
    if (!this.conf.voters.includes(this.id)) {
      // We removed ourselves. Hand over to the most caught-up voter if one has everything, then step down.
      let best: NodeId | '' = '';
      for (const id of this.conf.voters) {
        const pr = this.progress.get(id);
        if (pr && pr.match === this.log.lastIndex() && (best === '' || id < best)) best = id;
      }
      // make sure the others learn the commit index that includes our removal
      this.bcastCommit();
      if (best !== '') this.sendTimeoutNow(best);
      this.becomeFollower(this.term, '');
      return;
    }
    if (before.voters.length !== this.conf.voters.length) {
      this.maybeCommit();
      this.advanceReadRounds();
    }
  }

  private bcastCommit(): void {
    for (const [id, pr] of this.progress) {
      if (id !== this.id && this.commitNewsFor(pr)) this.sendCommit(id, pr);
    }
  }

  private confAt(index: number): ConfState {
    let conf = this.confHistory[0]!.conf;
    for (const h of this.confHistory) {
      if (h.index <= index) conf = h.conf;
      else break;
    }
    return conf;
  }
}
