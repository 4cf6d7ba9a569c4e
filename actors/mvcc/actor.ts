// The mvcc actor: a thin shell over the store and the watch hub. It applies committed entries as they arrive, and at
// the end of each turn delivers the turn's changes to watchers (once), frees compacted history, serves the reads whose
// ReadIndex has been applied, takes one bounded catch-up step for lagging watchers, and sends one message per peer.
//
// Back-pressure: when the responder's mailbox is full, the turn's message waits in a bounded outbox (outcomes and
// read answers are never dropped) and the hub is suspended, turning every watcher into a victim that resumes from
// history once the responder drains, so a stalled gateway costs memory for neither events nor writes.
import { defineActor, type ActorContext, type ActorRef, type AnyProtocol, type Behaviour, type Sender } from '../../runtime/actor.js';
import { assert, AssertionError, assertNever } from '../../runtime/assert.js';
import type { Timer } from '../../runtime/clock.js';
import type { ApplyOutcome } from '../api/internal.js';
import { EtcdError, Errors, etcdError } from '../api/errors.js';
import type { Entry } from '../raft/core/types.js';
import { ImageStreamClosedError } from './errors.js';
import { ActorUnavailableError } from '../../runtime/errors.js';
import type { ImageRestorer, ImageStream } from './image.js';
import { mvccLimits } from './limits.js';
import type { LeaseEvents, LeaseProtocol } from '../lease/protocol.js';
import type { ApplyBatch } from '../raft/protocol.js';
import type { ConfState } from '../raft/core/types.js';
import type { SnapshotProtocol, SnapshotStreamEvent } from '../snapshot/protocol.js';
import type {
  AppliedReport,
  MembersChanged,
  SnapshotSaveReply,
  HashKVReply,
  ImageOpenReply,
  ImagePullReply,
  MvccConfig,
  MvccInbox,
  MvccOutput,
  MvccPeerProtocol,
  MvccProtocol,
  ReadRequest,
  ReadResult,
  RestoreReply,
  StatusReply,
  WatchInput,
} from './protocol.js';
import { MvccStore } from './store.js';
import { WatchHub } from './watch/hub.js';

const PROGRESS_NOTIFY_INTERVAL_MS_DEFAULT = 10 * 60 * 1000;

interface OpenImage {
  stream: ImageStream;
  lastPullMs: number;
}

export class MvccShell {
  readonly store: MvccStore;
  readonly hub: WatchHub;
  private results: ApplyOutcome[] = [];
  private pendingReads: Array<{ sender: string; read: ReadRequest }> = [];
  private readResults = new Map<string, ReadResult[]>();
  private readonly outbox = new Map<string, Array<MvccOutput | AppliedReport>>();
  private reportedAppliedIndex = 0;
  /** The revision last told to the responder. */
  private reportedRevision = 0;
  /** While a snapshot is being restored, entries and watch requests wait here (the store is half built). */
  private restoring:
    | {
        restorer: ImageRestorer;
        held: Array<{ entries: Entry[]; confState?: ConfState }>;
        heldCount: number;
        watch: WatchInput[];
        readId?: number;
        snapshot?: { index: number; term: number; confState: ConfState };
      }
    | undefined;
  /** The configuration at the applied index (from raft's apply batches), for snapshot metadata. */
  private confState: ConfState = { voters: [], learners: [], votersOutgoing: [] };
  /** Term of the entry at the applied index. */
  private appliedTerm = 0;
  private lastSnapshotIndex = 0;
  /** Size of the last snapshot file, and bytes of entries applied since it (see snapshotDue). */
  private lastSnapshotBytes = 0;
  private logBytesSinceSnapshot = 0;
  private saving: Promise<SnapshotSaveReply> | undefined;
  /** The applied index the save in `saving` covers (at least; the queued one covers what is applied when it starts). */
  private savingIndex = 0;
  private nextSnapshotIo = 1;
  private leaseEvents: LeaseEvents = { type: 'leaseEvents', granted: [], revoked: [], checkpoints: [] };
  private leaseBacklog: LeaseEvents[] = [];
  private readonly images = new Map<number, OpenImage>();
  private nextImageId = 1;
  private catchUpTimer: Timer | undefined;
  private readonly timers: Timer[] = [];

