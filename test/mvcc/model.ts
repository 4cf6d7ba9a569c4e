// A deliberately naive model of etcd's KV semantics, for comparison with the real store: it keeps a full copy of the
// key space at every revision and recomputes everything by brute force. Slow and obviously right is the point.
// (Request validation is shared with the store: validate.ts is tested on its own against cases checked on etcd.)
import type { InternalOp } from '../../actors/api/internal.js';
import { Errors } from '../../actors/api/errors.js';
import type {
  Compare,
  DeleteRangeRequest,
  Event,
  KeyValue,
  PutRequest,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
} from '../../actors/api/types.js';
import { CompareResult, CompareTarget, EventType, SortOrder, SortTarget } from '../../actors/api/types.js';
import { bytesToKey, compareBytes, KEY_UNBOUNDED } from '../../actors/mvcc/keys.js';
import { validateDeleteRange, validatePut, validateTxn } from '../../actors/mvcc/validate.js';

export type ModelResult = { response: unknown } | { error: { code: number; message: string } };

type State = Map<string, KeyValue>;

interface Change {
  key: string;
  kv: KeyValue | undefined; // undefined: deleted
}

const err = (spec: { code: number; message: string }): ModelResult => ({ error: { code: spec.code, message: spec.message } });

function copyKv(kv: KeyValue): KeyValue {
  return { ...kv, key: new Uint8Array(kv.key), value: new Uint8Array(kv.value) };
}

function keyBytes(key: string): Uint8Array {
  return Uint8Array.from(key, (c) => c.charCodeAt(0));
}

function inSpan(key: string, start: Uint8Array, end: Uint8Array | undefined): boolean {
  const s = bytesToKey(start);
  if (!end || end.length === 0) return key === s;
  const e = end.length === 1 && end[0] === 0 ? KEY_UNBOUNDED : bytesToKey(end);
  return key >= s && key < e;
}

export class Model {
  revision = 1;
  compactRevision = -1;
  states = new Map<number, State>([[1, new Map()]]);
  changes = new Map<number, Change[]>();
  leases = new Map<bigint, { ttl: number; remaining: number; keys: Set<string> }>();

  constructor(
    readonly clusterId = 'c1',
    readonly memberId = 'm1',
    /** Keep every past state even below the compaction (for checking prev_kv of events delivered long ago). */
    readonly keepAllStates = false,
  ) {}

