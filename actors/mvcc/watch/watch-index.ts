// How the hub finds the watchers an event concerns without looking at every watcher.
//
// Watchers are grouped twice: by what they watch (a group per distinct key or range) and, inside a group, by how they
// want events delivered (a class per combination of NOPUT, NODELETE, prev_kv and fragment). Matching a change costs
// one Map lookup for single-key groups plus one interval-tree search for range groups, whatever the number of
// watchers; the events for a class are built once and shared by every watcher in it, and each class keeps its list
// of recipients ready so a delivery to 100,000 watchers is one shared item, not 100,000.
import { assert } from '../../../runtime/assert.js';
import type { KeySpan } from '../keys.js';
import { IntervalTree } from './interval-tree.js';

export const ClassBits = {
  NoPut: 1,
  NoDelete: 2,
  PrevKv: 4,
  Fragment: 8,
} as const;

export type WatcherState = 'synced' | 'unsynced' | 'victim';

/** Shared by every empty class (never written: add() replaces it). */
const EMPTY_WATCHERS: Watcher[] = [];

export class Watcher {
  state: WatcherState = 'unsynced';
  /** The first revision this watcher has not been sent (meaningful while unsynced or a victim). */
  nextRev: number;
  /** Events were sent since the last progress tick (etcd skips the periodic notification then). */
  eventsSinceProgress = false;
  /** Set while the watcher is in an index: its class, and its position in the class's list. */
  cls: WatchClass | undefined;
  slot = -1;

  constructor(
    readonly streamId: number,
    readonly watchId: number,
    readonly span: KeySpan,
    readonly bits: number,
    readonly progressNotify: boolean,
    nextRev: number,
  ) {
    this.nextRev = nextRev;
  }
}

export interface Recipients {
  streamIds: number[];
  watchIds: number[];
}

export class WatchClass {
  /**
   * Members in no particular order; a watcher's `slot` is its index here (removal swaps the last one in). Lists
   * start as one-element literals: a push onto an empty array reserves 17 slots, most classes hold one watcher.
   */
  watchers: Watcher[] = EMPTY_WATCHERS;
  private recipientsCache: Recipients | undefined;
  /** Bumped on every membership change; the hub resends a shared recipient set when it moved. */
  version = 0;
  /** Recipient set id once this class's recipients have been sent as a shared set (0: never). */
  setId = 0;
  sentVersion = -1;
  /** Progress interval in which this class was last sent events. */
  lastEventInterval = 0;

  constructor(
    readonly group: WatchGroup,
    readonly bits: number,
  ) {}

  get size(): number {
    return this.watchers.length;
  }

  add(w: Watcher): void {
    w.slot = this.watchers.length;
    if (this.watchers === EMPTY_WATCHERS) this.watchers = [w];
    else this.watchers.push(w);
    this.recipientsCache = undefined;
    this.version++;
  }

  delete(w: Watcher): void {
    if (this.watchers.length === 1) {
      this.watchers = EMPTY_WATCHERS;
      w.slot = -1;
      this.recipientsCache = undefined;
      this.version++;
      return;
    }
    const last = this.watchers.pop()!;
    if (last !== w) {
      this.watchers[w.slot] = last;
      last.slot = w.slot;
    }
    w.slot = -1;
    this.recipientsCache = undefined;
    this.version++;
  }

  /** Parallel arrays of (stream, watch id), built once per membership change and shared by every delivery. */
  recipients(): Recipients {
    if (!this.recipientsCache) {
      const streamIds = new Array<number>(this.watchers.length);
      const watchIds = new Array<number>(this.watchers.length);
      for (let i = 0; i < this.watchers.length; i++) {
        streamIds[i] = this.watchers[i]!.streamId;
        watchIds[i] = this.watchers[i]!.watchId;
      }
      this.recipientsCache = { streamIds, watchIds };
    }
    return this.recipientsCache;
  }
}

export class WatchGroup {
  /** At most one class per combination of delivery bits (16), so a short list beats a Map. */
  classes: WatchClass[] = [];
  size = 0;
  /**
   * Scratch for one matching pass: the pass that touched this group last, and the records it matched (the first
   * `matchedCount` entries of `matched`). The list is overwritten in place rather than emptied: emptying an array
   * frees its storage, and a group touched once in a while would then leave a fresh young allocation behind per
   * event that the GC has to promote.
   */
  pass = 0;
  matched: number[] = [];
  matchedCount = 0;

