// Differential cases for transactions: every compare target and result, compares over ranges and on missing keys,
// both branches, nested txns, what a txn sees of its own writes, and the txn's validation errors.
import test from 'ava';
import { b64, call, diffSuite, get, getPrefix, key, lease, prefixEnd, put, rev, txn, type Body } from './harness.js';

type Target = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
type Result = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
const field: Record<Target, string> = { VERSION: 'version', CREATE: 'create_revision', MOD: 'mod_revision', VALUE: 'value', LEASE: 'lease' };

/** A compare on key `k` (under the case prefix); `operand` goes into the target's field. */
const cmp = (k: string, target: Target, result: Result, operand: Body, extra: Record<string, Body> = {}): Body => ({ key: key(k), target, result, [field[target]]: operand, ...extra });
const opPut = (k: string, v: string, extra: Record<string, Body> = {}): Body => ({ request_put: { key: key(k), value: b64(v), ...extra } });
const opGet = (k: string, extra: Record<string, Body> = {}): Body => ({ request_range: { key: key(k), ...extra } });
const opDel = (k: string, extra: Record<string, Body> = {}): Body => ({ request_delete_range: { key: key(k), ...extra } });
const opTxn = (body: Record<string, Body>): Body => ({ request_txn: body });
/** A txn that reports which branch ran: success reads `a`, failure reads `b`. */
const branch = (...compare: Body[]) => txn({ compare, success: [opGet('a')], failure: [opGet('b')] });

