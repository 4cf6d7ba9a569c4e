// Drives a store and a watch hub the way the actor does (apply, deliver, free history, catch up) and records what
// every watcher receives, so tests can check each watcher's stream against the naive model's events.
import type { Event, WatchCreateRequest } from '../../actors/api/types.js';
import { EventType, WatchFilter } from '../../actors/api/types.js';
import type { InternalOp } from '../../actors/api/internal.js';
import { MvccStore } from '../../actors/mvcc/store.js';
import { WatchHub, type HubOptions, type WatchOutput } from '../../actors/mvcc/watch/hub.js';
import { Model } from './model.js';

export interface Received {
  event: Event;
  /** 'live' when delivered right after its revision was applied, else the compaction revision at catch-up time. */
  catchUpCompact: number | undefined;
}

export interface Tracked {
  streamId: number;
  watchId: number;
  req: WatchCreateRequest;
  start: number;
  received: Received[];
  canceled?: { compactRevision: number | undefined; atRevision: number };
  createdAt: number;
  fragmentsOpen: boolean;
}

export class WatchHarness {
  readonly store = new MvccStore({ clusterId: 'c1', memberId: 'm1' });
  readonly model = new Model('c1', 'm1', true);
  readonly hub: WatchHub;
  readonly watchers = new Map<string, Tracked>();
  /** Every output item, in order, for tests that look at shapes. */
  readonly log: WatchOutput[] = [];
  readonly problems: string[] = [];
  /** The gateway's view of shared recipient sets. */
  readonly sets = new Map<number, { streamIds: number[]; watchIds: number[] }>();
  private pendingCreates: Array<{ streamId: number; req: WatchCreateRequest; start: number }> = [];

  constructor(
    options: HubOptions = {},
    /** History records freed per end of turn (compaction in steps, as the actor does it). */
    private readonly compactBudget = Infinity,
  ) {
    this.hub = new WatchHub(this.store, options);
  }

  apply(op: InternalOp): void {
    this.store.apply(op);
    this.model.apply(op);
  }

  /** End of an actor turn: deliver to synced watchers, free compacted history. */
  endOfTurn(): void {
    this.hub.deliverApplied();
    this.collect(undefined);
    this.store.compactHistory(this.compactBudget);
  }

  syncStep(): boolean {
    this.hub.deliverApplied();
    this.collect(undefined);
    const compact = this.store.compactRevision;
    const more = this.hub.syncStep();
    this.collect(compact);
    return more;
  }

  syncAll(maxSteps = 10_000): void {
    for (let i = 0; i < maxSteps; i++) if (!this.syncStep()) return;
    throw new Error('catch-up did not finish');
  }

  create(streamId: number, req: WatchCreateRequest): void {
    this.hub.deliverApplied();
    this.collect(undefined);
    const start = req.startRevision && req.startRevision !== 0 ? req.startRevision : this.store.revision + 1;
    this.pendingCreates.push({ streamId, req, start });
    this.hub.create(streamId, req);
    this.collect(undefined);
  }

  cancel(streamId: number, watchId: number): void {
    this.hub.cancel(streamId, watchId);
    this.collect(undefined);
    const w = this.watchers.get(`${streamId}/${watchId}`);
    if (w && !w.canceled) this.problems.push(`cancel of ${streamId}/${watchId} was not answered`);
  }

