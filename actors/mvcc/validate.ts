// The checks etcd makes at its API edge, before a request is proposed: pure functions the gateway calls so a bad
// request never costs a raft round, and that the store repeats at apply (they are deterministic, so every member
// reaches the same verdict even for a request that skipped the edge).
//
// Duplicate keys in a txn follow etcd's rules exactly, including their order dependence (checked against etcd 3.4):
//   - at one level, puts must be distinct, and no put may fall inside a delete of that level; deletes may overlap;
//   - a nested txn's success and failure branches are checked on their own; the same key put in both is fine;
//   - a nested txn's puts are checked against the puts and deletes gathered so far (this level's deletes first,
//     then earlier nested txns), after which its deletes join the gathered set; this level's puts are checked last,
//     against everything. So {nested put b, nested delete [a,c)} passes while {nested delete [a,c), nested put b}
//     does not;
//   - a delete with range_end "\0" (from key) conflicts with nothing, as in etcd (its interval is empty there).
import { EtcdError, Errors, etcdError, GrpcCode } from '../api/errors.js';
import { SortTarget, type DeleteRangeRequest, type PutRequest, type RangeRequest, type RequestOp, type TxnRequest } from '../api/types.js';
import { bytesToKey } from './keys.js';
import { mvccLimits } from './limits.js';

export function validateRange(req: RangeRequest): EtcdError | undefined {
  if (!req.key || req.key.length === 0) return etcdError(Errors.emptyKey);
  const target = req.sortTarget ?? SortTarget.KEY;
  if (!knownSortTargets.has(target)) {
    // etcd 3.4 crashes on an unknown sort target (a nil sorter); tetcd refuses the request instead
    return new EtcdError(GrpcCode.INVALID_ARGUMENT, `tetcd: unknown sort target ${target}`);
  }
  return undefined;
}

const knownSortTargets: ReadonlySet<number> = new Set(Object.values(SortTarget));

export function validatePut(req: PutRequest): EtcdError | undefined {
  if (!req.key || req.key.length === 0) return etcdError(Errors.emptyKey);
  if (req.ignoreValue && req.value && req.value.length !== 0) return etcdError(Errors.valueProvided);
  if (req.ignoreLease && req.lease !== undefined && BigInt(req.lease) !== 0n) return etcdError(Errors.leaseProvided);
  return undefined;
}

export function validateDeleteRange(req: DeleteRangeRequest): EtcdError | undefined {
  if (!req.key || req.key.length === 0) return etcdError(Errors.emptyKey);
  return undefined;
}

export function validateLeaseGrant(req: { TTL: number }): EtcdError | undefined {
  if (req.TTL > mvccLimits.leaseTTLMaxSeconds) return etcdError(Errors.leaseTTLTooLarge);
  return undefined;
}

/** etcd's checks for a txn: op counts (nested txns share the budget), empty keys, put flags, then duplicate keys. */
export function validateTxn(req: TxnRequest, txnOpsMax: number = mvccLimits.txnOpsMax): EtcdError | undefined {
  const shape = checkTxnShape(req, txnOpsMax);
  if (shape) return shape;
  if (checkIntervals(req.success ?? []) === DUPLICATE || checkIntervals(req.failure ?? []) === DUPLICATE) {
    return etcdError(Errors.duplicateKey);
  }
  return undefined;
}

/** etcd's notion of a read-only txn: every op of both branches is a range (a nested txn counts as a write). */
export function isTxnReadOnly(req: TxnRequest): boolean {
  for (const op of req.success ?? []) if (!('requestRange' in op)) return false;
  for (const op of req.failure ?? []) if (!('requestRange' in op)) return false;
  return true;
}

function checkTxnShape(req: TxnRequest, opsMax: number): EtcdError | undefined {
  const compare = req.compare ?? [];
  const success = req.success ?? [];
  const failure = req.failure ?? [];
  const count = Math.max(compare.length, success.length, failure.length);
  if (count > opsMax) return etcdError(Errors.tooManyOps);
  for (const c of compare) if (!c.key || c.key.length === 0) return etcdError(Errors.emptyKey);
  for (const op of success) {
    const error = checkOp(op, opsMax - count);
    if (error) return error;
  }
  for (const op of failure) {
    const error = checkOp(op, opsMax - count);
    if (error) return error;
  }
  return undefined;
}

function checkOp(op: RequestOp, opsMax: number): EtcdError | undefined {
  if ('requestRange' in op) return validateRange(op.requestRange);
  if ('requestPut' in op) return validatePut(op.requestPut);
  if ('requestDeleteRange' in op) return validateDeleteRange(op.requestDeleteRange);
  if ('requestTxn' in op) return checkTxnShape(op.requestTxn, opsMax);
  return undefined;
}

const DUPLICATE = 'duplicate' as const;

/** A delete's interval: [start, end), or the single key `start` when `end` is undefined. */
interface DeleteInterval {
  start: string;
  end: string | undefined;
}

interface Gathered {
  puts: Set<string>;
  deletes: DeleteInterval[];
}

function hits(deletes: DeleteInterval[], key: string): boolean {
  for (const d of deletes) {
    if (d.end === undefined ? key === d.start : d.start <= key && key < d.end) return true;
  }
  return false;
}

function checkIntervals(ops: RequestOp[]): Gathered | typeof DUPLICATE {
  const deletes: DeleteInterval[] = [];
  for (const op of ops) {
    if (!('requestDeleteRange' in op)) continue;
    const req = op.requestDeleteRange;
    const end = req.rangeEnd && req.rangeEnd.length > 0 ? bytesToKey(req.rangeEnd) : undefined;
    deletes.push({ start: bytesToKey(req.key), end });
  }
  const puts = new Set<string>();
  for (const op of ops) {
    if (!('requestTxn' in op)) continue;
    const then = checkIntervals(op.requestTxn.success ?? []);
    if (then === DUPLICATE) return DUPLICATE;
    const otherwise = checkIntervals(op.requestTxn.failure ?? []);
    if (otherwise === DUPLICATE) return DUPLICATE;
    for (const key of then.puts) {
      if (puts.has(key) || hits(deletes, key)) return DUPLICATE;
      puts.add(key);
    }
    for (const key of otherwise.puts) {
      if (puts.has(key) && !then.puts.has(key)) return DUPLICATE;
      if (hits(deletes, key)) return DUPLICATE;
      puts.add(key);
    }
    deletes.push(...then.deletes, ...otherwise.deletes);
  }
  for (const op of ops) {
    if (!('requestPut' in op)) continue;
    const key = bytesToKey(op.requestPut.key);
    if (puts.has(key) || hits(deletes, key)) return DUPLICATE;
    puts.add(key);
  }
  return { puts, deletes };
}
