// The watch hub: every watcher of this member, fed from the store's history log. Synchronous and pure; the actor
// shell calls it after each batch of applied entries, at the end of each turn, and on a progress timer.
//
// Watchers live in one of three places (as in etcd's watchable store):
//   - synced: caught up; matched against each applied batch once, as it is applied (deliverApplied);
//   - unsynced: behind (started at an old revision, or resumed); caught up from the history log in bounded steps
//     (syncStep), then moved to synced once they reach the current revision;
//   - victims: their stream is slow or blocked; nothing is sent to them and nothing is held for them, they only
//     remember the next revision they need. When the stream drains they become unsynced and catch up from history,
//     so a slow consumer costs neither writes nor other watchers time or memory. If compaction passes them meanwhile,
//     they are canceled with the compaction revision, as etcd does.
//
// Guarantees, per watcher: events in revision order, none missing, none duplicated; a watcher created at revision r
// after seeing events up to r - 1 gets exactly the rest.
//
// Output is a list of items in the order the gateway must deliver them: control responses for one stream (created,
// canceled, progress) and event deliveries that many watchers share (one events array, one header, and the list of
// (stream, watch id) recipients).
//
// etcd 3.4 behaviours kept here (checked against etcd 3.4.23): watch ids are per stream and an explicit 0 means
// "choose one" (the lowest unused from a counter starting at 0); a duplicate explicit id is answered with watch id -1,
// created and canceled with reason "mvcc: duplicate watch ID provided on the WatchStream" (a range whose end is not
// after its key is refused the same way, first, with "mvcc: watcher range is empty"); canceling an unknown id
// gets no answer; a watch whose start revision is below the compaction (a negative one included) is created and then
// canceled with compact_revision and a header without revision; a progress request is answered with watch id -1 and
// the current revision whether or not the stream's watchers are synced; a periodic progress notification goes only to
// synced watchers that asked for them and were sent no events since the previous one; the delete at exactly the
// compaction revision is not replayed to a watcher catching up from there; a synced watcher gets one response per
// revision with that revision in its header (a catch-up response spans many revisions under the current one).
import { assert } from '../../../runtime/assert.js';
import type { Event, ResponseHeader, WatchCreateRequest, WatchResponse } from '../../api/types.js';
import { EventType, WatchFilter } from '../../api/types.js';
import { KEY_UNBOUNDED, spanOf } from '../keys.js';
import { mvccLimits } from '../limits.js';
import type { MvccStore } from '../store.js';
import { eventFieldBytes, WATCH_RESPONSE_BASE_BYTES } from './proto-size.js';
import { ClassBits, Watcher, WatchIndex, type WatchClass, type WatchGroup } from './watch-index.js';

/**
 * What the gateway must do, in order. An events item goes to every (streamIds[i], watchIds[i]), or, when `setId` is
 * not 0, to the recipients of that shared set: a set is defined (or redefined) by a `recipients` item and dropped by
 * a `forget` item, so a delivery to 100,000 watchers of one prefix carries a set id, not 200,000 numbers.
 */
export type WatchOutput =
  | { kind: 'response'; streamId: number; response: WatchResponse }
  | { kind: 'recipients'; setId: number; streamIds: number[]; watchIds: number[] }
  | { kind: 'forget'; setId: number }
  | {
      kind: 'events';
      header: ResponseHeader;
      events: Event[];
      /** True for every piece of a fragmented response but the last. */
      fragment: boolean;
      /** 0: the recipients are streamIds/watchIds; otherwise the shared set with this id (the arrays are empty). */
      setId: number;
      streamIds: number[];
      watchIds: number[];
    };

export interface HubOptions {
  /** A response at least this large (protobuf bytes) is split for watchers that asked for fragments. */
  fragmentBytes?: number;
  /** History records one catch-up step reads. */
  syncRecordsPerStep?: number;
  /** Revisions one events delivery may span. */
  batchRevisionsMax?: number;
  /** Synced deliveries go one revision per response when a turn's events for a class span at most this many revisions. */
  splitRevisionsMax?: number;
  watchersMax?: number;
  streamsMax?: number;
  /** Classes of at least this many watchers are addressed through a shared recipient set. */
  recipientSetMin?: number;
}

export interface HubStats {
  streams: number;
  synced: number;
  unsynced: number;
  victims: number;
  syncedGroups: number;
}

interface Stream {
  readonly id: number;
  readonly watchers: Map<number, Watcher>;
  nextWatchId: number;
  blocked: boolean;
}