  private collect(catchUpCompact: number | undefined): void {
    for (const item of this.hub.takeOutput()) {
      this.log.push(item);
      if (item.kind === 'response') this.onResponse(item.streamId, item.response);
      else if (item.kind === 'recipients') this.sets.set(item.setId, { streamIds: item.streamIds, watchIds: item.watchIds });
      else if (item.kind === 'forget') {
        if (!this.sets.delete(item.setId)) this.problems.push(`forget of unknown set ${item.setId}`);
      } else {
        // one revision per delivery carries that revision (etcd notifies synced watchers per write); a delivery that
        // spans several (catch-up, or a burst past the split bound) carries the current revision
        const first = item.events[0]?.kv.modRevision ?? this.store.revision;
        const last = item.events.at(-1)?.kv.modRevision ?? this.store.revision;
        const allowed = first === last ? [last, this.store.revision] : [this.store.revision];
        if (!allowed.includes(item.header.revision)) this.problems.push(`events header ${item.header.revision} at ${this.store.revision} for events ${first}..${last}`);
        const to = item.setId !== 0 ? this.sets.get(item.setId) : item;
        if (!to) {
          this.problems.push(`events for unknown set ${item.setId}`);
          continue;
        }
        if (item.setId !== 0 && item.streamIds.length + item.watchIds.length > 0) this.problems.push('set delivery carries recipients too');
        for (let i = 0; i < to.streamIds.length; i++) {
          const w = this.watchers.get(`${to.streamIds[i]}/${to.watchIds[i]}`);
          if (!w) {
            this.problems.push(`events for unknown watcher ${to.streamIds[i]}/${to.watchIds[i]}`);
            continue;
          }
          if (w.canceled) this.problems.push(`events after cancel for ${w.streamId}/${w.watchId}`);
          if (item.events.length === 0 && !w.req.progressNotify) this.problems.push('empty delivery to a watcher without progress notify');
          for (const event of item.events) w.received.push({ event, catchUpCompact });
          w.fragmentsOpen = item.fragment;
        }
      }
    }
  }

  private onResponse(streamId: number, r: import('../../actors/api/types.js').WatchResponse): void {
    if (r.created) {
      const pending = this.pendingCreates.shift();
      if (!pending || pending.streamId !== streamId) {
        this.problems.push(`unexpected created response on stream ${streamId}`);
        return;
      }
      if (r.canceled) return; // refused (duplicate id)
      if (r.header.revision !== this.store.revision) this.problems.push('created header is not the current revision');
      this.watchers.set(`${streamId}/${r.watchId}`, {
        streamId,
        watchId: r.watchId,
        req: pending.req,
        start: pending.start,
        received: [],
        createdAt: this.store.revision,
        fragmentsOpen: false,
      });
      return;
    }
    if (r.canceled) {
      const w = this.watchers.get(`${streamId}/${r.watchId}`);
      if (!w) {
        this.problems.push(`cancel for unknown watcher ${streamId}/${r.watchId}`);
        return;
      }
      if (r.compactRevision !== undefined) {
        if (r.compactRevision !== this.store.compactRevision) this.problems.push(`canceled with ${r.compactRevision}, compaction is ${this.store.compactRevision}`);
        if (r.header.revision !== 0) this.problems.push('compacted cancel carries a revision');
      }
      w.canceled = { compactRevision: r.compactRevision, atRevision: this.store.revision };
    }
  }

  /** Events deliveries with their recipients resolved through the shared sets as they stood at that point. */
  deliveries(from = 0): Array<{ events: Event[]; fragment: boolean; streamIds: number[]; watchIds: number[]; setId: number }> {
    const sets = new Map<number, { streamIds: number[]; watchIds: number[] }>();
    const out: Array<{ events: Event[]; fragment: boolean; streamIds: number[]; watchIds: number[]; setId: number }> = [];
    this.log.forEach((item, at) => {
      if (item.kind === 'recipients') sets.set(item.setId, item);
      else if (item.kind === 'events' && at >= from) {
        const to = item.setId !== 0 ? sets.get(item.setId)! : item;
        out.push({ events: item.events, fragment: item.fragment, streamIds: to.streamIds, watchIds: to.watchIds, setId: item.setId });
      }
    });
    return out;
  }

  /**
   * Checks every watcher's stream against the model: the events of its range from its start revision, in order,
   * none missing or repeated, each with the right prev_kv; a stream cut by compaction must have been behind it.
   */
  verify(): string[] {
    const problems = [...this.problems];
    for (const w of this.watchers.values()) problems.push(...this.verifyOne(w));
    return problems;
  }

