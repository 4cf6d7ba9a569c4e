// The mvcc actor: a thin shell over the store and the watch hub. It applies committed entries as they arrive, and at
// the end of each turn delivers the turn's changes to watchers (once), frees compacted history, serves the reads whose
// ReadIndex has been applied, takes one bounded catch-up step for lagging watchers, and sends one message per peer.
//
// Back-pressure: when the responder's mailbox is full, the turn's message waits in a bounded outbox (outcomes and
// read answers are never dropped) and the hub is suspended, turning every watcher into a victim that resumes from
// history once the responder drains, so a stalled gateway costs memory for neither events nor writes.
import { defineActor, type ActorContext, type ActorRef, type Behaviour, type Sender } from '../../runtime/actor.js';
import { assert, AssertionError, assertNever } from '../../runtime/assert.js';
import type { Timer } from '../../runtime/clock.js';
import type { ApplyOutcome } from '../api/internal.js';
import { EtcdError, Errors, etcdError } from '../api/errors.js';
import type { Entry } from '../raft/core/types.js';
import { ImageStreamClosedError } from './errors.js';
import type { ImageRestorer, ImageStream } from './image.js';
import { mvccLimits } from './limits.js';
import type {
  AppliedReport,
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
  /** While a snapshot is being restored, entries and watch requests wait here (the store is half built). */
  private restoring: { restorer: ImageRestorer; held: Entry[][]; heldCount: number; watch: WatchInput[] } | undefined;
  private readonly images = new Map<number, OpenImage>();
  private nextImageId = 1;
  private catchUpTimer: Timer | undefined;
  private readonly timers: Timer[] = [];

  constructor(
    private readonly ctx: ActorContext,
    private readonly config: MvccConfig,
  ) {
    assert(config.memberId && config.responder, 'mvcc needs memberId and responder');
    this.store = new MvccStore({ clusterId: config.clusterId, memberId: config.memberId, leaseTTLMinSeconds: config.leaseTTLMinSeconds ?? 0 });
    this.hub = new WatchHub(this.store, config.watchFragmentBytes !== undefined ? { fragmentBytes: config.watchFragmentBytes } : {});
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
        if (this.restoring) {
          this.restoring.heldCount += message.entries.length;
          assert(this.restoring.heldCount <= mvccLimits.entriesHeldWhileRestoringMax, 'too many entries arrived during a restore');
          this.restoring.held.push(message.entries);
        } else {
          this.apply(message.entries);
        }
        return undefined;
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
        for (const entries of restoring.held) this.apply(entries);
        for (const input of restoring.watch) this.watch(input);
        return { revision: this.store.revision, appliedIndex: this.store.appliedIndex } satisfies RestoreReply;
      }
      default:
        return assertNever(message, 'mvcc message');
    }
  }

  private apply(entries: Entry[]): void {
    // the store answers only the requests this member proposed (memberId from the config)
    this.store.applyEntries(entries, (outcome) => this.results.push(outcome));
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
          const TTL = view.remainingTTL > 0 ? view.remainingTTL : view.grantedTTL;
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
    if (this.results.length > 0 || responderReads.length > 0 || watch.length > 0) {
      this.send(responder, { type: 'mvccOutput', appliedIndex, results: this.results, reads: responderReads, watch });
      this.results = [];
    }
    for (const [sender, reads] of this.readResults) {
      if (sender === responder || reads.length === 0) continue;
      this.send(sender, { type: 'mvccOutput', appliedIndex, results: [], reads, watch: [] });
    }
    this.readResults.clear();
    const raft = this.config.raft;
    if (raft && appliedIndex !== this.reportedAppliedIndex && this.ctx.peers().includes(raft)) {
      // a report that does not fit now is simply superseded by the next one
      if (this.ctx.ref<MvccPeerProtocol>(raft).tell({ type: 'applied', appliedIndex })) this.reportedAppliedIndex = appliedIndex;
    }
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