  constructor(
    private readonly ctx: ActorContext,
    private readonly config: MvccConfig,
  ) {
    assert(config.memberId && config.responder, 'mvcc needs memberId and responder');
    this.store = new MvccStore({ clusterId: config.clusterId, memberId: config.memberId, bootId: config.bootId ?? 0, leaseTTLMinSeconds: config.leaseTTLMinSeconds ?? 0 });
    this.hub = new WatchHub(this.store, config.watchFragmentBytes !== undefined ? { fragmentBytes: config.watchFragmentBytes } : {});
    if (config.lease) {
      const events = () => this.leaseEvents;
      this.store.leaseListener = {
        granted: (ID, TTL) => void events().granted.push({ ID, TTL }),
        revoked: (ID) => void events().revoked.push(ID),
        checkpointed: (ID, remainingMs) => void events().checkpoints.push({ ID, remainingMs }),
      };
    }
    this.timers.push(
      ctx.clock.setInterval(config.progressNotifyIntervalMs ?? PROGRESS_NOTIFY_INTERVAL_MS_DEFAULT, () => {
        if (this.restoring) return;
        this.hub.progressTick();
        this.pump();
      }),
      ctx.clock.setInterval(mvccLimits.imageStreamIdleMs / 4, () => this.closeIdleImages()),
    );
  }

  receive(message: MvccInbox, sender: Sender): unknown {
    switch (message.type) {
      case 'committed':
        this.onApply({ type: 'apply', entries: message.entries });
        return undefined;
      case 'apply':
        this.onApply(message);
        return undefined;
      case 'snapshotChunk':
      case 'snapshotEnd':
      case 'snapshotReadFailed':
        this.onSnapshotStream(message);
        return undefined;
      case 'saveSnapshot':
        return this.saveSnapshot();
      case 'term':
        this.store.raftTerm = Math.max(this.store.raftTerm, message.term);
        return undefined;
      case 'read':
        for (const read of message.reads) {
          if (this.pendingReads.length >= mvccLimits.readsPendingMax) {
            this.readResultsFor(sender.name).push({ id: read.id, error: errorBody(etcdError(Errors.tooManyRequests)) });
          } else {
            this.pendingReads.push({ sender: sender.name, read });
          }
        }
        return undefined;
      case 'watch':
        if (this.restoring) {
          this.restoring.watch.push(...message.requests);
          assert(this.restoring.watch.length <= mvccLimits.entriesHeldWhileRestoringMax, 'too many watch requests arrived during a restore');
        } else {
          for (const input of message.requests) this.watch(input);
        }
        return undefined;
      case 'hashKV': {
        const { hash, compactRevision, revision } = this.store.hashKV(message.revision);
        return { hash, compactRevision, revision } satisfies HashKVReply;
      }
      case 'status':
        return this.status();
      case 'leases':
        return this.store.leaseTable();
      case 'imageOpen':
        return this.openImage();
      case 'imagePull':
        return this.pullImage(message.streamId, message.maxChunks);
      case 'imageClose':
        this.closeImage(message.streamId);
        return undefined;
      case 'restoreBegin':
        assert(!this.restoring, 'restore begun twice');
        for (const id of [...this.images.keys()]) this.closeImage(id);
        this.restoring = { restorer: this.store.restorer(), held: [], heldCount: 0, watch: [] };
        return null;
      case 'restoreChunks': {
        assert(this.restoring, 'restore chunks without restoreBegin');
        for (const chunk of message.chunks) this.restoring.restorer.push(chunk);
        return null;
      }
      case 'restoreEnd': {
        const restoring = this.restoring;
        assert(restoring, 'restoreEnd without restoreBegin');
        restoring.restorer.finish();
        this.restoring = undefined;
        this.afterRestore(restoring.held, restoring.watch);
        return { revision: this.store.revision, appliedIndex: this.store.appliedIndex } satisfies RestoreReply;
      }
      default:
        return assertNever(message, 'mvcc message');
    }
  }

