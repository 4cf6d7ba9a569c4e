// A typed builder for etcd transactions: compares, then the operations run on success, else those run on failure.
//
//   const r = await client.txn()
//     .if(cmp.createRevision('lock/a', '=', 0))
//     .success(op.put('lock/a', '', { lease }), op.get('lock', { prefix: true, sort: { target: 'CREATE', order: 'ASCEND' }, limit: 1 }))
//     .failure(op.get('lock/a'))
//     .commit();
//
// The branches are named as etcd's proto names them (success, failure), not then/else: a builder with a `then`
// method would be a thenable, and awaiting one by mistake would hang instead of failing.
// etcd checks every compare against the same revision and applies the chosen branch atomically at one new revision.
import type { Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, TxnResponse } from '../actors/api/types.js';
import { CompareResult, CompareTarget, SortOrder, SortTarget } from '../actors/api/types.js';
import { resolveRange, toBytes, type KeyInput, type RangeSpec } from './keys.js';

export type CompareOperator = '=' | '!=' | '>' | '<';

const operatorResult: Record<CompareOperator, CompareResult> = {
  '=': CompareResult.EQUAL,
  '!=': CompareResult.NOT_EQUAL,
  '>': CompareResult.GREATER,
  '<': CompareResult.LESS,
};

function compare(target: CompareTarget, key: KeyInput, operator: CompareOperator, fields: Partial<Compare>, range?: RangeSpec): Compare {
  const { key: keyBytes, rangeEnd } = resolveRange(key, range ?? {});
  const out: Compare = { result: operatorResult[operator], target, key: keyBytes, ...fields };
  if (rangeEnd) out.rangeEnd = rangeEnd;
  return out;
}

/** Compare builders, one per target etcd knows. */
export const cmp = {
  version: (key: KeyInput, operator: CompareOperator, version: number, range?: RangeSpec): Compare =>
    compare(CompareTarget.VERSION, key, operator, { version }, range),
  createRevision: (key: KeyInput, operator: CompareOperator, revision: number, range?: RangeSpec): Compare =>
    compare(CompareTarget.CREATE, key, operator, { createRevision: revision }, range),
  modRevision: (key: KeyInput, operator: CompareOperator, revision: number, range?: RangeSpec): Compare =>
    compare(CompareTarget.MOD, key, operator, { modRevision: revision }, range),
  value: (key: KeyInput, operator: CompareOperator, value: KeyInput, range?: RangeSpec): Compare =>
    compare(CompareTarget.VALUE, key, operator, { value: toBytes(value) }, range),
  lease: (key: KeyInput, operator: CompareOperator, lease: bigint, range?: RangeSpec): Compare =>
    compare(CompareTarget.LEASE, key, operator, { lease }, range),
};

export type SortTargetName = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
export type SortOrderName = 'NONE' | 'ASCEND' | 'DESCEND';

export interface GetOptions extends RangeSpec {
  limit?: number;
  revision?: number;
  sort?: { target: SortTargetName; order: SortOrderName };
  serializable?: boolean;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: number;
  maxModRevision?: number;
  minCreateRevision?: number;
  maxCreateRevision?: number;
}

export interface PutOptions {
  lease?: bigint;
  prevKv?: boolean;
  ignoreValue?: boolean;
  ignoreLease?: boolean;
}

export interface DeleteOptions extends RangeSpec {
  prevKv?: boolean;
}

export function rangeRequest(key: KeyInput, options: GetOptions = {}): RangeRequest {
  const { key: keyBytes, rangeEnd } = resolveRange(key, options);
  const r: RangeRequest = { key: keyBytes };
  if (rangeEnd) r.rangeEnd = rangeEnd;
  if (options.limit) r.limit = options.limit;
  if (options.revision) r.revision = options.revision;
  if (options.sort) {
    r.sortTarget = SortTarget[options.sort.target];
    r.sortOrder = SortOrder[options.sort.order];
  }
  if (options.serializable) r.serializable = true;
  if (options.keysOnly) r.keysOnly = true;
  if (options.countOnly) r.countOnly = true;
  if (options.minModRevision) r.minModRevision = options.minModRevision;
  if (options.maxModRevision) r.maxModRevision = options.maxModRevision;
  if (options.minCreateRevision) r.minCreateRevision = options.minCreateRevision;
  if (options.maxCreateRevision) r.maxCreateRevision = options.maxCreateRevision;
  return r;
}

export function putRequest(key: KeyInput, value: KeyInput, options: PutOptions = {}): PutRequest {
  const r: PutRequest = { key: toBytes(key), value: toBytes(value) };
  if (options.lease) r.lease = options.lease;
  if (options.prevKv) r.prevKv = true;
  if (options.ignoreValue) r.ignoreValue = true;
  if (options.ignoreLease) r.ignoreLease = true;
  return r;
}

export function deleteRequest(key: KeyInput, options: DeleteOptions = {}): DeleteRangeRequest {
  const { key: keyBytes, rangeEnd } = resolveRange(key, options);
  const r: DeleteRangeRequest = { key: keyBytes };
  if (rangeEnd) r.rangeEnd = rangeEnd;
  if (options.prevKv) r.prevKv = true;
  return r;
}

/** Operation builders for the branches of a transaction. */
export const op = {
  get: (key: KeyInput, options?: GetOptions): RequestOp => ({ requestRange: rangeRequest(key, options) }),
  put: (key: KeyInput, value: KeyInput, options?: PutOptions): RequestOp => ({ requestPut: putRequest(key, value, options) }),
  delete: (key: KeyInput, options?: DeleteOptions): RequestOp => ({ requestDeleteRange: deleteRequest(key, options) }),
  txn: (request: TxnRequest): RequestOp => ({ requestTxn: request }),
};

export class TxnBuilder {
  private readonly request: TxnRequest = { compare: [], success: [], failure: [] };

  constructor(private readonly run: (request: TxnRequest) => Promise<TxnResponse>) {}

  if(...compares: Compare[]): this {
    this.request.compare.push(...compares);
    return this;
  }

  success(...ops: RequestOp[]): this {
    this.request.success.push(...ops);
    return this;
  }

  failure(...ops: RequestOp[]): this {
    this.request.failure.push(...ops);
    return this;
  }

  /** The request as built, e.g. to nest it with op.txn(). */
  build(): TxnRequest {
    return { compare: [...this.request.compare], success: [...this.request.success], failure: [...this.request.failure] };
  }

  commit(): Promise<TxnResponse> {
    return this.run(this.build());
  }
}
