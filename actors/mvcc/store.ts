// The MVCC store: etcd's key-value state machine, fed by committed raft entries in log order. Synchronous and pure
// (no clock, no I/O): the actor shell in actor.ts drives it and the watch hub reads its history log.
//
// Revisions: the store starts at revision 1. Every write transaction that changes something makes one new main
// revision; its changes get sub-revisions 0, 1, 2, ... in order. Each key carries create_revision, mod_revision,
// version and lease; a delete ends the key's generation (a tombstone record), a later put starts a new one at
// version 1.
//
// Layout (see key-entry.ts for a worked example):
//   - `index` (Map) finds a key's entry in O(1) for puts; `tree` (a B+ tree over the same entries) gives key order
//     for ranges. Both hold every key that has history or a base, including deleted keys not yet compacted away.
//   - `log` (history.ts) holds every record since the last physical compaction in revision order, packed in columns.
//   - compaction is logical at once (reads below it fail) and physical after the batch has been delivered to
//     watchers, in bounded steps (compactHistory), and not while a snapshot image is being streamed (the image must
//     see a frozen history).
//   - only the member that proposed a request needs its response: entries of other members are applied quietly.
//
// Semantics are etcd 3.4's, checked against a running etcd 3.4.23; the points that surprised us are recorded in
// test/mvcc/store.test.ts next to the tests that pin them.
import sortedBTree from 'sorted-btree';
import { assert, AssertionError, assertNever } from '../../runtime/assert.js';
import { decodeInternalRequest } from '../api/entry-codec.js';
import { EtcdError, Errors, etcdError } from '../api/errors.js';
import type { ApplyOutcome, InternalOp, InternalRequest } from '../api/internal.js';
import type {
  Compare,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KeyValue,
  LeaseGrantResponse,
  LeaseRevokeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '../api/types.js';
import { CompareResult, CompareTarget, EventType, SortOrder, SortTarget } from '../api/types.js';
import { EntryType, type Entry } from '../raft/core/types.js';
import { Crc32c } from './crc32c.js';
import { EntryDecodeError } from './errors.js';
import { HistoryLog, RecordFlags, recordValue } from './history.js';
import { ImageRestorer, ImageStream } from './image.js';
import { KeyEntry, NO_LEASE } from './key-entry.js';
import { bytesToKey, bytesToLatin1, compareBytes, keyToBytes, latin1ToBytes, spanOf, type KeySpan } from './keys.js';
import { LeaseTable, type Lease } from './leases.js';
import { MemberTable, type MemberRecord } from './members.js';
import { mvccLimits } from './limits.js';
import { validateDeleteRange, validateLeaseGrant, validatePut, validateRange, validateTxn } from './validate.js';

// sorted-btree is CommonJS: its class is the `default` property of the module object
const BTreeClass = sortedBTree.default;
type KeyTree = InstanceType<typeof BTreeClass<string, KeyEntry>>;

function newKeyTree(): KeyTree {
  return new BTreeClass<string, KeyEntry>(undefined, (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0), 64);
}

/** A key's state at some revision: a history seq (>= 0), its base, or nothing (absent or deleted). */
export type KeyState = number;
export const STATE_BASE: KeyState = -1;
export const STATE_NONE: KeyState = -2;

export type AlarmType = 'NOSPACE' | 'CORRUPT';

export interface LeaseListener {
  granted(id: bigint, ttlSeconds: number): void;
  revoked(id: bigint): void;
  checkpointed(id: bigint, remainingMs: number): void;
}
export interface AlarmMember {
  memberID: string;
  alarm: AlarmType;
}
export interface AlarmResponse {
  header: ResponseHeader;
  alarms: AlarmMember[];
}
export interface LeaseCheckpointResponse {
  header: ResponseHeader;
}

export type StoreResponse =
  | PutResponse
  | DeleteRangeResponse
  | TxnResponse
  | CompactionResponse
  | LeaseGrantResponse
  | LeaseRevokeResponse
  | LeaseCheckpointResponse
  | AlarmResponse;

export type ApplyResult = { response: StoreResponse } | { error: EtcdError };

export interface HashKVResult {
  hash: number;
  compactRevision: number;
  /** The store's current revision when the hash was taken (etcd's header revision). */
  revision: number;
}

export interface LeaseView {
  ID: bigint;
  grantedTTL: number;
  /** Remaining TTL from the newest checkpoint, 0 when none. */
  remainingMs: number;
  keys: Uint8Array[];
}

export interface StoreOptions {
  clusterId?: string;
  memberId?: string;
  /** This member's incarnation (see InternalRequest.boot): only its own requests are answered. */
  bootId?: number;
  /** Grants below this TTL are raised to it (etcd: ceil(1.5 x election timeout)); 0 leaves TTLs alone. */
  leaseTTLMinSeconds?: number;
  txnOpsMax?: number;
}

interface TxnPath {
  succeeded: boolean;
  /** One path per nested txn op of the chosen branch, in op order. */
  nested: TxnPath[];
}

const EMPTY_HEADER_IDS = { clusterId: '', memberId: '' };

/** One shared empty value: a zero-length array has no bytes to change, and allocating one per key costs ~200 B. */
const EMPTY_BYTES = new Uint8Array(0);

function emptyBytes(): Uint8Array {
  return EMPTY_BYTES;
}

/**
 * An integer read from a Float64Array, handed back as a small integer when it fits: V8 then stores it in an object
 * field as is, where a float would make it box that field in every object of the shape (16 more bytes each).
 */
function small(value: number): number {
  return value <= 0x3fffffff ? value | 0 : value;
}

function asLease(value: bigint | number | undefined): bigint {
  if (value === undefined) return NO_LEASE;
  return typeof value === 'bigint' ? value : BigInt(value);
}

export class MvccStore {
  private tree: KeyTree = newKeyTree();
  private index = new Map<string, KeyEntry>();
  private _log = new HistoryLog();
  private leases = new LeaseTable();
  private alarmList: AlarmMember[] = [];

  /** Current main revision. */
  revision = 1;
  /** etcd's compactMainRev: reads below it fail; -1 until the first compaction. */
  compactRevision = -1;
  /** Compaction already carried out on the history (<= compactRevision). */
  private physicalCompactRevision = -1;
  appliedIndex = 0;
  raftTerm = 0;
  /** Bumped by restore; the watch hub resynchronises when it changes. */
  epoch = 0;
  /** Logical size in bytes (keys, values and a per-record overhead of every stored record), kept incrementally. */
  private sizeBytesValue = 0;
  private openImageStreams = 0;

  // write transaction in progress
  private writeSub = 0;

  readonly clusterId: string;
  readonly memberId: string;
  readonly bootId: number;
  private readonly leaseTTLMinSeconds: number;
  private readonly txnOpsMax: number;
  /** Told of every lease grant, revoke and checkpoint as it applies (the lease actor keeps time for them). */
  leaseListener: LeaseListener | undefined;
  /** The cluster's members (replicated like the keys). */
  readonly members = new MemberTable();

  constructor(options: StoreOptions = {}) {
    this.clusterId = options.clusterId ?? '';
    this.memberId = options.memberId ?? '';
    this.bootId = options.bootId ?? 0;
    this.leaseTTLMinSeconds = options.leaseTTLMinSeconds ?? 0;
    this.txnOpsMax = options.txnOpsMax ?? mvccLimits.txnOpsMax;
  }

  get log(): HistoryLog {
    return this._log;
  }

  get sizeBytes(): number {
    return this.sizeBytesValue;
  }

  /** Keys the index holds (live, deleted-but-not-compacted, and based). */
  get keyCount(): number {
    return this.index.size;
  }

  header(revision: number = this.revision): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision, raftTerm: this.raftTerm };
  }

  // ---------------------------------------------------------------- applying entries

  /**
   * Applies committed entries in log order. Entries at or below the applied index (already in a restored image) are
   * skipped; empty entries (a new leader's no-op) and membership changes only advance the applied index.
   *
   * `onOutcome` receives the outcome of every request this member proposed (member === memberId, id !== 0), in
   * order. Requests of other members are applied quietly: same state changes, no response objects built and no
   * reads inside txns executed, which is most of a follower's work.
   */
  applyEntries(entries: readonly Entry[], onOutcome?: (outcome: ApplyOutcome) => void): void {
    for (const entry of entries) {
      if (entry.index <= this.appliedIndex) continue;
      if (entry.index !== this.appliedIndex + 1 && this.appliedIndex !== 0) throw new AssertionError(`entry ${entry.index} applied after ${this.appliedIndex}`);
      this.appliedIndex = entry.index;
      if (entry.term > this.raftTerm) this.raftTerm = entry.term;
      if (entry.type === EntryType.ConfChange) {
        this.members.applyConfChange(entry.data);
        continue;
      }
      if (entry.type !== EntryType.Normal || entry.data.length === 0) continue;
      let request: InternalRequest;
      try {
        request = decodeInternalRequest(entry.data);
      } catch (error) {
        throw new EntryDecodeError(entry.index, error);
      }
      const answer = onOutcome !== undefined && request.id !== 0 && request.member === this.memberId && request.boot === this.bootId;
      const result = this.execute(request.op, answer);
      if (!answer) continue;
      if (result instanceof EtcdError) onOutcome({ id: request.id, error: { code: result.code, message: result.message } });
      else onOutcome({ id: request.id, response: result });
    }
  }

  /** The outcome a waiting client gets for an applied request. */
  static outcome(id: number, result: ApplyResult): ApplyOutcome {
    if ('error' in result) return { id, error: { code: result.error.code, message: result.error.message } };
    return { id, response: result.response };
  }

  /** Applies one request and answers it. Errors are results, not exceptions: every member reaches the same one. */
  apply(op: InternalOp): ApplyResult {
    const result = this.execute(op, true);
    if (result instanceof EtcdError) return { error: result };
    return { response: result! };
  }

  /** Applies one request; builds its response only when `respond` (otherwise a success is undefined). */
  private execute(op: InternalOp, respond: boolean): StoreResponse | EtcdError | undefined {
    const alarmed = this.alarmList.length > 0;
    const corrupt = alarmed && this.alarmActive('CORRUPT');
    const noSpace = alarmed && this.alarmActive('NOSPACE');
    switch (op.type) {
      case 'put':
        if (corrupt) return etcdError(Errors.corrupt);
        if (noSpace) return etcdError(Errors.noSpace);
        return this.applyPut(op.req, respond);
      case 'deleteRange':
        if (corrupt) return etcdError(Errors.corrupt);
        return this.applyDeleteRange(op.req, respond);
      case 'txn': {
        if (corrupt) return etcdError(Errors.corrupt);
        if (noSpace && txnHasPut(op.req)) return etcdError(Errors.noSpace);
        const invalid = validateTxn(op.req, this.txnOpsMax);
        if (invalid) return invalid;
        return this.txn(op.req, true, respond);
      }
      case 'compaction':
        if (corrupt) return etcdError(Errors.corrupt);
        return this.applyCompaction(op.req.revision, respond);
      case 'leaseGrant':
        if (corrupt) return etcdError(Errors.corrupt);
        if (noSpace) return etcdError(Errors.noSpace);
        return this.applyLeaseGrant(asLease(op.req.ID), op.req.TTL, respond);
      case 'leaseRevoke':
        if (corrupt) return etcdError(Errors.corrupt);
        return this.applyLeaseRevoke(asLease(op.req.ID), respond);
      case 'leaseCheckpoint':
        for (const c of op.checkpoints) {
          const lease = this.leases.get(asLease(c.ID));
          if (!lease) continue;
          lease.remainingMs = c.remainingMs;
          this.leaseListener?.checkpointed(lease.id, c.remainingMs);
        }
        return respond ? ({ header: this.header() } satisfies LeaseCheckpointResponse) : undefined;
      case 'alarm': {
        const response = this.applyAlarm(op.action, op.memberId, op.alarm);
        return respond ? response : undefined;
      }
      case 'memberAttributes':
        this.members.publish(op.memberId, op.name, op.clientURLs, op.peerURLs);
        return respond ? { header: this.header() } : undefined;
      case 'memberUpdate':
        if (!this.members.updatePeerURLs(op.memberId, op.peerURLs)) return etcdError(Errors.memberNotFound);
        return respond ? { header: this.header() } : undefined;
      default:
        return assertNever(op, 'internal op');
    }
  }

  private applyPut(req: PutRequest, respond: boolean): PutResponse | EtcdError | undefined {
    const invalid = validatePut(req);
    if (invalid) return invalid;
    const lease = asLease(req.lease);
    // a plain put checks the lease before the key (a put inside a txn checks them the other way round)
    if (lease !== NO_LEASE && !this.leases.has(lease)) return etcdError(Errors.leaseNotFound);
    if (req.ignoreValue || req.ignoreLease) {
      const entry = this.index.get(bytesToKey(req.key));
      if (!entry || this.currentState(entry) === STATE_NONE) return etcdError(Errors.keyNotFound);
    }
    this.writeSub = 0;
    const prevKv = this.put(req, respond);
    this.endWrite();
    if (!respond) return undefined;
    const response: PutResponse = { header: this.header() };
    if (prevKv) response.prevKv = prevKv;
    return response;
  }

  private applyDeleteRange(req: DeleteRangeRequest, respond: boolean): DeleteRangeResponse | EtcdError | undefined {
    const invalid = validateDeleteRange(req);
    if (invalid) return invalid;
    this.writeSub = 0;
    const { deleted, prevKvs } = this.deleteRange(req, respond);
    this.endWrite();
    return respond ? { header: this.header(), deleted, prevKvs } : undefined;
  }

  private applyCompaction(revision: number, respond: boolean): CompactionResponse | EtcdError | undefined {
    if (revision <= this.compactRevision) return etcdError(Errors.compacted);
    if (revision > this.revision) return etcdError(Errors.futureRevision);
    this.compactRevision = revision;
    return respond ? { header: this.header() } : undefined;
  }

  private applyLeaseGrant(id: bigint, ttlSeconds: number, respond: boolean): LeaseGrantResponse | EtcdError | undefined {
    const invalid = validateLeaseGrant({ TTL: ttlSeconds });
    if (invalid) return invalid;
    if (id === NO_LEASE) return etcdError(Errors.leaseNotFound);
    if (this.leases.has(id)) return etcdError(Errors.leaseExists);
    const ttl = Math.max(ttlSeconds, this.leaseTTLMinSeconds);
    this.leases.grant(id, ttl);
    this.leaseListener?.granted(id, ttl);
    return respond ? { header: this.header(), ID: id, TTL: ttl } : undefined;
  }

  private applyLeaseRevoke(id: bigint, respond: boolean): LeaseRevokeResponse | EtcdError | undefined {
    if (!this.leases.has(id)) return etcdError(Errors.leaseNotFound);
    const keys = this.leases.remove(id);
    this.leaseListener?.revoked(id);
    this.writeSub = 0;
    for (const entry of keys) {
      assert(this.currentState(entry) !== STATE_NONE, 'a lease holds a deleted key');
      this.appendTombstone(entry);
    }
    this.endWrite();
    return respond ? { header: this.header() } : undefined;
  }

  private applyAlarm(action: 'activate' | 'deactivate', memberId: string, alarm: AlarmType): AlarmResponse {
    const member: AlarmMember = { memberID: memberId, alarm };
    const at = this.alarmList.findIndex((a) => a.memberID === memberId && a.alarm === alarm);
    if (action === 'activate') {
      if (at < 0) this.alarmList.push(member);
      return { header: this.header(), alarms: [member] };
    }
    if (at < 0) return { header: this.header(), alarms: [] };
    this.alarmList.splice(at, 1);
    return { header: this.header(), alarms: [member] };
  }

  alarmActive(alarm: AlarmType): boolean {
    if (this.alarmList.length === 0) return false;
    for (const a of this.alarmList) if (a.alarm === alarm) return true;
    return false;
  }

  alarms(): AlarmMember[] {
    return this.alarmList.map((a) => ({ ...a }));
  }

  // ---------------------------------------------------------------- writes

  /** The revision reads inside the current write see: the new one once something changed. */
  private viewRevision(): number {
    return this.writeSub > 0 ? this.revision + 1 : this.revision;
  }

  private endWrite(): void {
    if (this.writeSub > 0) this.revision++;
    this.writeSub = 0;
  }

  /** Writes one put at revision+1; the caller has checked lease and key existence. Returns the prev kv if asked. */
  private put(req: PutRequest, respond = true): KeyValue | undefined {
    const key = bytesToKey(req.key);
    let entry = this.index.get(key);
    if (!entry) {
      entry = new KeyEntry(key);
      this.index.set(key, entry);
      this.tree.set(key, entry);
    }
    const main = this.revision + 1;
    // the key's current state, read once: from its newest record, its base, or nothing
    let live = false;
    let create = main;
    let version = 1;
    let oldLease = NO_LEASE;
    const last = entry.last;
    if (last >= this._log.headSeq) {
      const chunk = this._log.chunkOf(last);
      const i = last - chunk.firstSeq;
      if ((chunk.flags[i]! & RecordFlags.Tombstone) === 0) {
        live = true;
        create = chunk.create[i]!;
        version = chunk.version[i]! + 1;
        oldLease = chunk.leaseAt(i);
      }
    } else if (entry.baseValue !== null) {
      live = true;
      create = entry.baseCreate;
      version = entry.baseVersion + 1;
      oldLease = entry.baseLease;
    }
    const state = live ? (last >= this._log.headSeq ? last : STATE_BASE) : STATE_NONE;
    const lease = req.ignoreLease ? oldLease : asLease(req.lease);
    const prevKv = respond && req.prevKv && live ? this.kvOf(entry, state, false) : undefined;
    if (oldLease !== lease) {
      if (oldLease !== NO_LEASE) this.leases.detach(oldLease, entry);
      if (lease !== NO_LEASE) this.leases.attach(lease, entry);
    }
    let value: Uint8Array | string;
    if (req.ignoreValue) {
      assert(live, 'ignore_value on a missing key reached the write');
      value = state >= 0 ? this.recordValueOf(state) : entry.baseValue!;
    } else {
      value = req.value ?? emptyBytes();
    }
    entry.last = this._log.append(main, this.writeSub++, entry, create, version, lease, last, 0, value);
    this.sizeBytesValue += key.length + value.length + mvccLimits.recordOverheadBytes;
    return prevKv;
  }

  private appendTombstone(entry: KeyEntry): void {
    const state = this.currentState(entry);
    const oldLease = state !== STATE_NONE ? this.leaseOf(entry, state) : NO_LEASE;
    if (oldLease !== NO_LEASE) this.leases.detach(oldLease, entry);
    entry.last = this._log.append(this.revision + 1, this.writeSub++, entry, 0, 0, NO_LEASE, entry.last, RecordFlags.Tombstone, emptyBytes());
    this.sizeBytesValue += entry.key.length + mvccLimits.recordOverheadBytes;
  }

  private deleteRange(req: DeleteRangeRequest, respond = true): { deleted: number; prevKvs: KeyValue[] } {
    const targets: Array<{ entry: KeyEntry; state: KeyState }> = [];
    this.scan(spanOf(req.key, req.rangeEnd), (entry) => {
      const state = this.currentState(entry);
      if (state !== STATE_NONE) targets.push({ entry, state });
    });
    const prevKvs: KeyValue[] = [];
    for (const { entry, state } of targets) {
      if (respond && req.prevKv) prevKvs.push(this.kvOf(entry, state, false));
      this.appendTombstone(entry);
    }
    return { deleted: targets.length, prevKvs };
  }

  // ---------------------------------------------------------------- txn

  /**
   * etcd's txn: every compare (nested ones too) is evaluated against the state before the txn, then the chosen path's
   * puts are checked (key exists for ignore_value/ignore_lease, then lease exists) and its ranges' revisions, and only
   * then does anything change. Sub-responses carry only a revision: the revision the txn's view had at that op.
   */
  private txn(req: TxnRequest, mayWrite: boolean, respond: boolean): TxnResponse | EtcdError | undefined {
    const path = this.evaluate(req);
    if (mayWrite) {
      const putError = this.checkPuts(req, path);
      if (putError) return putError;
    }
    const rangeError = this.checkRanges(req, path);
    if (rangeError) return rangeError;
    if (mayWrite && this.putAfterItsDelete(req, path, [])) return etcdError(Errors.keyNotFound);
    this.writeSub = 0;
    const responses = this.executeBranch(req, path, respond);
    this.endWrite();
    return respond ? { header: this.header(), succeeded: path.succeeded, responses } : undefined;
  }

  /** A read-only txn served outside the log (a linearizable or serializable read). */
  readTxn(req: TxnRequest): TxnResponse {
    const invalid = validateTxn(req, this.txnOpsMax);
    if (invalid) throw invalid;
    assert(txnIsReadOnlyDeep(req), 'readTxn given a txn that writes');
    const result = this.txn(req, false, true);
    if (result instanceof EtcdError) throw result;
    return result!;
  }

  private evaluate(req: TxnRequest): TxnPath {
    let succeeded = true;
    for (const c of req.compare ?? []) {
      if (!this.compare(c)) {
        succeeded = false;
        break;
      }
    }
    const nested: TxnPath[] = [];
    for (const op of (succeeded ? req.success : req.failure) ?? []) {
      if ('requestTxn' in op) nested.push(this.evaluate(op.requestTxn));
    }
    return { succeeded, nested };
  }

  private compare(c: Compare): boolean {
    const states: Array<{ entry: KeyEntry; state: KeyState }> = [];
    this.scan(spanOf(c.key, c.rangeEnd), (entry) => {
      const state = this.currentState(entry);
      if (state !== STATE_NONE) states.push({ entry, state });
    });
    if (states.length === 0) {
      // a VALUE compare on nothing is false; the others compare against the zero key-value
      if (c.target === CompareTarget.VALUE) return false;
      return compareOutcome(c, this.compareValue(c, undefined, STATE_NONE));
    }
    for (const { entry, state } of states) {
      if (!compareOutcome(c, this.compareValue(c, entry, state))) return false;
    }
    return true;
  }

  /** Sign of (the key's field) minus (the compare's operand). */
  private compareValue(c: Compare, entry: KeyEntry | undefined, state: KeyState): number {
    const live = entry !== undefined && state !== STATE_NONE;
    switch (c.target) {
      case CompareTarget.VERSION:
        return Math.sign((live ? this.versionOf(entry, state) : 0) - (c.version ?? 0));
      case CompareTarget.CREATE:
        return Math.sign((live ? this.createOf(entry, state) : 0) - (c.createRevision ?? 0));
      case CompareTarget.MOD:
        return Math.sign((live ? this.modOf(entry, state) : 0) - (c.modRevision ?? 0));
      case CompareTarget.VALUE:
        return compareBytes(live ? this.valueOf(entry, state) : emptyBytes(), c.value ?? emptyBytes());
      case CompareTarget.LEASE: {
        const have = live ? this.leaseOf(entry, state) : NO_LEASE;
        const want = asLease(c.lease);
        return have < want ? -1 : have > want ? 1 : 0;
      }
      default:
        // the gateway accepts any int32 for an enum: etcd compares nothing for an unknown target (the field counts as
        // equal), and an entry in the log must never stop the apply
        return 0;
    }
  }

  private checkPuts(req: TxnRequest, path: TxnPath): EtcdError | undefined {
    let nestedAt = 0;
    for (const op of (path.succeeded ? req.success : req.failure) ?? []) {
      if ('requestPut' in op) {
        const put = op.requestPut;
        if (put.ignoreValue || put.ignoreLease) {
          const entry = this.index.get(bytesToKey(put.key));
          if (!entry || this.currentState(entry) === STATE_NONE) return etcdError(Errors.keyNotFound);
        }
        const lease = asLease(put.lease);
        if (lease !== NO_LEASE && !this.leases.has(lease)) return etcdError(Errors.leaseNotFound);
      } else if ('requestTxn' in op) {
        const error = this.checkPuts(op.requestTxn, path.nested[nestedAt++]!);
        if (error) return error;
      }
    }
    return undefined;
  }

  /**
   * True when the chosen path puts with ignore_value or ignore_lease a key that an earlier op of the same txn deleted.
   * etcd's duplicate-key rules let that through (a delete with range_end "\0" conflicts with nothing) and etcd 3.4.23
   * then panics while applying it ("unexpected error during txn: key not found"), taking the member down; here the
   * txn fails with that same error before anything changes, on every member alike.
   */
  private putAfterItsDelete(req: TxnRequest, path: TxnPath, deleted: KeySpan[]): boolean {
    let nestedAt = 0;
    for (const op of (path.succeeded ? req.success : req.failure) ?? []) {
      if ('requestDeleteRange' in op) {
        deleted.push(spanOf(op.requestDeleteRange.key, op.requestDeleteRange.rangeEnd));
      } else if ('requestPut' in op) {
        const put = op.requestPut;
        if ((put.ignoreValue || put.ignoreLease) && deleted.length > 0) {
          const key = bytesToKey(put.key);
          for (const span of deleted) {
            if (span.end === undefined ? key === span.start : key >= span.start && key < span.end) return true;
          }
        }
      } else if ('requestTxn' in op) {
        if (this.putAfterItsDelete(op.requestTxn, path.nested[nestedAt++]!, deleted)) return true;
      }
    }
    return false;
  }

  private checkRanges(req: TxnRequest, path: TxnPath): EtcdError | undefined {
    let nestedAt = 0;
    for (const op of (path.succeeded ? req.success : req.failure) ?? []) {
      if ('requestRange' in op) {
        // as in etcd, a zero revision is skipped but a negative one is compared (and fails once compacted)
        const revision = op.requestRange.revision ?? 0;
        if (revision === 0) continue;
        if (revision > this.revision) return etcdError(Errors.futureRevision);
        if (revision < this.compactRevision) return etcdError(Errors.compacted);
      } else if ('requestTxn' in op) {
        const error = this.checkRanges(op.requestTxn, path.nested[nestedAt++]!);
        if (error) return error;
      }
    }
    return undefined;
  }

  /** Runs the chosen branch. Without `respond`, ranges are skipped (they change nothing) and no responses are built. */
  private executeBranch(req: TxnRequest, path: TxnPath, respond: boolean): ResponseOp[] {
    const responses: ResponseOp[] = [];
    let nestedAt = 0;
    for (const op of (path.succeeded ? req.success : req.failure) ?? []) {
      if ('requestTxn' in op) {
        const nestedPath = path.nested[nestedAt++]!;
        const nested = this.executeBranch(op.requestTxn, nestedPath, respond);
        if (respond) responses.push({ responseTxn: { header: subHeader(0), succeeded: nestedPath.succeeded, responses: nested } });
      } else {
        const response = this.executeOp(op, respond);
        if (response) responses.push(response);
      }
    }
    return responses;
  }

  private executeOp(op: RequestOp, respond: boolean): ResponseOp | undefined {
    if ('requestRange' in op) {
      if (!respond) return undefined;
      const result = this.rangeAt(op.requestRange, this.viewRevision());
      if ('error' in result) throw result.error; // checked before the txn started
      result.response.header = subHeader(this.viewRevision());
      return { responseRange: result.response };
    }
    if ('requestPut' in op) {
      const prevKv = this.put(op.requestPut, respond);
      if (!respond) return undefined;
      const response: PutResponse = { header: subHeader(this.revision + 1) };
      if (prevKv) response.prevKv = prevKv;
      return { responsePut: response };
    }
    if ('requestDeleteRange' in op) {
      const { deleted, prevKvs } = this.deleteRange(op.requestDeleteRange, respond);
      return respond ? { responseDeleteRange: { header: subHeader(this.viewRevision()), deleted, prevKvs } } : undefined;
    }
    return assertNever(op as never, 'request op');
  }

  // ---------------------------------------------------------------- reads

  /** A range served at the current revision (or the revision it names), as etcd's Range. Throws EtcdError. */
  range(req: RangeRequest): RangeResponse {
    const invalid = validateRange(req);
    if (invalid) throw invalid;
    if (this.alarmActive('CORRUPT')) throw etcdError(Errors.corrupt);
    const result = this.rangeAt(req, this.revision);
    if ('error' in result) throw result.error;
    return result.response;
  }

  private rangeAt(req: RangeRequest, current: number): { response: RangeResponse } | { error: EtcdError } {
    let rev = req.revision ?? 0;
    if (rev > current) return { error: etcdError(Errors.futureRevision) };
    if (rev <= 0) rev = current;
    if (rev < this.compactRevision) return { error: etcdError(Errors.compacted) };

    const limit = req.limit ?? 0;
    const sortOrderRequested = req.sortOrder ?? SortOrder.NONE;
    const sortTarget = req.sortTarget ?? SortTarget.KEY;
    const filtered = (req.minModRevision ?? 0) !== 0 || (req.maxModRevision ?? 0) !== 0 || (req.minCreateRevision ?? 0) !== 0 || (req.maxCreateRevision ?? 0) !== 0;
    // etcd fetches everything when it must sort or filter, else one more than the limit (to know `more`)
    const fetchMax = sortOrderRequested !== SortOrder.NONE || filtered || limit <= 0 ? Infinity : limit + 1;
    const countOnly = req.countOnly === true;

    let count = 0;
    const found: Array<{ entry: KeyEntry; state: KeyState }> = [];
    const atCurrent = rev === this.revision + (this.writeSub > 0 ? 1 : 0);
    this.scan(spanOf(req.key, req.rangeEnd), (entry) => {
      const state = atCurrent ? this.currentState(entry) : this.stateAt(entry, rev);
      if (state === STATE_NONE) return;
      count++;
      if (!countOnly && found.length < fetchMax) found.push({ entry, state });
    });

    let kept = found;
    if (filtered) {
      const minMod = req.minModRevision ?? 0;
      const maxMod = req.maxModRevision ?? 0;
      const minCreate = req.minCreateRevision ?? 0;
      const maxCreate = req.maxCreateRevision ?? 0;
      kept = found.filter(({ entry, state }) => {
        const mod = this.modOf(entry, state);
        const create = this.createOf(entry, state);
        if (maxMod !== 0 && mod > maxMod) return false;
        if (minMod !== 0 && mod < minMod) return false;
        if (maxCreate !== 0 && create > maxCreate) return false;
        if (minCreate !== 0 && create < minCreate) return false;
        return true;
      });
    }
    let sortOrder = sortOrderRequested;
    if (sortTarget !== SortTarget.KEY && sortOrder === SortOrder.NONE) sortOrder = SortOrder.ASCEND;
    // the gateway accepts any int32 for an enum: like etcd, an order other than ASCEND or DESCEND sorts nothing (but,
    // not being NONE, still made the scan fetch everything above)
    if (sortOrder === SortOrder.ASCEND || sortOrder === SortOrder.DESCEND) kept = this.sorted(kept, sortTarget, sortOrder === SortOrder.DESCEND);
    let more = false;
    if (limit > 0 && kept.length > limit) {
      kept = kept.slice(0, limit);
      more = true;
    }
    return { response: { header: this.header(current), kvs: this.kvsOf(kept, req.keysOnly === true), more, count } };
  }

  /** KeyValues for a response: keys in small shared slabs (keyToBytes), values as views into the history arena. */
  private kvsOf(items: Array<{ entry: KeyEntry; state: KeyState }>, keysOnly: boolean): KeyValue[] {
    const kvs = new Array<KeyValue>(items.length);
    for (let n = 0; n < items.length; n++) kvs[n] = this.kvOf(items[n]!.entry, items[n]!.state, keysOnly);
    return kvs;
  }

  /**
   * Stable sort by the target, ascending or descending; keys arrive in ascending order, so ties stay in key order.
   * (etcd's Go sort agrees for up to 12 results, where it uses insertion sort; beyond that Go does not promise an
   * order for ties.)
   */
  private sorted(items: Array<{ entry: KeyEntry; state: KeyState }>, target: SortTarget, descending: boolean) {
    const sign = descending ? -1 : 1;
    switch (target) {
      case SortTarget.KEY:
        return descending ? [...items].reverse() : items;
      case SortTarget.VERSION:
        return [...items].sort((a, b) => sign * (this.versionOf(a.entry, a.state) - this.versionOf(b.entry, b.state)));
      case SortTarget.CREATE:
        return [...items].sort((a, b) => sign * (this.createOf(a.entry, a.state) - this.createOf(b.entry, b.state)));
      case SortTarget.MOD:
        return [...items].sort((a, b) => sign * (this.modOf(a.entry, a.state) - this.modOf(b.entry, b.state)));
      case SortTarget.VALUE: {
        const withValues = items.map((item) => ({ item, value: this.valueOf(item.entry, item.state) }));
        withValues.sort((a, b) => sign * compareBytes(a.value, b.value));
        return withValues.map((w) => w.item);
      }
      default:
        return assertNever(target, 'sort target');
    }
  }

  /** Visits the index entries whose keys fall in `span`, in key order (deleted ones included). */
  scan(span: KeySpan, visit: (entry: KeyEntry) => void): void {
    if (span.end === undefined) {
      const entry = this.index.get(span.start);
      if (entry) visit(entry);
      return;
    }
    if (span.end <= span.start) return;
    this.tree.forRange(span.start, span.end, false, (_key, entry) => visit(entry));
  }

  // ---------------------------------------------------------------- key state accessors

  /** The key's newest state. */
  currentState(entry: KeyEntry): KeyState {
    const seq = entry.last;
    if (seq >= this._log.headSeq) {
      const chunk = this._log.chunkOf(seq);
      return chunk.flags[seq - chunk.firstSeq]! & RecordFlags.Tombstone ? STATE_NONE : seq;
    }
    return entry.baseValue !== null ? STATE_BASE : STATE_NONE;
  }

  /** The key's state at `revision` (which must not be below the physical compaction). */
  stateAt(entry: KeyEntry, revision: number): KeyState {
    let seq = entry.last;
    const head = this._log.headSeq;
    while (seq >= head) {
      const chunk = this._log.chunkOf(seq);
      const i = seq - chunk.firstSeq;
      if (chunk.main[i]! <= revision) return chunk.flags[i]! & RecordFlags.Tombstone ? STATE_NONE : seq;
      seq = chunk.prev[i]!;
    }
    return entry.baseValue !== null && entry.baseMod <= revision ? STATE_BASE : STATE_NONE;
  }

  modOf(entry: KeyEntry, state: KeyState): number {
    if (state === STATE_BASE) return entry.baseMod;
    const chunk = this._log.chunkOf(state);
    return chunk.main[state - chunk.firstSeq]!;
  }

  createOf(entry: KeyEntry, state: KeyState): number {
    if (state === STATE_BASE) return entry.baseCreate;
    const chunk = this._log.chunkOf(state);
    return chunk.create[state - chunk.firstSeq]!;
  }

  versionOf(entry: KeyEntry, state: KeyState): number {
    if (state === STATE_BASE) return entry.baseVersion;
    const chunk = this._log.chunkOf(state);
    return chunk.version[state - chunk.firstSeq]!;
  }

  leaseOf(entry: KeyEntry, state: KeyState): bigint {
    if (state === STATE_BASE) return entry.baseLease;
    const chunk = this._log.chunkOf(state);
    return chunk.leaseAt(state - chunk.firstSeq);
  }

  valueOf(entry: KeyEntry, state: KeyState): Uint8Array {
    if (state === STATE_BASE) return latin1ToBytes(entry.baseValue!);
    return this.recordValueOf(state);
  }

  private recordValueOf(seq: number): Uint8Array {
    const chunk = this._log.chunkOf(seq);
    return recordValue(chunk, seq - chunk.firstSeq);
  }

  /**
   * A KeyValue for a live state. Values are views into the history arena (no copy); they stay valid and unchanged
   * for as long as the caller holds them, since records are never rewritten in place.
   */
  kvOf(entry: KeyEntry, state: KeyState, keysOnly: boolean): KeyValue {
    return this.kvWithKey(entry, state, keysOnly, keyToBytes(entry.key));
  }

  private kvWithKey(entry: KeyEntry, state: KeyState, keysOnly: boolean, key: Uint8Array): KeyValue {
    if (state === STATE_BASE) {
      return {
        key,
        createRevision: entry.baseCreate,
        modRevision: entry.baseMod,
        version: entry.baseVersion,
        value: keysOnly ? emptyBytes() : latin1ToBytes(entry.baseValue!),
        lease: entry.baseLease,
      };
    }
    const chunk = this._log.chunkOf(state);
    const i = state - chunk.firstSeq;
    return {
      key,
      createRevision: small(chunk.create[i]!),
      modRevision: small(chunk.main[i]!),
      version: small(chunk.version[i]!),
      value: keysOnly ? emptyBytes() : recordValue(chunk, i),
      lease: chunk.leaseAt(i),
    };
  }

  // ---------------------------------------------------------------- events (for the watch hub)

  /** The main revision of a history record. */
  mainOfRecord(seq: number): number {
    const chunk = this._log.chunkOf(seq);
    return chunk.main[seq - chunk.firstSeq]!;
  }

  /** The key entry a history record belongs to. */
  keyOfRecord(seq: number): KeyEntry {
    const chunk = this._log.chunkOf(seq);
    return chunk.keys[seq - chunk.firstSeq]!;
  }

  /**
   * Whether compaction at `compactRev` (default: the store's) removed this record, as etcd's does: every record at or
   * below it except each key's newest one there, and that one too when it is a deletion. Only records at exactly the
   * compaction revision are ever asked about (older ones are never read as records): a deletion there, or a put that
   * the same txn deleted again (a from-key delete after it), is gone for watchers catching up and for images.
   */
  recordCompactedAway(seq: number, compactRev: number = this.compactRevision): boolean {
    const chunk = this._log.chunkOf(seq);
    const i = seq - chunk.firstSeq;
    if (chunk.main[i]! > compactRev) return false;
    if ((chunk.flags[i]! & RecordFlags.Tombstone) !== 0) return true;
    // a put: kept only if no later record of its key is at or below the compaction
    let later = chunk.keys[i]!.last;
    const head = this._log.headSeq;
    while (later > seq && later >= head) {
      const c = this._log.chunkOf(later);
      const j = later - c.firstSeq;
      if (c.main[j]! <= compactRev) return true;
      later = c.prev[j]!;
    }
    return false;
  }

  /**
   * The watch event of one history record. `withPrev`: attach the key's state just before the record, as etcd reads
   * it (at mod_revision - 1): absent when the key did not exist then, or when `prevMustBeReadable` and that revision
   * is below the compaction (a catch-up read after compaction finds nothing there).
   */
  eventOf(seq: number, withPrev: boolean, prevMustBeReadable: boolean): Event {
    const chunk = this._log.chunkOf(seq);
    const i = seq - chunk.firstSeq;
    const entry = chunk.keys[i]!;
    const main = small(chunk.main[i]!);
    const tombstone = (chunk.flags[i]! & RecordFlags.Tombstone) !== 0;
    const kv: KeyValue = tombstone
      ? { key: keyToBytes(entry.key), createRevision: 0, modRevision: main, version: 0, value: emptyBytes(), lease: NO_LEASE }
      : {
          key: keyToBytes(entry.key),
          createRevision: small(chunk.create[i]!),
          modRevision: main,
          version: small(chunk.version[i]!),
          value: recordValue(chunk, i),
          lease: chunk.leaseAt(i),
        };
    const event: Event = { type: tombstone ? EventType.DELETE : EventType.PUT, kv };
    if (withPrev && !(prevMustBeReadable && main - 1 < this.compactRevision)) {
      const prev = this.stateBefore(entry, chunk.prev[i]!, main);
      if (prev !== STATE_NONE) event.prevKv = this.kvOf(entry, prev, false);
    }
    return event;
  }

  /**
   * The key's state at `main - 1`, starting from the record a `prev` link names: records of the same revision are
   * passed over (a txn may put a key and then delete it with a from-key range: both records share the revision, and
   * etcd reads the previous state at mod_revision - 1), the base answers when the chain leaves the log.
   */
  private stateBefore(entry: KeyEntry, prevSeq: number, main: number): KeyState {
    const head = this._log.headSeq;
    let seq = prevSeq;
    while (seq >= head) {
      const chunk = this._log.chunkOf(seq);
      const i = seq - chunk.firstSeq;
      if (chunk.main[i]! < main) return chunk.flags[i]! & RecordFlags.Tombstone ? STATE_NONE : seq;
      seq = chunk.prev[i]!;
    }
    return entry.baseValue !== null && entry.baseMod < main ? STATE_BASE : STATE_NONE;
  }

  // ---------------------------------------------------------------- leases (read access)

  leaseTimeToLive(id: bigint): LeaseView | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    return leaseView(lease);
  }

  leaseList(): bigint[] {
    return this.leases.list().map((l) => l.id);
  }

  /** Every lease with its TTLs (no keys), for the lease actor to rebuild its timers after a restore. */
  leaseTable(): Array<{ ID: bigint; grantedTTL: number; remainingMs: number }> {
    return this.leases.list().map((l) => ({ ID: l.id, grantedTTL: l.ttlSeconds, remainingMs: l.remainingMs }));
  }

  // ---------------------------------------------------------------- compaction

  /** True when a compaction has been applied but its history not yet freed. */
  get compactionPending(): boolean {
    return this.compactRevision > this.physicalCompactRevision;
  }

  /**
   * Frees the history below the compaction revision: records superseded by a newer one at or below it go, the
   * newest state at or below it of each key becomes that key's base (or the key goes, if that state is a deletion),
   * and whole chunks are released. Deferred while an image stream is open. Returns true when it did some work.
   *
   * At most about `recordsMax` records are freed per call: a large compaction is carried out as a series of smaller
   * ones at intermediate revisions (each leaves the store exactly as a compaction there would), so applying never
   * stalls for long; call again while `compactionPending`.
   */
  compactHistory(recordsMax = Infinity): boolean {
    if (!this.compactionPending || this.openImageStreams > 0) return false;
    const log = this._log;
    let compactRev = this.compactRevision;
    let endSeq = log.seekRevision(compactRev);
    if (log.records > recordsMax) {
      // stop at the revision of the record `recordsMax` in (records of that revision stay)
      const first = log.firstSeq();
      let seq = first;
      for (let n = 0; n < recordsMax && seq < endSeq; n++) seq = log.nextSeq(seq);
      if (seq < endSeq) {
        // always free at least the first revision, however many records it has
        const firstMain = this.mainOfRecord(first);
        while (seq < endSeq && this.mainOfRecord(seq) <= firstMain) seq = log.nextSeq(seq);
        if (seq < endSeq) {
          compactRev = this.mainOfRecord(seq);
          endSeq = log.seekRevision(compactRev);
        }
      }
    }
    const touched = new Set<KeyEntry>();
    for (let seq = log.firstSeq(); seq < endSeq; seq = log.nextSeq(seq)) {
      const chunk = log.chunkOf(seq);
      const i = seq - chunk.firstSeq;
      const entry = chunk.keys[i]!;
      touched.add(entry);
      this.sizeBytesValue -= entry.key.length + chunk.valueLength[i]! + mvccLimits.recordOverheadBytes;
    }
    for (const entry of touched) {
      const state = this.stateAt(entry, compactRev);
      if (entry.baseValue !== null) this.sizeBytesValue -= entry.key.length + entry.baseValue.length + mvccLimits.recordOverheadBytes;
      if (state >= 0 && state < endSeq) {
        // the state at the compaction is a record being freed: keep it as the base
        const chunk = log.chunkOf(state);
        const i = state - chunk.firstSeq;
        entry.baseMod = small(chunk.main[i]!);
        entry.baseCreate = small(chunk.create[i]!);
        entry.baseVersion = small(chunk.version[i]!);
        entry.baseLease = chunk.leaseAt(i);
        const start = chunk.valueStart[i]!;
        entry.baseValue = bytesToLatin1(chunk.arena, start, start + chunk.valueLength[i]!);
        this.sizeBytesValue += entry.key.length + entry.baseValue.length + mvccLimits.recordOverheadBytes;
      } else if (state !== STATE_BASE) {
        // deleted at or below the compaction, or superseded by a record at exactly the compaction revision
        entry.clearBase();
      } else {
        this.sizeBytesValue += entry.key.length + entry.baseValue!.length + mvccLimits.recordOverheadBytes;
      }
      if (entry.last < endSeq) {
        entry.last = -1;
        if (entry.baseValue === null) {
          this.index.delete(entry.key);
          this.tree.delete(entry.key);
        }
      }
    }
    log.dropBefore(endSeq);
    this.physicalCompactRevision = compactRev;
    return true;
  }

  // ---------------------------------------------------------------- hash

  /**
   * A hash of the store as of `revision` (0: current): every key's newest state at or below the compaction (if it
   * exists) plus every change after the compaction up to `revision`, in a fixed order. Members that applied the same
   * entries agree on it whatever their physical layout (deferred compaction, restored from an image).
   */
  hashKV(revision = 0): HashKVResult {
    if (revision > 0 && revision <= this.compactRevision) throw etcdError(Errors.compacted);
    if (revision > this.revision) throw etcdError(Errors.futureRevision);
    const upTo = revision > 0 ? revision : this.revision;
    const crc = new Crc32c();
    const compactRev = this.compactRevision;
    if (compactRev >= 0) {
      this.tree.forEachPair((_key, entry) => {
        const state = this.stateAt(entry, compactRev);
        if (state === STATE_NONE) return;
        crc.binary(entry.key).number(entry.key.length);
        crc.number(this.modOf(entry, state)).number(this.createOf(entry, state)).number(this.versionOf(entry, state));
        crc.bigint(this.leaseOf(entry, state));
        const value = this.valueOf(entry, state);
        crc.number(value.length).bytes(value);
      });
    }
    const log = this._log;
    for (let seq = log.seekRevision(compactRev + 1); seq < log.endSeq; seq = log.nextSeq(seq)) {
      const chunk = log.chunkOf(seq);
      const i = seq - chunk.firstSeq;
      if (chunk.main[i]! > upTo) break;
      const entry = chunk.keys[i]!;
      crc.binary(entry.key).number(entry.key.length);
      crc.number(chunk.main[i]!).number(chunk.sub[i]!).number(chunk.flags[i]!);
      crc.number(chunk.create[i]!).number(chunk.version[i]!).bigint(chunk.leaseAt(i));
      const value = recordValue(chunk, i);
      crc.number(value.length).bytes(value);
    }
    return { hash: crc.value(), compactRevision: this.compactRevision, revision: this.revision };
  }

  // ---------------------------------------------------------------- snapshot image (see image.ts)

  /**
   * A consistent image of the store as of now, as a stream of chunks of about `imageChunkBytes`. Physical compaction
   * waits while the stream is open: iterate it to the end or close() it.
   */
  image(): ImageStream {
    return new ImageStream(this);
  }

  /** Replaces the whole state with an image's. Throws ImageCorruptError (leaving the store unusable) on a bad image. */
  restore(chunks: Iterable<Uint8Array>): void {
    const restorer = new ImageRestorer(this);
    for (const chunk of chunks) restorer.push(chunk);
    restorer.finish();
  }

  /** For a restore whose chunks arrive over several turns: push them in order, then finish(). */
  restorer(): ImageRestorer {
    return new ImageRestorer(this);
  }

  /** @internal Marks an image stream open: compaction keeps history until it closes. */
  imageStreamOpened(): void {
    this.openImageStreams++;
  }

  /** @internal */
  imageStreamClosed(): void {
    assert(this.openImageStreams > 0, 'image stream closed twice');
    this.openImageStreams--;
  }

  get imageStreamsOpen(): number {
    return this.openImageStreams;
  }

  /** @internal The key entries in key order from just after `afterKey` (undefined: from the start). */
  nextEntryAfter(afterKey: string | undefined): KeyEntry | undefined {
    const pair = afterKey === undefined ? this.tree.getPairOrNextHigher('') : this.tree.nextHigherPair(afterKey);
    return pair?.[1];
  }

  /** @internal Lease table rows for an image. */
  leaseRows(): Array<{ id: bigint; ttl: number; remaining: number }> {
    return this.leases.list().map((l) => ({ id: l.id, ttl: l.ttlSeconds, remaining: l.remainingMs }));
  }

  /** @internal Empties the store before a restore fills it. */
  resetForRestore(): void {
    this.tree = newKeyTree();
    this.index = new Map();
    this._log = new HistoryLog();
    this.leases = new LeaseTable();
    this.alarmList = [];
    this.sizeBytesValue = 0;
    this.writeSub = 0;
    // streams of the old state no longer hold anything back (they fail on their next pull)
    this.openImageStreams = 0;
    this.epoch++;
  }

  /** @internal Restore: sets the scalar state. */
  restoreMeta(meta: { revision: number; compactRevision: number; appliedIndex: number; raftTerm: number; alarms: AlarmMember[]; members: MemberRecord[] }): void {
    this.members.clear();
    for (const m of meta.members) this.members.restore(m);
    this.revision = meta.revision;
    this.compactRevision = meta.compactRevision;
    this.physicalCompactRevision = meta.compactRevision;
    this.appliedIndex = meta.appliedIndex;
    this.raftTerm = meta.raftTerm;
    this.alarmList = meta.alarms.map((a) => ({ ...a }));
  }

  /** @internal Restore: a lease row. */
  restoreLease(id: bigint, ttl: number, remaining: number): void {
    this.leases.grant(id, ttl, remaining);
  }

  /** @internal Restore: a key's base state. Bases arrive before any record. */
  restoreBase(key: string, mod: number, create: number, version: number, lease: bigint, value: string): void {
    assert(!this.index.has(key), 'image holds a key twice');
    const entry = new KeyEntry(key);
    entry.baseMod = small(mod);
    entry.baseCreate = small(create);
    entry.baseVersion = small(version);
    entry.baseLease = lease;
    entry.baseValue = value;
    this.index.set(key, entry);
    this.tree.set(key, entry);
    this.sizeBytesValue += key.length + value.length + mvccLimits.recordOverheadBytes;
  }

  /** @internal Restore: one history record, in revision order. */
  restoreRecord(key: string, main: number, sub: number, flags: number, create: number, version: number, lease: bigint, value: Uint8Array): void {
    let entry = this.index.get(key);
    if (!entry) {
      entry = new KeyEntry(key);
      this.index.set(key, entry);
      this.tree.set(key, entry);
    }
    entry.last = this._log.append(main, sub, entry, create, version, lease, entry.last, flags, value);
    this.sizeBytesValue += key.length + value.length + mvccLimits.recordOverheadBytes;
  }

  /** @internal Restore: attaches every live key to its lease once all records are in. */
  restoreAttachments(): void {
    for (const entry of this.index.values()) {
      const state = this.currentState(entry);
      if (state === STATE_NONE) continue;
      const lease = this.leaseOf(entry, state);
      if (lease === NO_LEASE) continue;
      if (!this.leases.has(lease)) throw new AssertionError(`image attaches a key to unknown lease ${lease}`);
      this.leases.attach(lease, entry);
    }
  }
}