const DUPLICATE_WATCH_ID = 'mvcc: duplicate watch ID provided on the WatchStream';
const EMPTY_RANGE = 'mvcc: watcher range is empty';
const NO_RECIPIENTS: number[] = [];
const TOO_MANY_WATCHERS = 'etcdserver: too many requests';

export class WatchHub {
  private readonly synced = new WatchIndex();
  private readonly unsynced = new WatchIndex();
  private readonly victims = new Set<Watcher>();
  private readonly streams = new Map<number, Stream>();
  private readonly progressWatchers = new Set<Watcher>();
  private output: WatchOutput[] = [];
  private watcherCount = 0;
  /** Next history seq synced watchers have not been matched against. */
  private syncedSeq: number;
  /** Revision up to which synced watchers have been sent everything. */
  private syncedRevision: number;
  private epoch: number;
  private suspended = false;
  /** Progress interval number; a watcher sent events in the current interval gets no periodic notification. */
  private progressInterval = 1;
  private nextSetId = 1;
  private readonly recipientSetMin: number;
  private readonly eventCache: EventCache;

  private readonly fragmentBytes: number;
  private readonly syncRecordsPerStep: number;
  private readonly batchRevisionsMax: number;
  private readonly splitRevisionsMax: number;
  private readonly watchersMax: number;
  private readonly streamsMax: number;

  constructor(
    private readonly store: MvccStore,
    options: HubOptions = {},
  ) {
    this.fragmentBytes = options.fragmentBytes ?? mvccLimits.requestBytesMax + mvccLimits.grpcOverheadBytes;
    this.syncRecordsPerStep = options.syncRecordsPerStep ?? mvccLimits.watchSyncRecordsPerStep;
    this.batchRevisionsMax = options.batchRevisionsMax ?? mvccLimits.watchBatchRevisionsMax;
    this.splitRevisionsMax = options.splitRevisionsMax ?? mvccLimits.watchSplitRevisionsMax;
    this.watchersMax = options.watchersMax ?? mvccLimits.watchersMax;
    this.streamsMax = options.streamsMax ?? mvccLimits.watchStreamsMax;
    this.recipientSetMin = options.recipientSetMin ?? 16;
    this.eventCache = new EventCache(store);
    this.syncedSeq = store.log.endSeq;
    this.syncedRevision = store.revision;
    this.epoch = store.epoch;
  }

  stats(): HubStats {
    return {
      streams: this.streams.size,
      synced: this.synced.size,
      unsynced: this.unsynced.size,
      victims: this.victims.size,
      syncedGroups: this.synced.groupCount(),
    };
  }

  /** Items produced since the last call, in delivery order. */
  takeOutput(): WatchOutput[] {
    const out = this.output;
    this.output = [];
    return out;
  }

  get outputPending(): number {
    return this.output.length;
  }

  /** Unsynced watchers that can make progress now (the actor keeps calling syncStep while this is true). */
  get catchUpPending(): boolean {
    if (this.unsynced.size === 0) return false;
    for (const w of this.unsynced.watchers()) if (w.nextRev <= this.store.revision + 1) return true;
    return false;
  }

  // ------------------------------------------------------------------ client requests

  create(streamId: number, req: WatchCreateRequest): void {
    this.deliverApplied();
    const stream = this.stream(streamId);
    if (!stream) {
      this.respond(streamId, { header: this.header(), watchId: -1, created: true, canceled: true, cancelReason: TOO_MANY_WATCHERS, events: [] });
      return;
    }
    const span = spanOf(req.key ?? new Uint8Array(0), req.rangeEnd);
    if (span.end !== undefined && span.end !== KEY_UNBOUNDED && span.end <= span.start) {
      // etcd refuses a range whose end is not after its key before it looks at the id (none is used up)
      this.respond(streamId, { header: this.header(), watchId: -1, created: true, canceled: true, cancelReason: EMPTY_RANGE, events: [] });
      return;
    }
    let watchId = req.watchId ?? 0;
    if (watchId !== 0 && stream.watchers.has(watchId)) {
      this.respond(streamId, { header: this.header(), watchId: -1, created: true, canceled: true, cancelReason: DUPLICATE_WATCH_ID, events: [] });
      return;
    }
    if (this.watcherCount >= this.watchersMax) {
      this.respond(streamId, { header: this.header(), watchId: -1, created: true, canceled: true, cancelReason: TOO_MANY_WATCHERS, events: [] });
      return;
    }
    if (watchId === 0) {
      while (stream.watchers.has(stream.nextWatchId)) stream.nextWatchId++;
      watchId = stream.nextWatchId++;
    }
    let bits = 0;
    for (const f of req.filters ?? []) {
      if (f === WatchFilter.NOPUT) bits |= ClassBits.NoPut;
      else if (f === WatchFilter.NODELETE) bits |= ClassBits.NoDelete;
    }
    if (req.prevKv) bits |= ClassBits.PrevKv;
    if (req.fragment) bits |= ClassBits.Fragment;
    const start = req.startRevision ?? 0;
    const nextRev = start === 0 ? this.store.revision + 1 : start;
    const w = new Watcher(streamId, watchId, span, bits, req.progressNotify === true, nextRev);
    stream.watchers.set(watchId, w);
    this.watcherCount++;
    if (w.progressNotify) this.progressWatchers.add(w);
    this.respond(streamId, { header: this.header(), watchId, created: true, events: [] });
    if (stream.blocked || this.suspended) {
      w.state = 'victim';
      this.victims.add(w);
    } else if (w.nextRev === this.syncedRevision + 1) this.toSynced(w);
    else this.toUnsynced(w);
  }

