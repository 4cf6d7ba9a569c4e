// An in-process cluster of raft cores for tests: each member has a fake disk (writes become durable only when
// synced; a crash loses what was not synced, or keeps a torn prefix of it), a toy state machine (a hash chain over
// applied entries, so snapshot images can be checked), and an outbox the driver delivers from. The scripted tests
// drive it step by step; the simulator drives it with seeded faults. Every Ready and every message that leaves a
// member goes through the safety checker.
import { assert } from '../../runtime/assert.js';
import { SeededRandom } from '../../runtime/random.js';
import { RaftNode, type RaftBoot, type RaftOptions } from '../../actors/raft/core/raft.js';
import type { RaftMessage } from '../../actors/raft/core/messages.js';
import type { ConfChangeOutcome, ProposalOutcome, ReadState } from '../../actors/raft/core/ready.js';
import { EntryType, type Entry, type HardState, type NodeId, type SnapshotMetadata } from '../../actors/raft/core/types.js';
import { Checker, type DurableView } from './checker.js';

/** The state machine at an index: what a snapshot carries in this harness. */
export interface SnapshotImage {
  index: number;
  hash: number;
}

export interface Envelope {
  from: NodeId;
  to: NodeId;
  message: RaftMessage;
  /** For `snap`: the snapshot data, moved beside the message as the member's snapshot machinery would. */
  image?: SnapshotImage;
}

interface PendingWrite {
  readyId: number;
  entries: Entry[];
  hardState: HardState | undefined;
  snapshot: { meta: SnapshotMetadata; image: SnapshotImage } | undefined;
}

/** A WAL that makes writes durable only when synced. */
export class FakeDisk implements DurableView {
  hardState: HardState = { term: 0, vote: '', commit: 0 };
  snapshot: SnapshotMetadata | undefined;
  snapshotImage: SnapshotImage | undefined;
  /** Durable entries; entries[k].index === base + 1 + k. */
  entries: Entry[] = [];
  base = 0;
  pending: PendingWrite[] = [];
  syncs = 0;

  termAt(index: number): number | undefined {
    if (index <= this.base || index > this.base + this.entries.length) return undefined;
    return this.entries[index - this.base - 1]!.term;
  }

  lastIndex(): number {
    return this.base + this.entries.length;
  }

  /** Applies one write (or only its first `entryLimit` entries and no hard state: a torn write). */
  private apply(w: PendingWrite, entryLimit = Number.POSITIVE_INFINITY): void {
    if (w.snapshot) {
      // an installed snapshot replaces the log: older entries after it belong to a history we left
      this.snapshot = w.snapshot.meta;
      this.snapshotImage = w.snapshot.image;
      this.entries = [];
      this.base = w.snapshot.meta.index;
    }
    const n = Math.min(w.entries.length, entryLimit);
    if (n > 0) {
      const first = w.entries[0]!.index;
      assert(first <= this.lastIndex() + 1, `WAL gap: write at ${first} after ${this.lastIndex()}`);
      assert(first > this.base, `WAL write at ${first} at or below its base ${this.base}`);
      this.entries.length = first - this.base - 1;
      for (let i = 0; i < n; i++) this.entries.push(w.entries[i]!);
    }
    if (w.hardState && entryLimit === Number.POSITIVE_INFINITY) this.hardState = w.hardState;
  }

  /**
   * Makes the first `count` pending writes durable (all by default: a group commit covers what was written before
   * it started, and later writes wait for the next group). Returns the last Ready id made durable, if any.
   */
  sync(count = this.pending.length): number | undefined {
    const n = Math.min(count, this.pending.length);
    if (n === 0) return undefined;
    this.syncs++;
    for (let i = 0; i < n; i++) this.apply(this.pending[i]!);
    const last = this.pending[n - 1]!.readyId;
    this.pending = this.pending.slice(n);
    return last;
  }