  constructor(
    readonly span: KeySpan,
    readonly id: string,
  ) {}

  classFor(bits: number): WatchClass | undefined {
    for (const cls of this.classes) if (cls.bits === bits) return cls;
    return undefined;
  }
}

function spanId(span: KeySpan): string {
  return span.end === undefined ? span.start : `${span.start.length}:${span.start}\u0100${span.end}`;
}

/** The watchers of one kind (synced or unsynced), findable by key. */
export class WatchIndex {
  private readonly singles = new Map<string, WatchGroup>();
  private readonly rangeGroups = new Map<string, WatchGroup>();
  private readonly ranges = new IntervalTree<WatchGroup>();
  private watcherCount = 0;
  private passCounter = 0;

  get size(): number {
    return this.watcherCount;
  }

  add(w: Watcher): void {
    assert(w.cls === undefined, 'watcher is already indexed');
    const span = w.span;
    let group: WatchGroup | undefined;
    if (span.end === undefined) {
      group = this.singles.get(span.start);
      if (!group) {
        group = new WatchGroup(span, span.start);
        this.singles.set(span.start, group);
      }
    } else {
      const id = spanId(span);
      group = this.rangeGroups.get(id);
      if (!group) {
        group = new WatchGroup(span, id);
        this.rangeGroups.set(id, group);
        // an empty or inverted range matches nothing; it is kept out of the tree
        if (span.end > span.start) this.ranges.insert(span.start, span.end, group);
      }
    }
    let cls = group.classFor(w.bits);
    if (!cls) {
      cls = new WatchClass(group, w.bits);
      if (group.classes.length === 0) group.classes = [cls];
      else group.classes.push(cls);
    }
    cls.add(w);
    group.size++;
    w.cls = cls;
    this.watcherCount++;
  }

  /** Removes the watcher; returns its class when that class is now empty (and gone from the index). */
  remove(w: Watcher): WatchClass | undefined {
    const cls = w.cls;
    assert(cls, 'watcher is not indexed');
    const group = cls.group;
    cls.delete(w);
    let emptied: WatchClass | undefined;
    if (cls.size === 0) {
      group.classes.splice(group.classes.indexOf(cls), 1);
      emptied = cls;
    }
    group.size--;
    if (group.size === 0) {
      const span = group.span;
      if (span.end === undefined) this.singles.delete(span.start);
      else {
        this.rangeGroups.delete(group.id);
        if (span.end > span.start) this.ranges.remove(span.start, span.end);
      }
    }
    w.cls = undefined;
    this.watcherCount--;
    return emptied;
  }

  /** Starts a matching pass: groups touched in it collect matched records in `matched`. */
  beginPass(): number {
    return ++this.passCounter;
  }

  /** Records `seq` (a change to `key`) against every group watching `key`; new groups are appended to `touched`. */
  match(key: string, seq: number, pass: number, touched: WatchGroup[]): void {
    const single = this.singles.get(key);
    if (single) note(single, seq, pass, touched);
    if (this.ranges.size > 0) this.ranges.stab(key, (group) => note(group, seq, pass, touched));
  }

  /** Every watcher in the index (for moves between states). */
  *watchers(): IterableIterator<Watcher> {
    for (const group of this.singles.values()) for (const cls of group.classes) yield* cls.watchers;
    for (const group of this.rangeGroups.values()) for (const cls of group.classes) yield* cls.watchers;
  }

  groupCount(): number {
    return this.singles.size + this.rangeGroups.size;
  }
}

function note(group: WatchGroup, seq: number, pass: number, touched: WatchGroup[]): void {
  if (group.pass !== pass) {
    group.pass = pass;
    // a list grown huge by one big batch is let go
    if (group.matched.length > 4096) group.matched = [];
    group.matchedCount = 0;
    touched.push(group);
  }
  if (group.matchedCount < group.matched.length) group.matched[group.matchedCount] = seq;
  else if (group.matched.length === 0) group.matched = [seq];
  else group.matched.push(seq);
  group.matchedCount++;
}