  cancel(streamId: number, watchId: number): void {
    const stream = this.streams.get(streamId);
    const w = stream?.watchers.get(watchId);
    if (!stream || !w) return; // etcd answers nothing for an unknown id
    this.detach(w);
    stream.watchers.delete(watchId);
    this.respond(streamId, { header: this.header(), watchId, canceled: true, events: [] });
  }

  /** A client's progress request: the current revision, for watch id -1 (etcd 3.4 answers unconditionally). */
  requestProgress(streamId: number): void {
    this.deliverApplied();
    this.respond(streamId, { header: this.header(), watchId: -1, events: [] });
  }

  /** The client stream ended: its watchers go without a word. */
  closeStream(streamId: number): void {
    const stream = this.streams.get(streamId);
    if (!stream) return;
    for (const w of stream.watchers.values()) this.detach(w);
    this.streams.delete(streamId);
  }

  /**
   * Flow control from the gateway: a blocked stream's watchers become victims (resumed from history later, nothing
   * held for them); a drained stream's victims start catching up.
   */
  setStreamBlocked(streamId: number, blocked: boolean): void {
    const stream = this.stream(streamId);
    if (!stream || stream.blocked === blocked) return;
    stream.blocked = blocked;
    if (blocked) {
      for (const w of stream.watchers.values()) this.makeVictim(w);
    } else if (!this.suspended) {
      for (const w of stream.watchers.values()) if (w.state === 'victim') this.resumeVictim(w);
    }
  }

  /** The gateway as a whole cannot take more (its mailbox is full): every watcher waits as a victim until resumed. */
  setSuspended(suspended: boolean): void {
    if (this.suspended === suspended) return;
    this.suspended = suspended;
    for (const stream of this.streams.values()) {
      for (const w of stream.watchers.values()) {
        if (suspended) this.makeVictim(w);
        else if (!stream.blocked && w.state === 'victim') this.resumeVictim(w);
      }
    }
  }

  get isSuspended(): boolean {
    return this.suspended;
  }

  // ------------------------------------------------------------------ delivery

  /** Matches every record applied since the last call against the synced watchers, once, and emits the events. */
  deliverApplied(): void {
    const store = this.store;
    if (store.epoch !== this.epoch) {
      this.resync();
      return;
    }
    const log = store.log;
    const end = log.endSeq;
    if (this.syncedSeq >= end || this.synced.size === 0) {
      this.syncedSeq = end;
      this.syncedRevision = store.revision;
      return;
    }
    assert(this.syncedSeq >= log.headSeq, 'history freed before it was delivered to synced watchers');
    const pass = this.synced.beginPass();
    const touched: WatchGroup[] = [];
    for (let seq = log.validFrom(this.syncedSeq); seq < end; seq = log.nextSeq(seq)) {
      this.synced.match(store.keyOfRecord(seq).key, seq, pass, touched);
    }
    this.syncedSeq = end;
    this.syncedRevision = store.revision;
    if (touched.length === 0) return;
    const cache = this.eventCache.reset(false);
    const header = this.header();
    const headers = new Map<number, ResponseHeader>();
    for (const group of touched) {
      for (const cls of group.classes) {
        const events = cache.eventsFor(group.matched, group.matchedCount, cls.bits);
        if (events.length === 0) continue;
        cls.lastEventInterval = this.progressInterval;
        const fragment = (cls.bits & ClassBits.Fragment) !== 0;
        const shared = cls.size >= this.recipientSetMin || cls.setId !== 0;
        const setId = shared ? this.sharedSet(cls) : 0;
        const recipients = shared ? undefined : cls.recipients();
        for (const part of this.perRevision(events, header, headers)) {
          this.emitEvents(part.header, part.events, fragment, setId, recipients?.streamIds ?? NO_RECIPIENTS, recipients?.watchIds ?? NO_RECIPIENTS);
        }
      }
    }
  }