  private apply(entries: Entry[]): void {
    // the store answers only the requests this member proposed (memberId from the config)
    this.store.applyEntries(entries, (outcome) => this.results.push(outcome));
    for (const entry of entries) this.logBytesSinceSnapshot += entry.data.length;
    const last = entries[entries.length - 1];
    if (last && last.index <= this.store.appliedIndex) this.appliedTerm = last.term;
  }

  /** A batch from raft: restore from its snapshot first (when it has one), then apply its entries (or hold them). */
  private onApply(batch: ApplyBatch): void {
    if (batch.snapshot) this.beginRestore(batch.snapshot);
    if (this.restoring) {
      this.restoring.heldCount += batch.entries.length;
      assert(this.restoring.heldCount <= mvccLimits.entriesHeldWhileRestoringMax, 'too many entries arrived during a restore');
      this.restoring.held.push(batch.confState ? { entries: batch.entries, confState: batch.confState } : { entries: batch.entries });
      return;
    }
    this.apply(batch.entries);
    if (batch.confState) this.confState = batch.confState;
  }

  /** Streams the snapshot file at (term, index) from the snapshot actor into a fresh store. */
  private beginRestore(snapshot: { index: number; term: number; confState: ConfState }): void {
    if (!this.restoring && snapshot.index === this.store.appliedIndex && snapshot.index > 0) {
      // already there (a restart that replays nothing new)
      this.confState = snapshot.confState;
      this.appliedTerm = snapshot.term;
      return;
    }
    assert(this.config.snapshot, 'raft asked for a snapshot restore but no snapshot actor is configured');
    const snapshots = this.ctx.ref<SnapshotProtocol>(this.config.snapshot);
    if (this.restoring?.readId !== undefined) snapshots.tell({ type: 'cancelRead', readId: this.restoring.readId });
    for (const id of [...this.images.keys()]) this.closeImage(id);
    const readId = this.nextSnapshotIo++;
    this.restoring = { restorer: this.store.restorer(), held: [], heldCount: 0, watch: [], readId, snapshot };
    this.ctx.log.info('restoring the state from a snapshot', { index: snapshot.index, term: snapshot.term });
    snapshots.tell({ type: 'read', readId, term: snapshot.term, index: snapshot.index, windowChunks: mvccLimits.restoreWindowChunks });
  }

  private onSnapshotStream(event: SnapshotStreamEvent): void {
    const restoring = this.restoring;
    if (!restoring || restoring.readId !== event.readId) return; // a read that was replaced by a newer snapshot
    switch (event.type) {
      case 'snapshotChunk':
        restoring.restorer.push(event.bytes);
        this.ctx.ref<SnapshotProtocol>(this.config.snapshot!).tell({ type: 'credit', readId: event.readId, chunks: 1 });
        return;
      case 'snapshotEnd': {
        restoring.restorer.finish();
        this.restoring = undefined;
        const snapshot = restoring.snapshot!;
        assert(this.store.appliedIndex === snapshot.index, `snapshot at ${snapshot.index} restored the state at ${this.store.appliedIndex}`);
        this.confState = snapshot.confState;
        this.appliedTerm = snapshot.term;
        this.lastSnapshotIndex = snapshot.index;
        this.ctx.log.info('restored the state from a snapshot', { index: snapshot.index, revision: this.store.revision });
        this.afterRestore(restoring.held, restoring.watch);
        return;
      }
      case 'snapshotReadFailed':
        this.ctx.fail(new Error(`cannot restore the snapshot at index ${restoring.snapshot?.index}: ${event.error}${event.file ? ` (${event.file} at offset ${event.offset})` : ''}`));
        return;
      default:
        assertNever(event, 'snapshot stream event');
    }
  }