function leaseView(lease: Lease): LeaseView {
  const keys = [...lease.keys].map((e) => e.key).sort();
  return { ID: lease.id, grantedTTL: lease.ttlSeconds, remainingMs: lease.remainingMs, keys: keys.map(keyToBytes) };
}

function subHeader(revision: number): ResponseHeader {
  return { ...EMPTY_HEADER_IDS, revision, raftTerm: 0 };
}

function compareOutcome(c: Compare, sign: number): boolean {
  switch (c.result) {
    case CompareResult.EQUAL:
      return sign === 0;
    case CompareResult.NOT_EQUAL:
      return sign !== 0;
    case CompareResult.GREATER:
      return sign > 0;
    case CompareResult.LESS:
      return sign < 0;
    default:
      // an unknown result (any int32 decodes) holds, as in etcd
      return true;
  }
}

/** etcd counts a txn against the space quota when either branch holds a put (nested txns are not looked into). */
function txnHasPut(req: TxnRequest): boolean {
  for (const op of req.success ?? []) if ('requestPut' in op) return true;
  for (const op of req.failure ?? []) if ('requestPut' in op) return true;
  return false;
}

function txnIsReadOnlyDeep(req: TxnRequest): boolean {
  const branch = (ops: RequestOp[] | undefined) =>
    (ops ?? []).every((op) => 'requestRange' in op || ('requestTxn' in op && txnIsReadOnlyDeep(op.requestTxn)));
  return branch(req.success) && branch(req.failure);
}