  /**
   * A synced delivery cut into one part per revision, each with that revision in its header, as etcd notifies its
   * synced watchers once per write; or the whole delivery under the current header when it spans more than
   * splitRevisionsMax revisions (see mvccLimits.watchSplitRevisionsMax). Headers are shared between classes.
   */
  private perRevision(events: Event[], current: ResponseHeader, headers: Map<number, ResponseHeader>): Array<{ header: ResponseHeader; events: Event[] }> {
    const first = events[0]!.kv.modRevision;
    const last = events[events.length - 1]!.kv.modRevision;
    if (first === last) return [{ header: this.sharedHeader(last, current, headers), events }];
    const parts: Array<{ header: ResponseHeader; events: Event[] }> = [];
    let start = 0;
    for (let i = 1; i <= events.length; i++) {
      if (i < events.length && events[i]!.kv.modRevision === events[start]!.kv.modRevision) continue;
      if (parts.length === this.splitRevisionsMax) return [{ header: current, events }];
      const revision = events[start]!.kv.modRevision;
      parts.push({ header: this.sharedHeader(revision, current, headers), events: events.slice(start, i) });
      start = i;
    }
    return parts;
  }

  private sharedHeader(revision: number, current: ResponseHeader, headers: Map<number, ResponseHeader>): ResponseHeader {
    if (revision === current.revision) return current;
    let header = headers.get(revision);
    if (!header) headers.set(revision, (header = this.header(revision)));
    return header;
  }

  /** The class's shared recipient set, (re)sent to the gateway first if its membership changed since. */
  private sharedSet(cls: WatchClass): number {
    if (cls.setId === 0) cls.setId = this.nextSetId++;
    if (cls.sentVersion !== cls.version) {
      const r = cls.recipients();
      this.output.push({ kind: 'recipients', setId: cls.setId, streamIds: r.streamIds, watchIds: r.watchIds });
      cls.sentVersion = cls.version;
    }
    return cls.setId;
  }

  /**
   * One bounded step of catching up unsynced watchers from history: cancels those whose next revision was compacted,
   * reads up to `syncRecordsPerStep` records (whole revisions, at most `batchRevisionsMax` of them) from the lowest
   * next revision, sends each watcher its part, and moves watchers that reached the current revision to synced.
   * Returns true while more catch-up work can be done now.
   */
  syncStep(): boolean {
    this.deliverApplied();
    if (this.unsynced.size === 0) return false;
    const store = this.store;
    const current = store.revision;
    const compactRev = store.compactRevision;
    let minRev = Infinity;
    const compacted: Watcher[] = [];
    for (const w of this.unsynced.watchers()) {
      if (w.nextRev < compactRev) compacted.push(w);
      else if (w.nextRev <= current && w.nextRev < minRev) minRev = w.nextRev;
    }
    for (const w of compacted) {
      this.detach(w);
      this.streams.get(w.streamId)!.watchers.delete(w.watchId);
      this.respond(w.streamId, { header: this.header(0), watchId: w.watchId, canceled: true, compactRevision: compactRev, events: [] });
    }
    if (minRev !== Infinity) this.catchUp(minRev, current);
    // promote whoever reached the present
    const promote: Watcher[] = [];
    for (const w of this.unsynced.watchers()) if (w.nextRev === this.syncedRevision + 1) promote.push(w);
    for (const w of promote) {
      this.removeFrom(this.unsynced, w);
      this.toSynced(w);
    }
    return this.catchUpPending;
  }