  /** After a restore: the lease actor learns the whole table again, then the held batches apply in order. */
  private afterRestore(held: Array<{ entries: Entry[]; confState?: ConfState }>, watch: WatchInput[]): void {
    if (this.config.lease) {
      const reset = this.store.leaseTable().map((l) => ({ ID: l.ID, TTL: l.grantedTTL, remainingMs: l.remainingMs }));
      this.leaseEvents = { type: 'leaseEvents', granted: [], revoked: [], checkpoints: [], reset };
    }
    for (const batch of held) {
      this.apply(batch.entries);
      if (batch.confState) this.confState = batch.confState;
    }
    for (const input of watch) this.watch(input);
    this.scheduleCatchUp();
  }

  /**
   * A snapshot is due after --snapshot-count entries, and once the log since the last snapshot holds at least half as
   * many bytes as that snapshot did. The state lives in memory, so every snapshot writes the whole image: without the
   * second rule a large state written to at a high rate would spend more disk and CPU on images than on the log.
   * Replaying the log at a restart stays proportional to the size of the state.
   */
  private snapshotDue(): boolean {
    const every = this.config.snapshotCount ?? 0;
    if (every <= 0 || !this.config.snapshot || this.saving) return false;
    if (this.store.appliedIndex - this.lastSnapshotIndex < every) return false;
    return this.logBytesSinceSnapshot >= this.lastSnapshotBytes * mvccLimits.snapshotLogToImageRatio;
  }

  /**
   * Writes a snapshot of the current state through the snapshot actor. A request shares a save in progress when that
   * one covers everything applied so far; otherwise (a defragment asked for after more writes) it waits for that save
   * and writes another, so what it gets holds every write answered before it asked.
   */
  saveSnapshot(): Promise<SnapshotSaveReply> {
    const wanted = this.store.appliedIndex;
    if (this.saving && this.savingIndex >= wanted) return this.saving;
    const previous = this.saving;
    const save = (async () => {
      if (previous) await previous.catch(() => undefined);
      this.savingIndex = this.store.appliedIndex;
      return this.writeSnapshot();
    })().finally(() => {
      if (this.saving === save) this.saving = undefined;
    });
    this.saving = save;
    this.savingIndex = previous ? Number.MAX_SAFE_INTEGER : wanted;
    return save;
  }

  private async writeSnapshot(): Promise<SnapshotSaveReply> {
    assert(this.config.snapshot, 'no snapshot actor is configured');
    assert(!this.restoring, 'cannot save a snapshot during a restore');
    const snapshots = this.ctx.ref<SnapshotProtocol>(this.config.snapshot);
    const stream = this.store.image();
    const index = stream.appliedIndex;
    const term = this.appliedTerm;
    const writeId = this.nextSnapshotIo++;
    snapshots.tell({ type: 'begin', writeId, metadata: { index, term, confState: this.confState } });
    try {
      let chunks = 0;
      for (let next = stream.next(); !next.done; next = stream.next()) {
        chunks++;
        // an ask now and then bounds how far ahead of the disk we run, and lets applies go on in between
        if (chunks % mvccLimits.snapshotChunksPerAsk === 0) await snapshots.ask({ type: 'chunk', writeId, bytes: next.value }, { timeoutMs: 120_000 });
        else
          while (!snapshots.tell({ type: 'chunk', writeId, bytes: next.value })) {
            if (snapshots.gone()) throw new ActorUnavailableError(this.config.snapshot, 'gone while a snapshot was being written');
            await snapshots.whenWritable();
          }
      }
      const committed = await snapshots.ask({ type: 'commit', writeId }, { timeoutMs: 600_000 });
      this.lastSnapshotIndex = Math.max(this.lastSnapshotIndex, index);
      this.lastSnapshotBytes = committed.bytes;
      this.logBytesSinceSnapshot = 0;
      if (this.config.raft) this.ctx.ref<AnyProtocol>(this.config.raft).tell({ type: 'snapshotSaved', index } as never);
      void snapshots.ask({ type: 'prune' }).catch((error: unknown) => this.ctx.log.warn('could not prune old snapshots', { error }));
      this.ctx.log.info('saved a snapshot', { index, term, bytes: committed.bytes });
      return { path: committed.path, index, term, bytes: committed.bytes };
    } catch (error) {
      snapshots.tell({ type: 'abort', writeId });
      throw error;
    } finally {
      stream.close();
    }
  }