  /** Crash: a random prefix of the pending writes reached the disk anyway, possibly ending in a torn write. */
  crash(random: SeededRandom): void {
    const keep = random.int(this.pending.length + 1);
    for (let i = 0; i < keep; i++) this.apply(this.pending[i]!);
    const torn = this.pending[keep];
    if (torn && torn.entries.length > 1 && !torn.snapshot && random.int(2) === 0) this.apply(torn, random.int(torn.entries.length));
    this.pending = [];
  }

  /** Saves a local snapshot (as the snapshot actor would: durable on its own, the log stays). */
  saveSnapshot(meta: SnapshotMetadata, image: SnapshotImage): void {
    this.snapshot = meta;
    this.snapshotImage = image;
  }

  boot(): RaftBoot {
    const snapshotIndex = this.snapshot?.index ?? 0;
    const from = Math.max(0, snapshotIndex - this.base);
    return {
      hardState: { ...this.hardState },
      snapshot: this.snapshot,
      entries: this.entries.slice(from),
    };
  }
}

export function hashEntry(hash: number, e: Entry): number {
  let h = Math.imul(hash ^ e.index, 16777619) >>> 0;
  h = Math.imul(h ^ e.term, 16777619) >>> 0;
  h = Math.imul(h ^ e.type, 16777619) >>> 0;
  const d = e.data;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ d[i]!, 16777619) >>> 0;
  return h;
}

/** A state machine that remembers a hash chain of what it applied. */
export class ToyStateMachine {
  applied = 0;
  hash = 2166136261;
  appliedData = 0;

  apply(e: Entry): void {
    assert(e.index === this.applied + 1, `applying ${e.index} after ${this.applied}`);
    this.applied = e.index;
    this.hash = hashEntry(this.hash, e);
    if (e.type === EntryType.Normal && e.data.length > 0) this.appliedData++;
  }

  image(): SnapshotImage {
    return { index: this.applied, hash: this.hash };
  }

  restore(image: SnapshotImage): void {
    this.applied = image.index;
    this.hash = image.hash;
  }
}

export class SimNode {
  core: RaftNode | undefined;
  readonly disk = new FakeDisk();
  sm = new ToyStateMachine();
  /** Snapshot data received beside a `snap` message, waiting for the core to install it. */
  receivedImage: SnapshotImage | undefined;
  /** Snapshot images this member holds (its own saves and installs), by index. */
  images = new Map<number, SnapshotImage>();
  restarts = 0;
  readonly proposals: ProposalOutcome[] = [];
  readonly readStates: ReadState[] = [];
  readonly readsFailed: number[] = [];
  readonly confChanges: ConfChangeOutcome[] = [];
  applyLog: Entry[] | undefined;

  constructor(readonly id: NodeId) {}

  get alive(): boolean {
    return this.core !== undefined;
  }
}

export interface ClusterOptions {
  ids: NodeId[];
  seed: number;
  raft?: Partial<Omit<RaftOptions, 'id' | 'seed'>>;
  /** Sync every write at once (scripted tests that do not care about durability timing). Default true. */
  autoPersist?: boolean;
  /** Keep every applied entry per member (for assertions). Default false. */
  keepApplied?: boolean;
}

/** Member ids for tests: 16 hex digits each. */
export function nodeIds(n: number): NodeId[] {
  return Array.from({ length: n }, (_, i) => (i + 1).toString(16).padStart(16, '0'));
}

export class Cluster {
  readonly nodes = new Map<NodeId, SimNode>();
  readonly checker = new Checker();
  readonly random: SeededRandom;
  outbox: Envelope[] = [];
  autoPersist: boolean;
  messagesSent = 0;
  private readonly raftOptions: Partial<RaftOptions>;
  private readonly keepApplied: boolean;
  private nextSeed: number;