  header(revision = this.revision): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision, raftTerm: 0 };
  }

  current(): State {
    return this.states.get(this.revision)!;
  }

  stateAt(revision: number): State {
    const state = this.states.get(revision);
    if (!state) throw new Error(`model has no state at ${revision}`);
    return state;
  }

  apply(op: InternalOp): ModelResult {
    switch (op.type) {
      case 'put': {
        const invalid = validatePut(op.req);
        if (invalid) return err(invalid);
        const lease = BigInt(op.req.lease ?? 0n);
        if (lease !== 0n && !this.leases.has(lease)) return err(Errors.leaseNotFound);
        if ((op.req.ignoreValue || op.req.ignoreLease) && !this.current().has(bytesToKey(op.req.key))) return err(Errors.keyNotFound);
        const w = this.begin();
        const prevKv = this.put(w, op.req);
        this.commit(w);
        return { response: prevKv ? { header: this.header(), prevKv } : { header: this.header() } };
      }
      case 'deleteRange': {
        const invalid = validateDeleteRange(op.req);
        if (invalid) return err(invalid);
        const w = this.begin();
        const { deleted, prevKvs } = this.del(w, op.req);
        this.commit(w);
        return { response: { header: this.header(), deleted, prevKvs } };
      }
      case 'txn': {
        const invalid = validateTxn(op.req);
        if (invalid) return err(invalid);
        return this.txn(op.req);
      }
      case 'compaction': {
        const rev = op.req.revision;
        if (rev <= this.compactRevision) return err(Errors.compacted);
        if (rev > this.revision) return err(Errors.futureRevision);
        this.compactRevision = rev;
        if (!this.keepAllStates) for (const r of [...this.states.keys()]) if (r < rev - 1) this.states.delete(r);
        return { response: { header: this.header() } };
      }
      case 'leaseGrant': {
        const id = BigInt(op.req.ID);
        if (this.leases.has(id)) return err(Errors.leaseExists);
        this.leases.set(id, { ttl: op.req.TTL, remaining: 0, keys: new Set() });
        return { response: { header: this.header(), ID: id, TTL: op.req.TTL } };
      }
      case 'leaseRevoke': {
        const id = BigInt(op.req.ID);
        const lease = this.leases.get(id);
        if (!lease) return err(Errors.leaseNotFound);
        this.leases.delete(id);
        const w = this.begin();
        for (const key of [...lease.keys].sort()) this.del(w, { key: keyBytes(key) });
        this.commit(w);
        return { response: { header: this.header() } };
      }
      case 'leaseCheckpoint':
        for (const c of op.checkpoints) {
          const lease = this.leases.get(BigInt(c.ID));
          if (lease) lease.remaining = c.remainingMs;
        }
        return { response: { header: this.header() } };
      case 'alarm':
      case 'memberAttributes':
      case 'memberUpdate':
        throw new Error(`the model does not do ${op.type}`);
    }
  }

  // ---- writes: a working copy of the state and the changes made to it

  private begin(): { state: State; changes: Change[] } {
    return { state: new Map(this.current()), changes: [] };
  }

  private commit(w: { state: State; changes: Change[] }): void {
    if (w.changes.length === 0) return;
    this.revision++;
    this.states.set(this.revision, w.state);
    this.changes.set(this.revision, w.changes);
  }

  private put(w: { state: State; changes: Change[] }, req: PutRequest): KeyValue | undefined {
    const key = bytesToKey(req.key);
    const prev = w.state.get(key);
    const rev = this.revision + 1;
    const lease = req.ignoreLease ? (prev?.lease ?? 0n) : BigInt(req.lease ?? 0n);
    const kv: KeyValue = {
      key: new Uint8Array(req.key),
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      value: req.ignoreValue ? new Uint8Array(prev!.value) : new Uint8Array(req.value ?? new Uint8Array(0)),
      lease,
    };
    if (prev && prev.lease !== 0n) this.leases.get(prev.lease)?.keys.delete(key);
    if (lease !== 0n) this.leases.get(lease)!.keys.add(key);
    w.state.set(key, kv);
    w.changes.push({ key, kv });
    return req.prevKv && prev ? copyKv(prev) : undefined;
  }

  private del(w: { state: State; changes: Change[] }, req: DeleteRangeRequest): { deleted: number; prevKvs: KeyValue[] } {
    const keys = [...w.state.keys()].filter((k) => inSpan(k, req.key, req.rangeEnd)).sort();
    const prevKvs: KeyValue[] = [];
    for (const key of keys) {
      const prev = w.state.get(key)!;
      if (req.prevKv) prevKvs.push(copyKv(prev));
      if (prev.lease !== 0n) this.leases.get(prev.lease)?.keys.delete(key);
      w.state.delete(key);
      w.changes.push({ key, kv: undefined });
    }
    return { deleted: keys.length, prevKvs };
  }

  // ---- txn

  private txn(req: TxnRequest): ModelResult {
    const before = this.current();
    const choose = (t: TxnRequest): boolean => (t.compare ?? []).every((c) => this.compare(before, c));
    // decide every branch on the state before the txn
    const decided = new Map<TxnRequest, boolean>();
    const decide = (t: TxnRequest): void => {
      const ok = choose(t);
      decided.set(t, ok);
      for (const op of (ok ? t.success : t.failure) ?? []) if ('requestTxn' in op) decide(op.requestTxn);
    };
    decide(req);
    const branch = (t: TxnRequest) => (decided.get(t) ? t.success : t.failure) ?? [];
    const isWrite = [...(req.success ?? []), ...(req.failure ?? [])].some((op) => !('requestRange' in op));
    // puts first (key then lease), then ranges, all along the chosen path
    const puts = (t: TxnRequest): ModelResult | undefined => {
      for (const op of branch(t)) {
        if ('requestPut' in op) {
          const p = op.requestPut;
          if ((p.ignoreValue || p.ignoreLease) && !before.has(bytesToKey(p.key))) return err(Errors.keyNotFound);
          const lease = BigInt(p.lease ?? 0n);
          if (lease !== 0n && !this.leases.has(lease)) return err(Errors.leaseNotFound);
        } else if ('requestTxn' in op) {
          const e = puts(op.requestTxn);
          if (e) return e;
        }
      }
      return undefined;
    };
    const ranges = (t: TxnRequest): ModelResult | undefined => {
      for (const op of branch(t)) {
        if ('requestRange' in op) {
          const r = op.requestRange.revision ?? 0;
          if (r === 0) continue;
          if (r > this.revision) return err(Errors.futureRevision);
          if (r < this.compactRevision) return err(Errors.compacted);
        } else if ('requestTxn' in op) {
          const e = ranges(op.requestTxn);
          if (e) return e;
        }
      }
      return undefined;
    };
    if (isWrite) {
      const e = puts(req);
      if (e) return e;
    }
    const e = ranges(req);
    if (e) return e;
    // an ignore_value/ignore_lease put of a key the txn deleted before it (possible only through a from-key delete)
    // has nothing to keep: the txn fails with "key not found" (etcd 3.4.23 panics there instead)
    if (isWrite) {
      const scratch = new Map(before);
      const hits = (t: TxnRequest): boolean =>
        branch(t).some((op) => {
          if ('requestDeleteRange' in op) {
            for (const k of [...scratch.keys()]) if (inSpan(k, op.requestDeleteRange.key, op.requestDeleteRange.rangeEnd)) scratch.delete(k);
            return false;
          }
          if ('requestPut' in op) {
            const p = op.requestPut;
            if ((p.ignoreValue || p.ignoreLease) && !scratch.has(bytesToKey(p.key))) return true;
            scratch.set(bytesToKey(p.key), before.get(bytesToKey(p.key)) ?? ({} as KeyValue));
            return false;
          }
          return 'requestTxn' in op ? hits(op.requestTxn) : false;
        });
      if (hits(req)) return err(Errors.keyNotFound);
    }
    const w = this.begin();
    const viewRev = () => (w.changes.length > 0 ? this.revision + 1 : this.revision);
    const run = (t: TxnRequest): ResponseOp[] =>
      branch(t).map((op: RequestOp): ResponseOp => {
        if ('requestRange' in op) {
          const view = viewRev();
          const result = this.rangeOn(op.requestRange, view, (rev) => (rev === view ? w.state : this.stateAt(rev)));
          if ('error' in result) throw new Error('checked before');
          const response = result.response as RangeResponse;
          response.header = { clusterId: '', memberId: '', revision: view, raftTerm: 0 };
          return { responseRange: response };
        }
        if ('requestPut' in op) {
          const prevKv = this.put(w, op.requestPut);
          const header = { clusterId: '', memberId: '', revision: this.revision + 1, raftTerm: 0 };
          return { responsePut: prevKv ? { header, prevKv } : { header } };
        }
        if ('requestDeleteRange' in op) {
          const { deleted, prevKvs } = this.del(w, op.requestDeleteRange);
          return { responseDeleteRange: { header: { clusterId: '', memberId: '', revision: viewRev(), raftTerm: 0 }, deleted, prevKvs } };
        }
        const nested = op.requestTxn;
        return { responseTxn: { header: { clusterId: '', memberId: '', revision: 0, raftTerm: 0 }, succeeded: decided.get(nested)!, responses: run(nested) } };
      });
    const responses = run(req);
    this.commit(w);
    return { response: { header: this.header(), succeeded: decided.get(req)!, responses } };
  }

  private compare(state: State, c: Compare): boolean {
    const kvs = [...state.entries()].filter(([k]) => inSpan(k, c.key, c.rangeEnd)).map(([, kv]) => kv);
    if (kvs.length === 0) {
      if (c.target === CompareTarget.VALUE) return false;
      kvs.push({ key: new Uint8Array(0), createRevision: 0, modRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n });
    }
    return kvs.every((kv) => {
      let sign: number;
      switch (c.target) {
        case CompareTarget.VERSION:
          sign = Math.sign(kv.version - (c.version ?? 0));
          break;
        case CompareTarget.CREATE:
          sign = Math.sign(kv.createRevision - (c.createRevision ?? 0));
          break;
        case CompareTarget.MOD:
          sign = Math.sign(kv.modRevision - (c.modRevision ?? 0));
          break;
        case CompareTarget.VALUE:
          sign = compareBytes(kv.value, c.value ?? new Uint8Array(0));
          break;
        case CompareTarget.LEASE: {
          const want = BigInt(c.lease ?? 0n);
          sign = kv.lease < want ? -1 : kv.lease > want ? 1 : 0;
          break;
        }
      }
      switch (c.result) {
        case CompareResult.EQUAL:
          return sign === 0;
        case CompareResult.NOT_EQUAL:
          return sign !== 0;
        case CompareResult.GREATER:
          return sign > 0;
        case CompareResult.LESS:
          return sign < 0;
      }
    });
  }

  // ---- reads

  range(req: RangeRequest): ModelResult {
    if (!req.key || req.key.length === 0) return err(Errors.emptyKey);
    return this.rangeOn(req, this.revision, (rev) => this.stateAt(rev));
  }

  private rangeOn(req: RangeRequest, current: number, stateAt: (rev: number) => State): ModelResult {
    let rev = req.revision ?? 0;
    if (rev > current) return err(Errors.futureRevision);
    if (rev <= 0) rev = current;
    if (rev < this.compactRevision) return err(Errors.compacted);
    const state = stateAt(rev);
    let kvs = [...state.entries()]
      .filter(([k]) => inSpan(k, req.key, req.rangeEnd))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, kv]) => kv);
    const count = kvs.length;
    if (req.countOnly) return { response: { header: this.header(current), kvs: [], more: false, count } };
    // etcd reads only limit + 1 keys unless a sort order or a revision filter was asked for, and sorts what it read:
    // a sort target without a sort order sorts just those
    const filteredReq = !!(req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision);
    if ((req.sortOrder ?? SortOrder.NONE) === SortOrder.NONE && !filteredReq && (req.limit ?? 0) > 0) kvs = kvs.slice(0, req.limit! + 1);
    if (req.maxModRevision) kvs = kvs.filter((kv) => kv.modRevision <= req.maxModRevision!);
    if (req.minModRevision) kvs = kvs.filter((kv) => kv.modRevision >= req.minModRevision!);
    if (req.maxCreateRevision) kvs = kvs.filter((kv) => kv.createRevision <= req.maxCreateRevision!);
    if (req.minCreateRevision) kvs = kvs.filter((kv) => kv.createRevision >= req.minCreateRevision!);
    const target = req.sortTarget ?? SortTarget.KEY;
    let order = req.sortOrder ?? SortOrder.NONE;
    if (target !== SortTarget.KEY && order === SortOrder.NONE) order = SortOrder.ASCEND;
    if (order !== SortOrder.NONE) {
      const field = (kv: KeyValue): number | Uint8Array =>
        target === SortTarget.KEY ? kv.key : target === SortTarget.VERSION ? kv.version : target === SortTarget.CREATE ? kv.createRevision : target === SortTarget.MOD ? kv.modRevision : kv.value;
      const cmp = (a: KeyValue, b: KeyValue) => {
        const x = field(a);
        const y = field(b);
        return typeof x === 'number' ? x - (y as number) : compareBytes(x, y as Uint8Array);
      };
      kvs = [...kvs].sort((a, b) => (order === SortOrder.DESCEND ? cmp(b, a) : cmp(a, b)));
    }
    let more = false;
    const limit = req.limit ?? 0;
    if (limit > 0 && kvs.length > limit) {
      kvs = kvs.slice(0, limit);
      more = true;
    }
    const out = kvs.map((kv) => (req.keysOnly ? { ...copyKv(kv), value: new Uint8Array(0) } : copyKv(kv)));
    return { response: { header: this.header(current), kvs: out, more, count } };
  }

  // ---- watch

  /**
   * The events a watcher of [key, rangeEnd) should see at revision `rev`, in order. `prevReadableFrom`: prev_kv is
   * attached only when rev - 1 >= it (a catch-up read after compaction); -Infinity for live delivery.
   */
  eventsAt(rev: number, key: Uint8Array, rangeEnd: Uint8Array | undefined, prevKv: boolean, prevReadableFrom: number): Event[] {
    const out: Event[] = [];
    for (const change of this.changes.get(rev) ?? []) {
      if (!inSpan(change.key, key, rangeEnd)) continue;
      const event: Event = change.kv
        ? { type: EventType.PUT, kv: copyKv(change.kv) }
        : { type: EventType.DELETE, kv: { key: keyBytes(change.key), createRevision: 0, modRevision: rev, version: 0, value: new Uint8Array(0), lease: 0n } };
      if (prevKv && rev - 1 >= prevReadableFrom) {
        const before = this.states.get(rev - 1)?.get(change.key);
        if (before) event.prevKv = copyKv(before);
      }
      out.push(event);
    }
    return out;
  }

  leaseKeys(id: bigint): string[] | undefined {
    const lease = this.leases.get(id);
    return lease ? [...lease.keys].sort() : undefined;
  }
}