  /** True when revision `rev` changes `key` more than once (a put, then a delete of it in the same txn). */
  private deletedLaterIn(rev: number, key: Uint8Array): boolean {
    const k = keyString(key);
    return (this.model.changes.get(rev) ?? []).filter((c) => c.key === k).length > 1;
  }

  private verifyOne(w: Tracked): string[] {
    const name = `watcher ${w.streamId}/${w.watchId} from ${w.start}`;
    const noPut = (w.req.filters ?? []).includes(WatchFilter.NOPUT);
    const noDelete = (w.req.filters ?? []).includes(WatchFilter.NODELETE);
    const received = w.received;
    const lastRev = received.length > 0 ? received[received.length - 1]!.event.kv.modRevision : w.start - 1;
    let end: number;
    if (w.canceled?.compactRevision !== undefined) {
      // canceled by compaction: legitimate only if it still needed a revision below the compaction
      if (!(lastRev + 1 < w.canceled.compactRevision)) return [`${name}: canceled at compaction ${w.canceled.compactRevision} after seeing ${lastRev}`];
      end = lastRev;
    } else if (w.canceled) {
      end = lastRev;
    } else {
      end = this.store.revision;
    }
    const finalCompact = this.store.compactRevision;
    let j = 0;
    for (let rev = Math.max(w.start, 1); rev <= end; rev++) {
      for (const expected of this.model.eventsAt(rev, w.req.key, w.req.rangeEnd, false, -Infinity)) {
        if (expected.type === EventType.PUT ? noPut : noDelete) continue;
        const got = received[j];
        const same = got && got.event.kv.modRevision === rev && got.event.type === expected.type && sameBytes(got.event.kv.key, expected.kv.key);
        if (!same) {
          // compaction drops, at exactly its revision, deletes and puts deleted again in the same txn: a watcher
          // catching up from there does not see them (as in etcd)
          if (rev <= finalCompact && (expected.type === EventType.DELETE || this.deletedLaterIn(rev, expected.kv.key))) continue;
          return [`${name}: expected ${describe(expected)} at position ${j}, got ${got ? describe(got.event) : 'nothing'}`];
        }
        const withPrev = this.model.eventsAt(rev, w.req.key, w.req.rangeEnd, w.req.prevKv === true, got.catchUpCompact ?? -Infinity);
        const full = withPrev.find((e) => e.type === expected.type && sameBytes(e.kv.key, expected.kv.key))!;
        const wanted = w.req.prevKv ? full : { type: full.type, kv: full.kv };
        if (!eventEqual(got.event, wanted)) return [`${name}: event ${describe(got.event)} differs: ${JSON.stringify(shape(got.event))} vs ${JSON.stringify(shape(wanted))}`];
        j++;
      }
    }
    if (j !== received.length) return [`${name}: ${received.length - j} extra events, first ${describe(received[j]!.event)}`];
    if (w.fragmentsOpen) return [`${name}: stream ends inside a fragmented response`];
    return [];
  }
}

function keyString(key: Uint8Array): string {
  return String.fromCharCode(...key);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function describe(e: Event): string {
  return `${e.type === EventType.PUT ? 'PUT' : 'DELETE'} ${String.fromCharCode(...e.kv.key)}@${e.kv.modRevision}`;
}

function shape(e: Event): unknown {
  const kv = (k: Event['kv']) => ({ ...k, key: String.fromCharCode(...k.key), value: String.fromCharCode(...k.value), lease: String(k.lease) });
  return { type: e.type, kv: kv(e.kv), prevKv: e.prevKv ? kv(e.prevKv) : undefined };
}

function eventEqual(a: Event, b: Event): boolean {
  return JSON.stringify(shape(a)) === JSON.stringify(shape(b));
}