  private watch(input: WatchInput): void {
    switch (input.type) {
      case 'create':
        this.hub.create(input.streamId, input.req);
        return;
      case 'cancel':
        this.hub.cancel(input.streamId, input.watchId);
        return;
      case 'progress':
        this.hub.requestProgress(input.streamId);
        return;
      case 'close':
        this.hub.closeStream(input.streamId);
        return;
      case 'flow':
        this.hub.setStreamBlocked(input.streamId, input.blocked);
        return;
      default:
        assertNever(input, 'watch input');
    }
  }

  /** End of turn: deliver, free, serve, catch up, send. */
  pump(): void {
    if (!this.restoring) {
      this.hub.deliverApplied();
      this.store.compactHistory(mvccLimits.compactionRecordsPerStep);
      this.serveReads();
      const catchingUp = this.hub.syncStep();
      if (catchingUp || (this.store.compactionPending && this.store.imageStreamsOpen === 0)) this.scheduleCatchUp();
      if (this.snapshotDue()) {
        void this.saveSnapshot().catch((error: unknown) => this.ctx.log.error('saving a snapshot failed', { error: error instanceof Error ? error.message : String(error) }));
      }
    }
    this.flush();
  }

  /** Continues unfinished background work (watcher catch-up, physical compaction) in a later turn. */
  private scheduleCatchUp(): void {
    if (this.catchUpTimer) return;
    this.catchUpTimer = this.ctx.clock.setTimer(0, () => {
      this.catchUpTimer = undefined;
      this.pump();
    });
  }

  private serveReads(): void {
    if (this.pendingReads.length === 0) return;
    const applied = this.store.appliedIndex;
    const waiting: Array<{ sender: string; read: ReadRequest }> = [];
    for (const pending of this.pendingReads) {
      if (pending.read.minAppliedIndex > applied) waiting.push(pending);
      else this.readResultsFor(pending.sender).push(this.read(pending.read));
    }
    this.pendingReads = waiting;
  }

  private read(read: ReadRequest): ReadResult {
    try {
      const op = read.op;
      switch (op.type) {
        case 'range':
          return { id: read.id, response: this.store.range(op.req) };
        case 'txn':
          return { id: read.id, response: this.store.readTxn(op.req) };
        case 'leaseTimeToLive': {
          const view = this.store.leaseTimeToLive(BigInt(op.req.ID));
          const header = this.store.header();
          if (!view) return { id: read.id, response: { header, ID: BigInt(op.req.ID), TTL: -1, grantedTTL: 0 } };
          // the replicated state knows the granted TTL and the newest checkpoint; the lease actor knows the clock
          const TTL = view.remainingMs > 0 ? Math.floor(view.remainingMs / 1000) : view.grantedTTL;
          const response = { header, ID: view.ID, TTL, grantedTTL: view.grantedTTL, ...(op.req.keys ? { keys: view.keys } : {}) };
          return { id: read.id, response };
        }
        case 'leaseLeases':
          return { id: read.id, response: { header: this.store.header(), leases: this.store.leaseList().map((ID) => ({ ID })) } };
        default:
          return assertNever(op, 'read op');
      }
    } catch (error) {
      if (error instanceof EtcdError) return { id: read.id, error: errorBody(error) };
      throw error;
    }
  }