  private catchUp(minRev: number, current: number): void {
    const store = this.store;
    const log = store.log;
    const pass = this.unsynced.beginPass();
    const touched: WatchGroup[] = [];
    let scanned = 0;
    let revisions = 0;
    let lastMain: number | undefined;
    /** Last revision whose records have all been matched. */
    let scanEnd = minRev - 1;
    let seq = log.seekRevision(minRev);
    for (; seq < log.endSeq; seq = log.nextSeq(seq)) {
      const main = store.mainOfRecord(seq);
      if (main !== lastMain) {
        if (lastMain !== undefined) scanEnd = lastMain;
        // stop only between revisions, so no revision is ever split across steps
        if (scanned >= this.syncRecordsPerStep || revisions >= this.batchRevisionsMax) break;
        lastMain = main;
        revisions++;
      }
      scanned++;
      if (store.recordCompactedAway(seq)) continue;
      this.unsynced.match(store.keyOfRecord(seq).key, seq, pass, touched);
    }
    if (seq >= log.endSeq) scanEnd = current;
    if (scanEnd < minRev) return;

    const cache = this.eventCache.reset(true);
    const header = this.header();
    for (const group of touched) {
      for (const cls of group.classes) {
        const events = cache.eventsFor(group.matched, group.matchedCount, cls.bits);
        if (events.length === 0) continue;
        // watchers of this class that are due, grouped by where they resume, so each cohort shares one slice
        const cohorts = new Map<number, Watcher[]>();
        for (const w of cls.watchers) {
          if (w.nextRev > scanEnd) continue;
          const cohort = cohorts.get(w.nextRev);
          if (cohort) cohort.push(w);
          else cohorts.set(w.nextRev, [w]);
        }
        for (const [nextRev, watchers] of cohorts) {
          const from = firstAtOrAfter(events, nextRev);
          const slice = from === 0 ? events : events.slice(from);
          if (slice.length === 0) continue;
          const streamIds = watchers.map((w) => w.streamId);
          const watchIds = watchers.map((w) => w.watchId);
          this.emitEvents(header, slice, (cls.bits & ClassBits.Fragment) !== 0, 0, streamIds, watchIds);
          for (const w of watchers) w.eventsSinceProgress = true;
        }
      }
    }
    for (const w of this.unsynced.watchers()) if (w.nextRev <= scanEnd) w.nextRev = scanEnd + 1;
  }

  /** Periodic progress notification (etcd's progress_notify): synced watchers that asked and got no events lately. */
  progressTick(): void {
    this.deliverApplied();
    const streamIds: number[] = [];
    const watchIds: number[] = [];
    for (const w of this.progressWatchers) {
      if (w.state !== 'synced') continue;
      if (w.eventsSinceProgress || w.cls!.lastEventInterval === this.progressInterval) continue;
      streamIds.push(w.streamId);
      watchIds.push(w.watchId);
    }
    for (const w of this.progressWatchers) w.eventsSinceProgress = false;
    this.progressInterval++;
    if (streamIds.length > 0) this.output.push({ kind: 'events', header: this.header(), events: [], fragment: false, setId: 0, streamIds, watchIds });
  }

  /** The store was replaced by a snapshot: every synced watcher catches up again from the new history. */
  private resync(): void {
    this.epoch = this.store.epoch;
    const moving = [...this.synced.watchers()];
    for (const w of moving) {
      this.removeFrom(this.synced, w);
      w.nextRev = this.syncedRevision + 1;
      w.state = 'unsynced';
      this.unsynced.add(w);
    }
    this.syncedSeq = this.store.log.endSeq;
    this.syncedRevision = this.store.revision;
  }

  // ------------------------------------------------------------------ helpers

  private header(revision: number = this.store.revision): ResponseHeader {
    return this.store.header(revision);
  }

  private respond(streamId: number, response: WatchResponse): void {
    this.output.push({ kind: 'response', streamId, response });
  }

  /** The stream's record, created on first use; undefined when the hub is at its stream limit. */
  private stream(streamId: number): Stream | undefined {
    let stream = this.streams.get(streamId);
    if (!stream) {
      if (this.streams.size >= this.streamsMax) return undefined;
      stream = { id: streamId, watchers: new Map(), nextWatchId: 0, blocked: false };
      this.streams.set(streamId, stream);
    }
    return stream;
  }

  private toSynced(w: Watcher): void {
    w.state = 'synced';
    this.synced.add(w);
  }

  private toUnsynced(w: Watcher): void {
    w.state = 'unsynced';
    this.unsynced.add(w);
  }

  private makeVictim(w: Watcher): void {
    if (w.state === 'victim') return;
    this.leaveIndex(w);
    w.state = 'victim';
    this.victims.add(w);
  }

  private resumeVictim(w: Watcher): void {
    this.victims.delete(w);
    this.toUnsynced(w);
  }

