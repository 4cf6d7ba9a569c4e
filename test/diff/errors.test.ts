// Differential cases for bad input and the edges of the API: malformed JSON, bad base64, wrong types, unknown routes
// and methods, oversized bodies, empty bodies, many watches on one stream; and the maintenance and cluster calls a
// standalone member answers. Status codes and bodies must match etcd's, and nothing stored may change.
import test from 'ava';
import { b64, call, diffSuite, get, getPrefix, key, lines, masked, put, raw, unordered, watch, type Step } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const routes = ['/v3/kv/range', '/v3/kv/put', '/v3/kv/deleterange', '/v3/kv/txn', '/v3/kv/compaction', '/v3/lease/grant', '/v3/lease/revoke', '/v3/lease/timetolive'];
/** The same raw body to every unary KV and lease route (a lease granted from it gets an id the server chose). */
const everywhere = (body: string): Step[] => [...routes.map((route) => raw(route, body, 'POST', [masked('ID')])), { type: 'revokeAllLeases' }];

/** A put whose value makes the request `bytes` long in protobuf terms (give or take a few bytes of framing). */
const bigPut = (k: string, bytes: number): Step => call('/v3/kv/put', { key: key(k), value: b64('x'.repeat(bytes)) });

/** Status fields that depend on the implementation's storage, not on the API. */
const statusMask = masked('dbSize', 'dbSizeInUse', 'raftIndex', 'raftAppliedIndex');