  private readResultsFor(sender: string): ReadResult[] {
    let list = this.readResults.get(sender);
    if (!list) {
      list = [];
      this.readResults.set(sender, list);
    }
    return list;
  }

  private flush(): void {
    const responder = this.config.responder;
    const appliedIndex = this.store.appliedIndex;
    const watch = this.hub.takeOutput();
    const responderReads = this.readResults.get(responder) ?? [];
    const revision = this.store.revision;
    if (this.results.length > 0 || responderReads.length > 0 || watch.length > 0 || revision !== this.reportedRevision) {
      this.send(responder, { type: 'mvccOutput', appliedIndex, revision, results: this.results, reads: responderReads, watch });
      this.results = [];
      this.reportedRevision = revision;
    }
    for (const [sender, reads] of this.readResults) {
      if (sender === responder || reads.length === 0) continue;
      this.send(sender, { type: 'mvccOutput', appliedIndex, revision, results: [], reads, watch: [] });
    }
    this.readResults.clear();
    const raft = this.config.raft;
    if (raft && appliedIndex !== this.reportedAppliedIndex && this.ctx.peers().includes(raft)) {
      // a report that does not fit now is simply superseded by the next one
      if (this.ctx.ref<MvccPeerProtocol>(raft).tell({ type: 'applied', index: appliedIndex })) this.reportedAppliedIndex = appliedIndex;
    }
    this.flushLeaseEvents();
    this.flushMembers();
  }

  /** The member table goes to its listeners after every turn that changed it (they want only the newest). */
  private flushMembers(): void {
    if (!this.store.members.changed || this.restoring) return;
    this.store.members.changed = false;
    const message: MembersChanged = { type: 'members', members: this.store.members.list() };
    for (const name of this.config.membersTo ?? []) {
      if (!this.ctx.peers().includes(name)) continue;
      const ref = this.ctx.ref<AnyProtocol>(name);
      if (!ref.tell(message as never)) {
        // try again once there is room: the table is small and only the newest one matters
        this.store.members.changed = true;
        void ref.whenWritable().then(() => this.flushMembers());
      }
    }
  }

  /** Lease events go out in apply order and are never dropped: a full mailbox keeps them in a bounded backlog. */
  private flushLeaseEvents(): void {
    const lease = this.config.lease;
    if (!lease) return;
    const events = this.leaseEvents;
    if (events.granted.length > 0 || events.revoked.length > 0 || events.checkpoints.length > 0 || events.reset) {
      this.leaseEvents = { type: 'leaseEvents', granted: [], revoked: [], checkpoints: [] };
      this.leaseBacklog.push(events);
      assert(this.leaseBacklog.length <= mvccLimits.outboxMessagesMax, 'lease events backlog overflowed');
    }
    if (!this.ctx.peers().includes(lease)) return;
    const ref = this.ctx.ref<LeaseProtocol>(lease);
    while (this.leaseBacklog.length > 0 && ref.tell(this.leaseBacklog[0]!)) this.leaseBacklog.shift();
    if (this.leaseBacklog.length > 0) void ref.whenWritable().then(() => this.flushLeaseEvents());
  }

  private send(to: string, message: MvccOutput): void {
    const queued = this.outbox.get(to);
    if (queued) {
      if (queued.length >= mvccLimits.outboxMessagesMax) throw new AssertionError(`outbox to ${to} overflowed`);
      queued.push(message);
      return;
    }
    if (!this.ctx.peers().includes(to)) {
      this.ctx.log.warn('dropping output for an actor that is not linked', { to });
      return;
    }
    const ref = this.ctx.ref<MvccPeerProtocol>(to);
    if (ref.tell(message)) return;
    this.outbox.set(to, [message]);
    if (to === this.config.responder) this.hub.setSuspended(true);
    void ref.whenWritable().then(() => this.drain(to));
  }

