// The checks etcd makes before proposing. Each case below was sent to a real etcd 3.4.23 through its JSON gateway;
// the expected verdict is what that etcd answered.
import test from 'ava';
import { Errors } from '../../actors/api/errors.js';
import type { RequestOp, TxnRequest } from '../../actors/api/types.js';
import { isTxnReadOnly, validateDeleteRange, validateLeaseGrant, validatePut, validateRange, validateTxn } from '../../actors/mvcc/validate.js';
import { b } from './helpers.js';

const P = (key: string): RequestOp => ({ requestPut: { key: b(key), value: b('x') } });
const D = (key: string, end?: string): RequestOp => ({ requestDeleteRange: end === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(end) } });
const R = (key: string): RequestOp => ({ requestRange: { key: b(key) } });
const T = (success: RequestOp[], failure: RequestOp[] = []): RequestOp => ({ requestTxn: { compare: [], success, failure } });
const txn = (success: RequestOp[], failure: RequestOp[] = []): TxnRequest => ({ compare: [], success, failure });
const verdict = (req: TxnRequest) => validateTxn(req)?.message ?? 'ok';
const DUP = Errors.duplicateKey.message;

const cases: Array<[string, TxnRequest, string]> = [
  ['put a, put a', txn([P('a'), P('a')]), DUP],
  ['put a, delete [a,b)', txn([P('a'), D('a', 'b')]), DUP],
  ['delete [a,b), put a', txn([D('a', 'b'), P('a')]), DUP],
  ['delete a, put a', txn([D('a'), P('a')]), DUP],
  ['delete [a,c), delete [b,d)', txn([D('a', 'c'), D('b', 'd')]), 'ok'],
  ['delete a, delete a', txn([D('a'), D('a')]), 'ok'],
  ['put a, nested put a', txn([P('a'), T([P('a')])]), DUP],
  ['nested: success put a, failure put a', txn([T([P('a')], [P('a')])]), 'ok'],
  ['success put a, failure put a', txn([P('a')], [P('a')]), 'ok'],
  ['two nested txns each put a', txn([T([P('a')]), T([P('a')])]), DUP],
  ['nested delete [a,c), outer put b', txn([T([D('a', 'c')]), P('b')]), DUP],
  ['outer delete [a,c), nested put b', txn([D('a', 'c'), T([P('b')])]), DUP],
  ['nested delete a twice', txn([T([D('a')]), T([D('a')])]), 'ok'],
  ['nested success put a, second nested failure put a', txn([T([P('a')]), T([], [P('a')])]), DUP],
  ['nested: success delete [a,c), failure put b', txn([T([D('a', 'c')], [P('b')])]), 'ok'],
  ['doubly nested put a, outer put a', txn([T([T([P('a')])]), P('a')]), DUP],
  ['outer put b, nested failure delete [a,c)', txn([P('b'), T([], [D('a', 'c')])]), DUP],
  ['nested failure put b, then nested delete [a,c)', txn([T([], [P('b')]), T([D('a', 'c')])]), 'ok'],
  ['nested delete [a,c), then nested failure put b', txn([T([D('a', 'c')]), T([], [P('b')])]), DUP],
  ['delete from a ("\\0" end), put b', txn([D('a', '\0'), P('b')]), 'ok'],
  ['inverted delete [zz,a), put zzz', txn([D('zz', 'a'), P('zzz')]), 'ok'],
  ['delete [a,b), put b', txn([D('a', 'b'), P('b')]), 'ok'],
  ['nested put x in both branches, outer put x', txn([T([P('x')], [P('x')]), P('x')]), DUP],
  ['nested put zz in both branches', txn([T([P('zz')], [P('zz')])]), 'ok'],
  ['ranges never conflict', txn([R('a'), P('a'), R('a')]), 'ok'],
];

for (const [name, req, expected] of cases) {
  test(`duplicate keys: ${name} -> ${expected === 'ok' ? 'accepted' : 'rejected'}`, (t) => {
    t.is(verdict(req), expected);
  });
}

test('op counts: 128 per level, nested txns get what the outer level leaves (etcd 3.4.23)', (t) => {
  const puts = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => P(`${prefix}${i}`));
  t.is(verdict(txn(puts(128, 'k'))), 'ok');
  t.is(verdict(txn(puts(129, 'k'))), Errors.tooManyOps.message);
  // 99 puts and one nested txn make 100 at the outer level, leaving 28 for the nested one
  t.is(verdict(txn([...puts(99, 'm'), T(puts(28, 'n'))])), 'ok');
  t.is(verdict(txn([...puts(99, 'm'), T(puts(29, 'n'))])), Errors.tooManyOps.message);
  t.is(validateTxn(txn(puts(5, 'k')), 4)?.message, Errors.tooManyOps.message);
  const compares = Array.from({ length: 129 }, () => ({ key: b('a'), target: 0 as const, result: 0 as const }));
  t.is(verdict({ compare: compares, success: [], failure: [] }), Errors.tooManyOps.message);
});

test('empty keys, values and leases with ignore flags (etcd 3.4.23)', (t) => {
  t.is(validatePut({ key: b(''), value: b('x') })?.message, Errors.emptyKey.message);
  t.is(validatePut({ key: b('k'), value: b('x'), ignoreValue: true })?.message, Errors.valueProvided.message);
  t.is(validatePut({ key: b('k'), value: b(''), ignoreLease: true, lease: 5n })?.message, Errors.leaseProvided.message);
  t.is(validatePut({ key: b('k'), value: b(''), ignoreValue: true, ignoreLease: true }), undefined);
  t.is(validateRange({ key: b('') })?.message, Errors.emptyKey.message);
  t.is(validateDeleteRange({ key: b('') })?.message, Errors.emptyKey.message);
  t.is(verdict({ compare: [{ key: b(''), target: 0, result: 0 }], success: [], failure: [] }), Errors.emptyKey.message);
  t.is(verdict(txn([R('')])), Errors.emptyKey.message);
  t.is(verdict(txn([T([P('')])])), Errors.emptyKey.message);
  t.is(validateLeaseGrant({ TTL: 9_000_000_001 })?.message, Errors.leaseTTLTooLarge.message);
  t.is(validateLeaseGrant({ TTL: 9_000_000_000 }), undefined);
  t.is(validateRange({ key: b('a') }), undefined);
});

test('read-only txns are those whose ops are all ranges (a nested txn counts as a write, as in etcd)', (t) => {
  t.true(isTxnReadOnly(txn([R('a')], [R('b')])));
  t.false(isTxnReadOnly(txn([R('a')], [P('b')])));
  t.false(isTxnReadOnly(txn([T([R('a')])])));
  t.true(isTxnReadOnly(txn([])));
});

test('an unknown sort target is refused at the edge and inside a txn (etcd 3.4.23 crashes on it)', (t) => {
  t.is(validateRange({ key: b('a'), sortTarget: 5 as never })?.message, 'tetcd: unknown sort target 5');
  t.is(validateRange({ key: b('a'), sortTarget: -1 as never })?.code, 3);
  t.is(validateRange({ key: b('a'), sortTarget: 4 }), undefined);
  t.is(verdict(txn([{ requestRange: { key: b('a'), sortTarget: 6 as never } }])), 'tetcd: unknown sort target 6');
});