diffSuite(test, { area: 'errors' }, [
  ['malformed JSON on every route', ['{', '{"key":', 'x', '{"key":"YQ=="', '{"key" "YQ=="}', '{"key":"YQ==",}', '\u00ef\u00bb\u00bf{}'].flatMap(everywhere)],
  ['a non-object top level on every route', ['[]', '"text"', '5', 'true'].flatMap(everywhere)],
  ['empty bodies and null', ['', ' ', 'null', '{}'].flatMap((body): Step[] => [raw('/v3/kv/range', body), raw('/v3/kv/put', body), raw('/v3/kv/compaction', body), raw('/v3/lease/grant', body, 'POST', [masked('ID')]), raw('/v3/lease/revoke', body), { type: 'revokeAllLeases' }])],
  ['bad base64', ['"Zm9v!"', '"Zm9"', '"_-8="', '"Zm9v\\n"', '"Zm\\r\\n9v"', '[102,111,111]', '[256]', '5', '{}'].map((k) => raw('/v3/kv/range', `{"key":${k}}`))],
  ['wrong types in int64, bool and enum fields', [
    ...['"abc"', '""', '"5 6"', '"-"', '1.5', '1e3', '99999999999999999999', 'true', '{}', '[]'].map((v) => raw('/v3/kv/range', `{"key":"YQ==","limit":${v}}`)),
    ...['"true"', '1', '0', 'null', '[]'].map((v) => raw('/v3/kv/range', `{"key":"YQ==","count_only":${v}}`)),
    ...['"1"', '"descend"', '2147483648', '1.5', 'true'].map((v) => raw('/v3/kv/range', `{"key":"YQ==","sort_order":${v}}`)),
  ]],
  ['wrong types in nested messages and lists', [
    raw('/v3/kv/txn', '{"compare":{}}'),
    raw('/v3/kv/txn', '{"compare":[5]}'),
    raw('/v3/kv/txn', '{"success":[{"request_put":5}]}'),
    raw('/v3/kv/txn', '{"success":[{"request_put":{"key":"!!"}}]}'),
    raw('/v3/kv/txn', '{"compare":[{"key":"YQ==","target":"VERSION","result":"EQUAL","version":"x"}]}'),
    raw('/v3/lease/timetolive', '{"ID":"5","keys":"yes"}'),
    raw('/v3/lease/grant', '{"TTL":{"seconds":5}}'),
  ]],
  ['camelCase wins over the proto name; unknown fields are ignored', [
    raw('/v3/kv/put', JSON.stringify({ key: b64('errors/cc/a'), value: b64('1'), prev_kv: false, prevKv: true, Key: 'x', extra: [1, 2] })),
    raw('/v3/kv/range', JSON.stringify({ key: b64('errors/cc/a'), keysOnly: true, keys_only: false, count_only: null })),
  ]],
  ['only the first JSON value of a body is read', [raw('/v3/kv/range', `{"key":"${b64('errors/first')}"} {"key":"x"}`), raw('/v3/kv/range', `{"key":"${b64('errors/first')}"}garbage`)]],
  ['unknown routes, wrong methods, other prefixes', [
    raw('/v3/kv/nope', '{}'),
    raw('/v3/kv/range/', '{}'),
    raw('/v3/kv/range', '', 'GET'),
    raw('/v3/kv/put', '{}', 'PUT'),
    raw('/v3alpha/kv/range', '{}'),
    raw('/v2/keys', '{}'),
    raw('/nothing', '', 'GET'),
    raw('/v3beta/kv/range', `{"key":"${b64('x')}"}`),
    raw('/v3/kv/range?x=1', `{"key":"${b64('x')}"}`),
    raw('/version', '', 'GET'),
    raw('/version', '{}'),
    raw('/health', '{}'),
    raw('/health', '', 'GET'),
    raw('/health?serializable=true', '', 'GET'),
    raw('/v3/watch', '', 'GET'),
  ]],
  ['requests over --max-request-bytes are refused and store nothing', [
    bigPut('big', 1.5 * MiB - 64),
    bigPut('big2', 1.5 * MiB + 64),
    bigPut('big3', 2 * MiB + 64),
    get('big', { keys_only: true }),
    getPrefix('big', { count_only: true }),
    call('/v3/kv/txn', { success: [{ request_put: { key: key('t1'), value: b64('y'.repeat(800 * KiB)) } }, { request_put: { key: key('t2'), value: b64('y'.repeat(800 * KiB)) } }] }),
    getPrefix('t', { count_only: true }),
  ]],
  ['an oversized key in a range', [call('/v3/kv/range', { key: b64('k'.repeat(1.5 * MiB + 10)) }), call('/v3/kv/range', { key: b64('k'.repeat(2 * MiB + 10)) })]],
  ['errors leave the store as it was', [put('a', '1'), ...everywhere('{"key":"!!"}'), raw('/v3/kv/put', '{"key":"YQ==","value":5}'), get('a'), getPrefix('', { count_only: true })]],
  ['many watches on one stream', [
    ...Array.from({ length: 300 }, (_, i): Step => watch('w', { create_request: { key: key(`w${i % 10}`) } })),
    lines('w', 300),
    put('w3', 'x'),
    { type: 'lines', stream: 'w', count: 30, anyOrder: true },
  ]],
  ['maintenance: status, alarm list, defragment, hash shape, leader transfer', [
    call('/v3/maintenance/status', {}, [statusMask]),
    call('/v3/maintenance/alarm', {}),
    call('/v3/maintenance/alarm', { action: 'GET', alarm: 'NOSPACE' }),
    call('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '1', alarm: 'NOSPACE' }),
    call('/v3/maintenance/defragment', {}),
    call('/v3/maintenance/hash', {}, [masked('hash')]),
    call('/v3/maintenance/transfer-leadership', { targetID: '5' }),
    call('/v3/maintenance/transfer-leadership', {}),
  ]],
  ['alarms: activate for other members and for member 0, writes refused while NOSPACE is active', [
    call('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '7', alarm: 'NOSPACE' }),
    call('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '7', alarm: 'NOSPACE' }),
    call('/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: '0', alarm: 'CORRUPT' }),
    // etcd lists alarms in Go map order (random)
    call('/v3/maintenance/alarm', { action: 'GET' }, [unordered('alarms')]),
    call('/v3/maintenance/alarm', { action: 'GET', alarm: 'CORRUPT' }),
    put('a', '1'),
    call('/v3/kv/txn', { success: [{ request_range: { key: key('a') } }] }),
    call('/v3/kv/deleterange', { key: key('a') }),
    call('/v3/maintenance/status', {}, [statusMask, unordered('errors')]),
    call('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '0', alarm: 'CORRUPT' }),
    call('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '7', alarm: 'NOSPACE' }),
    call('/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: '7', alarm: 'NOSPACE' }),
    call('/v3/maintenance/alarm', { action: 'GET' }),
    put('a', '2'),
  ]],
  ['cluster: member list', [call('/v3/cluster/member/list', {}, [masked('members.*.clientURLs')])]],
]);