  constructor(options: ClusterOptions) {
    this.random = new SeededRandom(options.seed);
    this.nextSeed = options.seed;
    this.autoPersist = options.autoPersist ?? true;
    this.raftOptions = options.raft ?? {};
    this.keepApplied = options.keepApplied ?? false;
    for (const id of options.ids) {
      const node = new SimNode(id);
      if (this.keepApplied) node.applyLog = [];
      node.core = RaftNode.bootstrap(this.options(id), options.ids);
      this.nodes.set(id, node);
    }
    for (const id of options.ids) this.process(id);
  }

  private options(id: NodeId): RaftOptions {
    this.nextSeed = (Math.imul(this.nextSeed, 1103515245) + 12345) >>> 0;
    return { ...this.raftOptions, id, seed: this.nextSeed };
  }

  node(id: NodeId): SimNode {
    const n = this.nodes.get(id);
    assert(n, `no member ${id}`);
    return n;
  }

  core(id: NodeId): RaftNode {
    const c = this.node(id).core;
    assert(c, `member ${id} is down`);
    return c;
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()];
  }

  /** The leader with the highest term among live members, if any. */
  leader(): NodeId | undefined {
    let best: RaftNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.core?.role === 'leader' && (!best || n.core.term > best.term)) best = n.core;
    }
    return best?.id;
  }

  /** Acts on every Ready of member `id` until it has none. */
  process(id: NodeId): void {
    const node = this.node(id);
    const core = node.core;
    if (!core) return;
    for (let rounds = 0; core.hasReady(); rounds++) {
      assert(rounds < 10_000, `${id} keeps producing Readies: livelock`);
      const rd = core.ready();
      this.checker.onReady(id, core, rd);
      let snapshotWrite: PendingWrite['snapshot'];
      if (rd.snapshot) {
        const image = node.receivedImage;
        assert(image && image.index === rd.snapshot.index, `${id} installs snapshot ${rd.snapshot.index} without its data`);
        node.receivedImage = undefined;
        node.sm.restore(image);
        node.images.set(image.index, image);
        snapshotWrite = { meta: rd.snapshot, image };
        if (node.applyLog) node.applyLog = [];
      }
      if (rd.snapshot || rd.entries.length > 0 || rd.hardState) {
        node.disk.pending.push({ readyId: rd.id, entries: rd.entries, hardState: rd.hardState, snapshot: snapshotWrite });
      }
      for (const m of rd.messages) {
        this.checker.onSend(id, m, core, node.disk);
        const envelope: Envelope = { from: id, to: m.to, message: m };
        if (m.type === 'snap') {
          const image = node.images.get(m.snapshot.index);
          assert(image, `${id} sends snapshot ${m.snapshot.index} it does not hold`);
          envelope.image = image;
        }
        this.outbox.push(envelope);
        this.messagesSent++;
      }
      if (rd.committedEntries.length > 0) {
        const disk = node.disk;
        for (const e of rd.committedEntries) {
          // the core promises to hand out for applying only what is durable here
          const durable = (disk.snapshot !== undefined && e.index <= disk.snapshot.index) || disk.termAt(e.index) === e.term;
          assert(durable, `${id} hands out entry ${e.index} (term ${e.term}) for applying before it is durable`);
          node.sm.apply(e);
          node.applyLog?.push(e);
        }
        core.applied(node.sm.applied);
      }
      for (const p of rd.proposals) node.proposals.push(p);
      for (const r of rd.readStates) node.readStates.push(r);
      for (const t of rd.readsFailed) node.readsFailed.push(t);
      for (const c of rd.confChanges) node.confChanges.push(c);
      if (this.autoPersist) this.persist(id);
    }
  }

  /** Syncs member `id`'s disk (the first `count` pending writes, or all) and reports it to the core. */
  persist(id: NodeId, count?: number): void {
    const node = this.node(id);
    const last = node.disk.sync(count);
    if (last !== undefined && node.core) {
      node.core.persisted(last);
      if (!this.autoPersist) this.process(id);
    }
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      const core = this.node(id).core;
      if (!core) return;
      core.tick();
      this.process(id);
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const id of this.nodes.keys()) this.tick(id);
  }

  /** Delivers one envelope to its member (if alive) and acts on the result. */
  deliver(envelope: Envelope): void {
    const node = this.nodes.get(envelope.to);
    if (!node?.core) return;
    if (envelope.image) node.receivedImage = envelope.image;
    node.core.step(envelope.message);
    this.process(envelope.to);
  }

  /** Takes everything in the outbox (the driver decides what to deliver). */
  takeOutbox(): Envelope[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /**
   * Delivers messages until none are left (and, without autoPersist, syncs every disk in between), dropping those
   * `drop` says to. Bounded: a livelock fails the test instead of hanging it.
   */
  stabilize(drop: (e: Envelope) => boolean = () => false, roundsMax = 1000): void {
    for (let round = 0; round < roundsMax; round++) {
      if (!this.autoPersist) for (const id of this.nodes.keys()) this.persist(id);
      const batch = this.takeOutbox();
      if (batch.length === 0) {
        this.checker.afterStep(this.nodes.values());
        return;
      }
      for (const e of batch) if (!drop(e)) this.deliver(e);
      this.checker.afterStep(this.nodes.values());
    }
    throw new Error(`cluster did not stabilize within ${roundsMax} rounds`);
  }

  /** Ticks member `id` until it campaigns, then delivers until quiet. Returns the leader. */
  elect(id: NodeId, drop?: (e: Envelope) => boolean): NodeId | undefined {
    const core = this.core(id);
    for (let i = 0; i < 100 && core.role !== 'preCandidate' && core.role !== 'candidate' && core.role !== 'leader'; i++) this.tick(id);
    this.stabilize(drop);
    return this.leader();
  }

  propose(id: NodeId, token: number, payloads: Uint8Array[]): void {
    this.core(id).propose(token, payloads);
    this.process(id);
  }

  crash(id: NodeId): void {
    const node = this.node(id);
    if (!node.core) return;
    node.disk.crash(this.random);
    node.core = undefined;
    node.receivedImage = undefined;
  }

  restart(id: NodeId): void {
    const node = this.node(id);
    assert(!node.core, `${id} is running`);
    node.restarts++;
    const boot = node.disk.boot();
    node.sm = new ToyStateMachine();
    node.images = new Map();
    if (node.disk.snapshot && node.disk.snapshotImage) {
      node.sm.restore(node.disk.snapshotImage);
      node.images.set(node.disk.snapshotImage.index, node.disk.snapshotImage);
    }
    if (node.applyLog) node.applyLog = [];
    node.core = new RaftNode(this.options(id), boot);
    this.checker.onRestart(id, boot.snapshot?.index ?? 0);
    this.process(id);
  }

  /** Adds a member that is not in the configuration yet and has an empty log (it joins through a membership change). */
  addMember(id: NodeId): SimNode {
    assert(!this.nodes.has(id), `${id} exists`);
    const node = new SimNode(id);
    if (this.keepApplied) node.applyLog = [];
    node.core = new RaftNode(this.options(id), { hardState: { term: 0, vote: '', commit: 0 }, entries: [] });
    this.nodes.set(id, node);
    this.checker.onRestart(id, 0);
    return node;
  }

  /** Saves a snapshot of member `id`'s state machine and compacts its log (keeping `keep` entries). */
  compact(id: NodeId, keep = 0): void {
    const node = this.node(id);
    const core = node.core;
    if (!core) return;
    const image = node.sm.image();
    if (image.index <= core.latestSnapshot().index) return;
    core.compact(image.index, keep);
    node.images.set(image.index, image);
    node.disk.saveSnapshot(core.latestSnapshot(), image);
  }
}

/** A payload that identifies a proposal: 8 bytes holding a number. */
export function payload(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, n);
  return b;
}

export function payloadNumber(data: Uint8Array): number | undefined {
  if (data.length !== 8) return undefined;
  return new DataView(data.buffer, data.byteOffset, 8).getFloat64(0);
}