const results: Result[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
const numberTargets: Array<[Target, (n: number) => Body]> = [
  ['VERSION', (n) => String(n)],
  ['CREATE', (n) => rev(n)],
  ['MOD', (n) => rev(n)],
];

diffSuite(test, { area: 'txn' }, [
  ['empty txn succeeds', [txn({})]],
  ['txn without compares runs success', [txn({ success: [opPut('a', '1'), opGet('a')] })]],
  // every numeric target with every result, each below, at and above the key's value (key a: created at base+1, modified at base+2, version 2)
  ...numberTargets.flatMap(([target, operand]): Array<readonly [string, ReturnType<typeof txn>[]]> =>
    results.map((result) => [
      `compare ${target} ${result} below, at and above`,
      [put('a', '1'), put('a', '2'), branch(cmp('a', target, result, operand(1))), branch(cmp('a', target, result, operand(2))), branch(cmp('a', target, result, operand(3)))],
    ]),
  ),
  ...results.map((result): readonly [string, ReturnType<typeof txn>[]] => [
    `compare VALUE ${result}`,
    [put('a', 'm'), branch(cmp('a', 'VALUE', result, b64('a'))), branch(cmp('a', 'VALUE', result, b64('m'))), branch(cmp('a', 'VALUE', result, b64('z'))), branch(cmp('a', 'VALUE', result, b64('ma')))],
  ]),
  ...results.map((result): readonly [string, ReturnType<typeof txn>[]] => [
    `compare LEASE ${result}`,
    [call('/v3/lease/grant', { ID: lease(5), TTL: 60 }), put('a', '1', { lease: lease(5) }), put('b', '1'), branch(cmp('a', 'LEASE', result, lease(5))), branch(cmp('a', 'LEASE', result, lease(4))), branch(cmp('a', 'LEASE', result, lease(6))), branch(cmp('b', 'LEASE', result, '0')), call('/v3/lease/revoke', { ID: lease(5) })],
  ]),
  ['compares on a missing key: version, create and mod are 0, value never matches', [
    branch(cmp('none', 'VERSION', 'EQUAL', '0')),
    branch(cmp('none', 'CREATE', 'EQUAL', '0')),
    branch(cmp('none', 'MOD', 'LESS', '1')),
    branch(cmp('none', 'VALUE', 'EQUAL', '')),
    branch(cmp('none', 'VALUE', 'NOT_EQUAL', b64('x'))),
    branch(cmp('none', 'LEASE', 'EQUAL', '0')),
  ]],
  ['compare with the operand left out compares with zero', [put('a', '1'), txn({ compare: [{ key: key('a'), target: 'VERSION', result: 'GREATER' }], success: [opGet('a')] }), txn({ compare: [{ key: key('a'), target: 'VALUE', result: 'EQUAL' }], success: [opGet('a')] })]],
  ['compare over a range: every key must match', [put('r/a', '1'), put('r/b', '1'), put('r/c', '2'),
    branch(cmp('r/', 'VALUE', 'EQUAL', b64('1'), { range_end: prefixEnd('r/') })),
    branch(cmp('r/a', 'VALUE', 'EQUAL', b64('1'), { range_end: key('r/c') })),
    branch(cmp('r/', 'VERSION', 'GREATER', '0', { range_end: prefixEnd('r/') })),
    branch(cmp('r/', 'MOD', 'LESS', rev(3), { range_end: prefixEnd('r/') })),
    branch(cmp('s/', 'VERSION', 'EQUAL', '5', { range_end: prefixEnd('s/') })),
  ]],
  ['compare over a from-key range ("\\0")', [put('f', '1'), branch(cmp('f', 'VERSION', 'GREATER', '0', { range_end: 'AA==' }))]],
  ['several compares: all must hold', [put('a', '1'), put('b', '2'), branch(cmp('a', 'VALUE', 'EQUAL', b64('1')), cmp('b', 'VALUE', 'EQUAL', b64('2'))), branch(cmp('a', 'VALUE', 'EQUAL', b64('1')), cmp('b', 'VALUE', 'EQUAL', b64('3')))]],
  ['failure branch writes', [put('a', '1'), txn({ compare: [cmp('a', 'VALUE', 'EQUAL', b64('2'))], success: [opPut('a', 'yes')], failure: [opPut('a', 'no', { prev_kv: true }), opGet('a')] }), get('a')]],
  ['all op kinds in one txn', [put('a', '1'), put('d', '1'), txn({ success: [opGet('a'), opPut('b', '2', { prev_kv: true }), opDel('d', { prev_kv: true }), opGet('', { range_end: prefixEnd(''), keys_only: true })] }), getPrefix()]],
  ['a txn sees its own writes', [txn({ success: [opPut('a', '1'), opGet('a'), opPut('b', '1'), opGet('', { range_end: prefixEnd(''), count_only: true })] })]],
  ['puts to several keys share one revision', [txn({ success: [opPut('a', '1'), opPut('b', '2'), opPut('c', '3')] }), getPrefix()]],
  ['delete then read in one txn', [put('a', '1'), txn({ success: [opDel('a'), opGet('a')] })]],
  ['put then delete of the same key is a duplicate', [txn({ success: [opPut('a', '1'), opDel('a')] })]],
  ['delete then put of the same key is a duplicate', [txn({ success: [opDel('a'), opPut('a', '1')] })]],
  ['two puts of one key are a duplicate', [txn({ success: [opPut('a', '1'), opPut('a', '2')] })]],
  ['the same key put in success and in failure is fine', [txn({ success: [opPut('a', '1')], failure: [opPut('a', '2')] }), get('a')]],
  ['overlapping deletes are fine', [put('a', '1'), txn({ success: [opDel('', { range_end: prefixEnd('') }), opDel('a', { prev_kv: true })] })]],
  ['a put inside a delete range is a duplicate', [txn({ success: [opDel('', { range_end: prefixEnd('') }), opPut('x', '1')] })]],
  ['a delete range of a txn conflicts with nested puts (order matters)', [txn({ success: [opTxn({ success: [opPut('b', '1')] }), opDel('a', { range_end: key('c') })] }), txn({ success: [opDel('a', { range_end: key('c') }), opTxn({ success: [opPut('b', '1')] })] })]],
  ['nested txn: both levels, headers of nested responses', [put('a', '1'), txn({ compare: [cmp('a', 'VERSION', 'EQUAL', '1')], success: [opTxn({ compare: [cmp('a', 'VALUE', 'EQUAL', b64('1'))], success: [opPut('b', '2'), opGet('b')], failure: [opGet('a')] }), opGet('b')] })]],
  ['nested txn takes its failure branch', [put('a', '1'), txn({ success: [opTxn({ compare: [cmp('a', 'VALUE', 'EQUAL', b64('0'))], success: [opPut('b', '2')], failure: [opPut('c', '3'), opGet('c')] })] }), getPrefix()]],
  ['three levels of nesting', [txn({ success: [opTxn({ success: [opTxn({ success: [opPut('deep', '1')] }), opGet('deep')] })] }), get('deep')]],
  ['nested duplicate puts across levels', [txn({ success: [opPut('a', '1'), opTxn({ success: [opPut('a', '2')] })] })]],
  ['read-only txn', [put('a', '1'), txn({ compare: [cmp('a', 'VERSION', 'EQUAL', '1')], success: [opGet('a'), opGet('', { range_end: prefixEnd(''), count_only: true })], failure: [] })]],
  ['range inside a txn at an old revision and at a compacted one', [put('a', '1'), put('a', '2'), txn({ success: [opGet('a', { revision: rev(1) })] }), call('/v3/kv/compaction', { revision: rev(2) }), txn({ success: [opGet('a', { revision: rev(1) })] }), txn({ success: [opPut('b', '1'), opGet('a', { revision: rev(1) })] })]],
  ['range inside a txn at a future revision', [txn({ success: [opGet('a', { revision: rev(100) })] }), txn({ success: [opPut('b', '1'), opGet('a', { revision: rev(100) })] })]],
  ['put with ignore_value inside a txn', [put('a', '1'), txn({ success: [opPut('a', '', { ignore_value: true, prev_kv: true }), opGet('a')] })]],
  ['put with ignore_value of a missing key inside a txn', [txn({ success: [opPut('none', '', { ignore_value: true })] }), txn({ success: [opPut('z', '1'), opPut('none', '', { ignore_value: true })] }), get('z')]],
  ['put with a missing lease inside a txn', [txn({ success: [opPut('z', '1'), opPut('y', '1', { lease: '777777' })] }), getPrefix()]],
  ['empty key in a compare, a put, a range and a nested delete', [
    txn({ compare: [{ target: 'VERSION', result: 'EQUAL', version: '0' }] }),
    txn({ success: [{ request_put: { value: b64('v') } }] }),
    txn({ failure: [{ request_range: {} }] }),
    txn({ success: [opTxn({ success: [{ request_delete_range: {} }] })] }),
  ]],
  ['ignore_value with a value and ignore_lease with a lease inside a txn', [txn({ success: [opPut('a', 'x', { ignore_value: true })] }), txn({ success: [opPut('a', 'x', { ignore_lease: true, lease: '1' })] })]],
  ['128 ops pass, 129 are too many', [
    txn({ success: Array.from({ length: 128 }, (_, i) => opPut(`m${i}`, 'v')) }),
    txn({ success: Array.from({ length: 129 }, (_, i) => opGet(`m${i}`)) }),
    txn({ compare: Array.from({ length: 129 }, (_, i) => cmp(`m${i}`, 'VERSION', 'GREATER', '0')) }),
    getPrefix('m', { count_only: true }),
  ]],
  ['nested txns share the op budget', [
    txn({ success: [...Array.from({ length: 100 }, (_, i) => opGet(`n${i}`)), opTxn({ success: Array.from({ length: 29 }, (_, i) => opGet(`o${i}`)) })] }),
    txn({ success: [...Array.from({ length: 100 }, (_, i) => opGet(`n${i}`)), opTxn({ success: Array.from({ length: 28 }, (_, i) => opGet(`o${i}`)) })] }),
  ]],
  ['compare result and target as numbers, unknown names refused', [put('a', '1'), txn({ compare: [{ key: key('a'), target: 0, result: 0, version: '1' }], success: [opGet('a')] }), txn({ compare: [{ key: key('a'), target: 'SIZE', result: 'EQUAL' }] }), txn({ compare: [{ key: key('a'), target: 'VERSION', result: 'ABOUT' }] })]],
  ['compare with an unknown result number', [put('a', '1'), txn({ compare: [{ key: key('a'), target: 'VERSION', result: 9, version: '1' }], success: [opGet('a')], failure: [opGet('b')] })]],
  ['a put with a lease inside a txn, then the lease compare', [call('/v3/lease/grant', { ID: lease(1), TTL: 60 }), txn({ success: [opPut('a', '1', { lease: lease(1) }), opGet('a')] }), branch(cmp('a', 'LEASE', 'EQUAL', lease(1))), call('/v3/lease/revoke', { ID: lease(1) }), branch(cmp('a', 'LEASE', 'EQUAL', lease(1)))]],
  ['compares against a deleted key', [put('a', '1'), call('/v3/kv/deleterange', { key: key('a') }), branch(cmp('a', 'VERSION', 'EQUAL', '0')), branch(cmp('a', 'MOD', 'GREATER', '0')), branch(cmp('a', 'VALUE', 'EQUAL', b64('1')))]],
  ['a txn that changes nothing does not make a revision', [txn({ success: [opDel('none'), opGet('none')] }), put('a', '1'), txn({ compare: [cmp('a', 'VERSION', 'EQUAL', '5')], failure: [opDel('none')] }), get('a')]],
  ['camelCase in txn requests', [txn({ compare: [{ key: key('a'), target: 'CREATE', result: 'EQUAL', createRevision: '0' }], success: [{ requestPut: { key: key('a'), value: b64('1'), prevKv: true } }, { requestRange: { key: key('a'), keysOnly: true } }] })]],
]);
