// fast-check generators for random store workloads. Revisions are generated as intentions ("two back from the
// current", "just below the compaction") and resolved against the model when the op runs, so sequences stay
// meaningful as they shrink.
import fc from 'fast-check';
import type { InternalOp } from '../../actors/api/internal.js';
import type { Compare, RangeRequest, RequestOp, TxnRequest } from '../../actors/api/types.js';
import { prefixEnd } from '../../actors/mvcc/keys.js';
import { b } from './helpers.js';
import type { Model } from './model.js';

export const KEYS = ['a', 'a\x00', 'ab', 'abc', 'b', 'b\xff', 'c', '\xff'];
const VALUES = ['', 'x', 'yy', 'zzz', '\x00\xff'];
const LEASE_IDS = [1n, 2n, 3n];

export type RevisionIntent = { kind: 'zero' | 'current' | 'back' | 'future' | 'compact' | 'belowCompact' | 'negative'; n: number };
export type SpanIntent = { key: string; end: 'none' | 'all' | 'prefix' | 'key'; endKey: string };

export const revisionIntent: fc.Arbitrary<RevisionIntent> = fc.record({
  kind: fc.constantFrom('zero', 'current', 'back', 'back', 'back', 'future', 'compact', 'belowCompact', 'negative'),
  n: fc.integer({ min: 0, max: 6 }),
});

export function resolveRevision(r: RevisionIntent, model: Model): number {
  switch (r.kind) {
    case 'zero':
      return 0;
    case 'current':
      return model.revision;
    case 'back':
      return Math.max(1, model.revision - r.n);
    case 'future':
      return model.revision + 1 + r.n;
    case 'compact':
      return model.compactRevision;
    case 'belowCompact':
      return model.compactRevision - 1 - r.n;
    case 'negative':
      return -1 - r.n;
  }
}

export const spanIntent: fc.Arbitrary<SpanIntent> = fc.record({
  key: fc.constantFrom(...KEYS),
  end: fc.constantFrom('none', 'none', 'all', 'prefix', 'key'),
  endKey: fc.constantFrom(...KEYS),
});

export function resolveSpan(s: SpanIntent): { key: Uint8Array; rangeEnd?: Uint8Array } {
  const key = b(s.key);
  switch (s.end) {
    case 'none':
      return { key };
    case 'all':
      return { key, rangeEnd: new Uint8Array([0]) };
    case 'prefix':
      return { key, rangeEnd: prefixEnd(key) };
    case 'key':
      return { key, rangeEnd: b(s.endKey) };
  }
}

/** An op with its revisions still to be resolved. */
export type OpIntent =
  | { type: 'put'; key: string; value: string; lease: bigint; prevKv: boolean; ignoreValue: boolean; ignoreLease: boolean }
  | { type: 'del'; span: SpanIntent; prevKv: boolean }
  | { type: 'range'; range: RangeIntent }
  | { type: 'txn'; txn: TxnIntent }
  | { type: 'compact'; revision: RevisionIntent }
  | { type: 'grant'; id: bigint }
  | { type: 'revoke'; id: bigint }
  | { type: 'checkpoint'; id: bigint; remaining: number }
  | { type: 'maintain'; budget: number };

export interface RangeIntent {
  span: SpanIntent;
  limit: number;
  revision: RevisionIntent;
  sortOrder: 0 | 1 | 2;
  sortTarget: 0 | 1 | 2 | 3 | 4;
  keysOnly: boolean;
  countOnly: boolean;
  minMod: number;
  maxMod: number;
  minCreate: number;
  maxCreate: number;
}

export interface TxnIntent {
  compare: CompareIntent[];
  success: TxnOpIntent[];
  failure: TxnOpIntent[];
}

export type TxnOpIntent =
  | { type: 'range'; range: RangeIntent }
  | { type: 'put'; key: string; value: string; lease: bigint; prevKv: boolean; ignoreValue: boolean; ignoreLease: boolean }
  | { type: 'del'; span: SpanIntent; prevKv: boolean }
  | { type: 'txn'; txn: TxnIntent };

interface CompareIntent {
  span: SpanIntent;
  target: 0 | 1 | 2 | 3 | 4;
  result: 0 | 1 | 2 | 3;
  number: number;
  value: string;
  lease: bigint;
}

const smallFilter = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }) });

export const rangeIntent: fc.Arbitrary<RangeIntent> = fc.record({
  span: spanIntent,
  limit: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(-1) }),
  revision: fc.oneof({ weight: 3, arbitrary: fc.constant<RevisionIntent>({ kind: 'zero', n: 0 }) }, { weight: 2, arbitrary: revisionIntent }),
  sortOrder: fc.constantFrom(0, 0, 1, 2),
  sortTarget: fc.constantFrom(0, 0, 1, 2, 3, 4),
  keysOnly: fc.boolean(),
  countOnly: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  minMod: smallFilter,
  maxMod: smallFilter,
  minCreate: smallFilter,
  maxCreate: smallFilter,
});