  /** Takes the watcher out of its index, remembering where it must resume. */
  private leaveIndex(w: Watcher): void {
    if (w.state === 'synced') {
      if (w.cls!.lastEventInterval === this.progressInterval) w.eventsSinceProgress = true;
      this.removeFrom(this.synced, w);
      w.nextRev = this.syncedRevision + 1;
    } else if (w.state === 'unsynced') {
      this.removeFrom(this.unsynced, w);
    } else {
      this.victims.delete(w);
    }
  }

  /** Takes a watcher out of an index; a shared recipient set of a class that is now gone is forgotten. */
  private removeFrom(index: WatchIndex, w: Watcher): void {
    const emptied = index.remove(w);
    if (emptied && emptied.setId !== 0) this.output.push({ kind: 'forget', setId: emptied.setId });
  }

  private detach(w: Watcher): void {
    this.leaveIndex(w);
    this.progressWatchers.delete(w);
    this.watcherCount--;
  }

  /** Emits one delivery, split into fragments when asked for and large enough, and into bounded revision spans. */
  private emitEvents(header: ResponseHeader, events: Event[], fragment: boolean, setId: number, streamIds: number[], watchIds: number[]): void {
    for (const span of this.revisionSpans(events)) {
      if (fragment && span.length > 1) {
        const pieces = this.fragments(span);
        for (let i = 0; i < pieces.length; i++) {
          this.output.push({ kind: 'events', header, events: pieces[i]!, fragment: i < pieces.length - 1, setId, streamIds, watchIds });
        }
      } else {
        this.output.push({ kind: 'events', header, events: span, fragment: false, setId, streamIds, watchIds });
      }
    }
  }

  private revisionSpans(events: Event[]): Event[][] {
    if (events.length <= this.batchRevisionsMax) return [events];
    let revisions = 0;
    let last = -1;
    let start = 0;
    const spans: Event[][] = [];
    for (let i = 0; i < events.length; i++) {
      const rev = events[i]!.kv.modRevision;
      if (rev !== last) {
        if (revisions === this.batchRevisionsMax) {
          spans.push(events.slice(start, i));
          start = i;
          revisions = 0;
        }
        revisions++;
        last = rev;
      }
    }
    spans.push(start === 0 ? events : events.slice(start));
    return spans;
  }

  /** etcd's fragmenting: pieces below the limit (a single event may exceed it), all but the last marked fragment. */
  private fragments(events: Event[]): Event[][] {
    let total = WATCH_RESPONSE_BASE_BYTES;
    for (const e of events) total += eventFieldBytes(e);
    if (total < this.fragmentBytes) return [events];
    const pieces: Event[][] = [];
    let piece: Event[] = [];
    let size = WATCH_RESPONSE_BASE_BYTES;
    for (const e of events) {
      const bytes = eventFieldBytes(e);
      if (piece.length > 0 && size + bytes >= this.fragmentBytes) {
        pieces.push(piece);
        piece = [];
        size = WATCH_RESPONSE_BASE_BYTES;
      }
      piece.push(e);
      size += bytes;
    }
    pieces.push(piece);
    return pieces;
  }
}

/** Index of the first event at or after `revision` (events are in revision order). */
function firstAtOrAfter(events: Event[], revision: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (events[mid]!.kv.modRevision < revision) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Builds each record's event once per pass (with and without prev_kv), shared by every class that needs it. One cache
 * object is reused, but its maps are fresh each pass: Map.clear() leaves the old table pointing at the new one, and
 * once one table has been promoted that chain keeps every later pass's events alive through scavenges.
 */
class EventCache {
  private plain = new Map<number, Event>();
  private withPrev = new Map<number, Event>();
  private catchUp = false;

  constructor(private readonly store: MvccStore) {}

  /** Empties the cache for a new pass. */
  reset(catchUp: boolean): this {
    if (this.plain.size > 0) this.plain = new Map();
    if (this.withPrev.size > 0) this.withPrev = new Map();
    this.catchUp = catchUp;
    return this;
  }

  eventsFor(seqs: number[], count: number, bits: number): Event[] {
    const prev = (bits & ClassBits.PrevKv) !== 0;
    const cache = prev ? this.withPrev : this.plain;
    const out: Event[] = [];
    for (let i = 0; i < count; i++) {
      const seq = seqs[i]!;
      let event = cache.get(seq);
      if (!event) {
        event = this.store.eventOf(seq, prev, this.catchUp);
        cache.set(seq, event);
      }
      if (event.type === EventType.PUT ? bits & ClassBits.NoPut : bits & ClassBits.NoDelete) continue;
      out.push(event);
    }
    return out;
  }
}