  private drain(to: string): void {
    const queued = this.outbox.get(to);
    if (!queued) return;
    if (!this.ctx.peers().includes(to)) {
      this.outbox.delete(to);
      return;
    }
    const ref: ActorRef<MvccPeerProtocol> = this.ctx.ref<MvccPeerProtocol>(to);
    while (queued.length > 0) {
      if (!ref.tell(queued[0]!)) {
        void ref.whenWritable().then(() => this.drain(to));
        return;
      }
      queued.shift();
    }
    this.outbox.delete(to);
    if (to === this.config.responder) {
      this.hub.setSuspended(false);
      this.scheduleCatchUp();
    }
  }

  private status(): StatusReply {
    const s = this.hub.stats();
    return {
      revision: this.store.revision,
      compactRevision: this.store.compactRevision,
      appliedIndex: this.store.appliedIndex,
      raftTerm: this.store.raftTerm,
      sizeBytes: this.store.sizeBytes,
      keys: this.store.keyCount,
      historyRecords: this.store.log.records,
      watch: { streams: s.streams, synced: s.synced, unsynced: s.unsynced, victims: s.victims },
      alarms: this.store.alarms().map((a) => ({ memberID: a.memberID, alarm: a.alarm })),
    };
  }

  private openImage(): ImageOpenReply {
    assert(!this.restoring, 'image requested during a restore');
    if (this.images.size >= mvccLimits.imageStreamsMax) throw new ImageStreamClosedError('too many image streams open');
    const stream = this.store.image();
    const streamId = this.nextImageId++;
    this.images.set(streamId, { stream, lastPullMs: this.ctx.clock.now() });
    return { streamId, revision: stream.imageRevision, appliedIndex: stream.appliedIndex, raftTerm: this.store.raftTerm };
  }

  private pullImage(streamId: number, maxChunks: number): ImagePullReply {
    const open = this.images.get(streamId);
    if (!open) throw new ImageStreamClosedError(`no image stream ${streamId}`);
    open.lastPullMs = this.ctx.clock.now();
    const chunks: Uint8Array[] = [];
    const want = Math.max(1, Math.min(maxChunks, mvccLimits.imagePullChunksMax));
    while (chunks.length < want) {
      const next = open.stream.next();
      if (next.done) break;
      chunks.push(next.value);
    }
    const done = open.stream.isClosed;
    if (done) this.images.delete(streamId);
    return { chunks, done };
  }

  private closeImage(streamId: number): void {
    const open = this.images.get(streamId);
    if (!open) return;
    open.stream.close();
    this.images.delete(streamId);
    // compaction may have waited for this stream
    this.scheduleCatchUp();
  }

  private closeIdleImages(): void {
    const now = this.ctx.clock.now();
    for (const [id, open] of [...this.images]) {
      if (now - open.lastPullMs >= mvccLimits.imageStreamIdleMs) {
        this.ctx.log.warn('closing an idle image stream', { streamId: id });
        this.closeImage(id);
      }
    }
  }

  stop(): void {
    for (const open of this.images.values()) open.stream.close();
    this.images.clear();
    for (const t of this.timers) t.cancel();
    this.catchUpTimer?.cancel();
    this.catchUpTimer = undefined;
  }
}

function errorBody(error: EtcdError): { code: number; message: string } {
  return { code: error.code, message: error.message };
}

export default defineActor<MvccProtocol, MvccConfig>((ctx, config): Behaviour<MvccInbox> => {
  const shell = new MvccShell(ctx, config);
  return {
    receive: (message, sender) => shell.receive(message, sender),
    endOfTurn: () => shell.pump(),
    stop: () => shell.stop(),
  };
});