const putIntent = fc.record({
  type: fc.constant('put' as const),
  key: fc.constantFrom(...KEYS),
  value: fc.constantFrom(...VALUES),
  lease: fc.constantFrom(0n, 0n, 0n, 0n, ...LEASE_IDS, 9n),
  prevKv: fc.boolean(),
  ignoreValue: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  ignoreLease: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

const delIntent = fc.record({ type: fc.constant('del' as const), span: spanIntent, prevKv: fc.boolean() });

const compareIntent: fc.Arbitrary<CompareIntent> = fc.record({
  span: spanIntent,
  target: fc.constantFrom(0, 1, 2, 3, 4),
  result: fc.constantFrom(0, 1, 2, 3),
  number: fc.integer({ min: 0, max: 8 }),
  value: fc.constantFrom(...VALUES),
  lease: fc.constantFrom(0n, ...LEASE_IDS),
});

function txnIntent(depth: number): fc.Arbitrary<TxnIntent> {
  const leaf: Array<fc.Arbitrary<TxnOpIntent>> = [fc.record({ type: fc.constant('range' as const), range: rangeIntent }), putIntent, putIntent, delIntent];
  const op: fc.Arbitrary<TxnOpIntent> = depth > 0 ? fc.oneof(...leaf, fc.record({ type: fc.constant('txn' as const), txn: txnIntent(depth - 1) })) : fc.oneof(...leaf);
  return fc.record({
    compare: fc.array(compareIntent, { maxLength: 2 }),
    success: fc.array(op, { maxLength: 4 }),
    failure: fc.array(op, { maxLength: 3 }),
  });
}

export const opIntent: fc.Arbitrary<OpIntent> = fc.oneof(
  { weight: 10, arbitrary: putIntent },
  { weight: 3, arbitrary: delIntent },
  { weight: 5, arbitrary: fc.record({ type: fc.constant('range' as const), range: rangeIntent }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('txn' as const), txn: txnIntent(2) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('compact' as const), revision: revisionIntent }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('grant' as const), id: fc.constantFrom(...LEASE_IDS) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('revoke' as const), id: fc.constantFrom(...LEASE_IDS, 4n) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('checkpoint' as const), id: fc.constantFrom(...LEASE_IDS), remaining: fc.integer({ min: 1, max: 9 }) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('maintain' as const), budget: fc.constantFrom(1, 3, 10, Infinity) }) },
);

export function resolveRange(r: RangeIntent, model: Model): RangeRequest {
  const req: RangeRequest = { ...resolveSpan(r.span) };
  if (r.limit !== 0) req.limit = r.limit;
  const revision = resolveRevision(r.revision, model);
  if (revision !== 0) req.revision = revision;
  if (r.sortOrder) req.sortOrder = r.sortOrder;
  if (r.sortTarget) req.sortTarget = r.sortTarget;
  if (r.keysOnly) req.keysOnly = true;
  if (r.countOnly) req.countOnly = true;
  if (r.minMod) req.minModRevision = r.minMod;
  if (r.maxMod) req.maxModRevision = r.maxMod;
  if (r.minCreate) req.minCreateRevision = r.minCreate;
  if (r.maxCreate) req.maxCreateRevision = r.maxCreate;
  return req;
}

function resolvePut(p: Extract<OpIntent, { type: 'put' }>) {
  return {
    key: b(p.key),
    value: b(p.ignoreValue && p.value === 'x' ? '' : p.value),
    ...(p.lease !== 0n ? { lease: p.ignoreLease ? 0n : p.lease } : {}),
    ...(p.prevKv ? { prevKv: true } : {}),
    ...(p.ignoreValue ? { ignoreValue: true } : {}),
    ...(p.ignoreLease ? { ignoreLease: true } : {}),
  };
}

function resolveCompare(c: CompareIntent): Compare {
  const span = resolveSpan(c.span);
  const base = { ...span, target: c.target, result: c.result };
  switch (c.target) {
    case 0:
      return { ...base, version: c.number };
    case 1:
      return { ...base, createRevision: c.number };
    case 2:
      return { ...base, modRevision: c.number };
    case 3:
      return { ...base, value: b(c.value) };
    case 4:
      return { ...base, lease: c.lease };
  }
}

export function resolveTxn(t: TxnIntent, model: Model): TxnRequest {
  const op = (o: TxnOpIntent): RequestOp => {
    switch (o.type) {
      case 'range':
        return { requestRange: resolveRange(o.range, model) };
      case 'put':
        return { requestPut: resolvePut(o) };
      case 'del':
        return { requestDeleteRange: { ...resolveSpan(o.span), ...(o.prevKv ? { prevKv: true } : {}) } };
      case 'txn':
        return { requestTxn: resolveTxn(o.txn, model) };
    }
  };
  return { compare: t.compare.map(resolveCompare), success: t.success.map(op), failure: t.failure.map(op) };
}

/** The op to apply, or a range to read, or a maintenance step. */
export type Resolved = { kind: 'apply'; op: InternalOp } | { kind: 'range'; req: RangeRequest } | { kind: 'maintain'; budget: number };

export function resolveOp(o: OpIntent, model: Model): Resolved {
  switch (o.type) {
    case 'put':
      return { kind: 'apply', op: { type: 'put', req: resolvePut(o) } };
    case 'del':
      return { kind: 'apply', op: { type: 'deleteRange', req: { ...resolveSpan(o.span), ...(o.prevKv ? { prevKv: true } : {}) } } };
    case 'range':
      return { kind: 'range', req: resolveRange(o.range, model) };
    case 'txn':
      return { kind: 'apply', op: { type: 'txn', req: resolveTxn(o.txn, model) } };
    case 'compact':
      return { kind: 'apply', op: { type: 'compaction', req: { revision: resolveRevision(o.revision, model) } } };
    case 'grant':
      return { kind: 'apply', op: { type: 'leaseGrant', req: { ID: o.id, TTL: 30 } } };
    case 'revoke':
      return { kind: 'apply', op: { type: 'leaseRevoke', req: { ID: o.id } } };
    case 'checkpoint':
      return { kind: 'apply', op: { type: 'leaseCheckpoint', checkpoints: [{ ID: o.id, remainingMs: o.remaining }] } };
    case 'maintain':
      return { kind: 'maintain', budget: o.budget };
  }
}
