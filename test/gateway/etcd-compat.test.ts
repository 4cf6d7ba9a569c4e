// Differential tests against a real etcd 3.4: what etcd's gateway writes, read back into the API's types and encoded
// again by tetcd's encoders, must come out byte for byte; what etcd refuses in a request body, tetcd's gateway must
// refuse with the same status and the same body; routing answers (404, 405, redirects, /v3beta) must match.
import test from 'ava';
import { encodeUnaryError } from '../../actors/gateway/json/encode.js';
import * as enc from '../../actors/gateway/json/encode.js';
import { startGateway, type Gateway } from '../../actors/gateway/http.js';
import { httpStatusOf } from '../../actors/gateway/status.js';
import { startEtcd, type RealEtcd } from '../helpers/etcd.js';
import { openStream, post, request } from './client.js';
import * as read from './etcd-json.js';
import { FakeApi } from './fake-api.js';

let etcd: RealEtcd | undefined;
let gateway: Gateway | undefined;
let etcdUrl = '';
let gatewayUrl = '';

test.before(async () => {
  etcd = await startEtcd();
  etcdUrl = etcd.clientUrl;
  gateway = await startGateway({ api: new FakeApi() });
  gatewayUrl = `http://127.0.0.1:${gateway.port}`;
});

test.after.always(async () => {
  gateway?.close();
  await etcd?.stop();
});

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Posts to etcd, checks 200, and checks that read-then-encode reproduces etcd's bytes. */
async function roundTrip<T>(t: import('ava').ExecutionContext, path: string, body: unknown, decode: (v: unknown) => T, encode: (v: T) => string): Promise<unknown> {
  const reply = await post(etcdUrl, path, typeof body === 'string' ? body : JSON.stringify(body));
  t.is(reply.status, 200, `${path} ${reply.text}`);
  t.is(encode(decode(JSON.parse(reply.text))), reply.text, path);
  return JSON.parse(reply.text);
}

/** Posts to etcd, expects an error, and checks the body is what tetcd writes for that code and message. */
async function errorTrip(t: import('ava').ExecutionContext, path: string, body: string, expectedCode: number): Promise<string> {
  const reply = await post(etcdUrl, path, body);
  const parsed = JSON.parse(reply.text) as { error: string; message: string; code: number };
  t.is(parsed.code, expectedCode, reply.text);
  t.is(reply.status, httpStatusOf(parsed.code), `status of code ${parsed.code}`);
  t.is(encodeUnaryError(parsed.code, parsed.message), reply.text);
  return parsed.message;
}

test.serial('kv: range, put, delete and their edge encodings match etcd byte for byte', async (t) => {
  await roundTrip(t, '/v3/kv/range', { key: b64('foo') }, read.range, enc.encodeRange); // empty: header only
  await roundTrip(t, '/v3/kv/put', { key: b64('foo'), value: b64('bar') }, read.put, enc.encodePut);
  await roundTrip(t, '/v3/kv/put', { key: b64('foo'), value: b64('baz'), prev_kv: true }, read.put, enc.encodePut);
  await roundTrip(t, '/v3/kv/put', { key: b64('empty'), value: '' }, read.put, enc.encodePut); // kv without value
  await roundTrip(t, '/v3/kv/put', { key: b64('k\u00ff\u0000'), value: b64('\u0001\u0002') }, read.put, enc.encodePut);
  const lease = (await roundTrip(t, '/v3/lease/grant', { TTL: 60 }, read.leaseGrant, enc.encodeLeaseGrant)) as { ID: string };
  await roundTrip(t, '/v3/kv/put', { key: b64('leased'), value: b64('x'), lease: lease.ID }, read.put, enc.encodePut);
  await roundTrip(t, '/v3/kv/range', { key: b64('foo') }, read.range, enc.encodeRange);
  await roundTrip(t, '/v3/kv/range', { key: 'AA==', range_end: 'AA==' }, read.range, enc.encodeRange); // lease, empty value
  const limited = (await roundTrip(t, '/v3/kv/range', { key: 'AA==', range_end: 'AA==', limit: 1 }, read.range, enc.encodeRange)) as { more?: boolean };
  t.true(limited.more);
  await roundTrip(t, '/v3/kv/range', { key: 'AA==', range_end: 'AA==', count_only: true }, read.range, enc.encodeRange);
  await roundTrip(t, '/v3/kv/range', { key: 'AA==', range_end: 'AA==', keys_only: true, sort_order: 'DESCEND' }, read.range, enc.encodeRange);
  await roundTrip(t, '/v3/kv/deleterange', { key: b64('nothing') }, read.deleteRange, enc.encodeDeleteRange);
  await roundTrip(t, '/v3/kv/deleterange', { key: b64('empty'), prev_kv: true }, read.deleteRange, enc.encodeDeleteRange);
});

test.serial('txn: nested sub-responses carry only a revision header, a nested txn an empty header', async (t) => {
  const body = {
    compare: [{ key: b64('foo'), target: 'VALUE', result: 'EQUAL', value: b64('baz') }],
    success: [
      { request_range: { key: b64('foo') } },
      { request_put: { key: b64('t1'), value: b64('v') } },
      { request_delete_range: { key: b64('t0'), prev_kv: true } },
      { request_txn: { success: [{ request_range: { key: b64('foo'), count_only: true } }, { requestPut: { key: b64('t2'), value: b64('w') } }] } },
    ],
  };
  const ok = (await roundTrip(t, '/v3/kv/txn', body, read.txn, enc.encodeTxn)) as { succeeded?: boolean; responses: Array<Record<string, { header: unknown }>> };
  t.true(ok.succeeded);
  t.deepEqual(Object.keys(ok.responses[3]!.response_txn!.header as object), []);
  const failed = (await roundTrip(t, '/v3/kv/txn', { ...body, compare: [{ ...body.compare[0], value: b64('nope') }], failure: [{ request_range: { key: b64('foo') } }] }, read.txn, enc.encodeTxn)) as { succeeded?: boolean };
  t.is(failed.succeeded, undefined);
  await roundTrip(t, '/v3/kv/txn', {}, read.txn, enc.encodeTxn);
});

test.serial('compaction, leases and maintenance responses match etcd byte for byte', async (t) => {
  const status = (await roundTrip(t, '/v3/maintenance/status', '', read.status, enc.encodeStatus)) as { header: { revision: string } };
  await roundTrip(t, '/v3/kv/compaction', { revision: 2 }, read.headerOnly, enc.encodeHeaderOnly);
  t.regex(await errorTrip(t, '/v3/kv/compaction', '{"revision":2}', 11), /compacted/);
  t.regex(await errorTrip(t, '/v3/kv/compaction', `{"revision":${Number(status.header.revision) + 1000}}`, 11), /future revision/);
  const lease = (await roundTrip(t, '/v3/lease/grant', { TTL: 30, ID: 4242 }, read.leaseGrant, enc.encodeLeaseGrant)) as { ID: string };
  await roundTrip(t, '/v3/kv/put', { key: b64('lk'), value: b64('v'), lease: 4242 }, read.put, enc.encodePut);
  await roundTrip(t, '/v3/lease/timetolive', { ID: lease.ID, keys: true }, read.leaseTimeToLive, enc.encodeLeaseTimeToLive);
  await roundTrip(t, '/v3/kv/lease/timetolive', { ID: 99999 }, read.leaseTimeToLive, enc.encodeLeaseTimeToLive); // TTL -1
  await roundTrip(t, '/v3/lease/leases', '', read.leaseLeases, enc.encodeLeaseLeases);
  await roundTrip(t, '/v3/kv/lease/leases', '{}', read.leaseLeases, enc.encodeLeaseLeases);
  t.regex(await errorTrip(t, '/v3/lease/grant', '{"TTL":30,"ID":4242}', 9), /lease already exists/);
  await roundTrip(t, '/v3/kv/lease/revoke', { ID: 4242 }, read.headerOnly, enc.encodeHeaderOnly);
  t.regex(await errorTrip(t, '/v3/lease/revoke', '{"ID":4242}', 5), /requested lease not found/);
  t.regex(await errorTrip(t, '/v3/lease/grant', '{"TTL":9000000001}', 11), /too large lease TTL/);
  await roundTrip(t, '/v3/maintenance/status', '', read.status, enc.encodeStatus);
  await roundTrip(t, '/v3/maintenance/hash', '{"revision":5}', read.hash, enc.encodeHash);
  await roundTrip(t, '/v3/maintenance/defragment', '', read.defragment, enc.encodeHeaderOnly);
  await roundTrip(t, '/v3/maintenance/alarm', { action: 'GET' }, read.alarm, enc.encodeAlarm); // {}
  const member = JSON.parse((await post(etcdUrl, '/v3/cluster/member/list', '')).text).header.member_id as string;
  await roundTrip(t, '/v3/maintenance/alarm', { action: 'ACTIVATE', memberID: member, alarm: 'NOSPACE' }, read.alarm, enc.encodeAlarm);
  t.regex(await errorTrip(t, '/v3/kv/put', `{"key":"${b64('x')}"}`, 8), /database space exceeded/);
  t.is((await request(etcdUrl, '/health', { method: 'GET' })).text, '{"health":"false"}\n');
  await roundTrip(t, '/v3/maintenance/alarm', { action: 'DEACTIVATE', memberID: member, alarm: 1 }, read.alarm, enc.encodeAlarm);
  t.is((await request(etcdUrl, '/health', { method: 'GET' })).text, '{"health":"true"}');
  t.regex(await errorTrip(t, '/v3/maintenance/transfer-leadership', '{"targetID":5}', 9), /bad leader transferee/);
});

test.serial('cluster: member list, add (learner) and remove match etcd byte for byte', async (t) => {
  await roundTrip(t, '/v3/cluster/member/list', '', read.members, enc.encodeMembers);
  const added = (await roundTrip(t, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:1'], isLearner: true }, read.memberAdd, enc.encodeMemberAdd)) as { member: { ID: string } };
  await roundTrip(t, '/v3/cluster/member/list', '', read.members, enc.encodeMembers);
  await roundTrip(t, '/v3/cluster/member/remove', { ID: added.member.ID }, read.members, enc.encodeMembers);
  t.regex(await errorTrip(t, '/v3/cluster/member/remove', `{"ID":"${added.member.ID}"}`, 5), /member not found/);
});

test.serial('watch stream: created, events, prev_kv, cancel, progress and compaction lines match etcd', async (t) => {
    // etcd holds stream responses until the request body ends unless the client sent Expect: 100-continue.
  const stream = openStream(etcdUrl, '/v3/watch', {
    headers: { expect: '100-continue' },
    body:
      JSON.stringify({ create_request: { key: b64('w/'), range_end: b64('w0'), prev_kv: true } }) +
      JSON.stringify({ create_request: { key: b64('foo'), start_revision: 1 } }) + // compacted: canceled with compact_revision
      JSON.stringify({ createRequest: { key: b64('w/a'), watch_id: 7 } }) +
      JSON.stringify({ create_request: { key: b64('w/a'), watch_id: 7 } }) + // duplicate id
      JSON.stringify({ progress_request: {} }),
  });
  try {
    await stream.waitForLines(4);
    await post(etcdUrl, '/v3/kv/put', JSON.stringify({ key: b64('w/a'), value: b64('1') }));
    await post(etcdUrl, '/v3/kv/put', JSON.stringify({ key: b64('w/a'), value: b64('2') }));
    await post(etcdUrl, '/v3/kv/deleterange', JSON.stringify({ key: b64('w/a') }));
    stream.write(JSON.stringify({ cancel_request: { watch_id: 7 } }));
    const lines = await stream.waitForLines(13, 10_000);
    for (const line of lines) {
      const doc = JSON.parse(line) as { result: unknown };
      t.deepEqual(Object.keys(doc), ['result']);
      t.is(enc.streamResult(enc.encodeWatch(read.watch(doc.result))), line + '\n');
    }
    const text = lines.join('\n');
    t.regex(text, /"created":true/);
    t.regex(text, /"type":"DELETE"/);
    t.regex(text, /"prev_kv":/);
    t.regex(text, /"compact_revision":"/);
    t.regex(text, /"cancel_reason":"mvcc: duplicate watch ID provided on the WatchStream"/);
    t.regex(text, /"watch_id":"7","canceled":true/);
    // etcd keeps a watch open after the request body ends
    stream.endInput();
    t.false(await stream.ended(500));
  } finally {
    stream.close();
  }
});

test.serial('keep-alive stream: responses match etcd and the stream ends at request-body EOF', async (t) => {
  await post(etcdUrl, '/v3/lease/grant', JSON.stringify({ TTL: 60, ID: 777 }));
  const stream = openStream(etcdUrl, '/v3/lease/keepalive', { body: '{"ID":777}{"ID":"778"}' });
  stream.write('{"ID":');
  stream.write('777}');
  stream.endInput();
  try {
    t.true(await stream.ended(5_000));
    t.is(stream.lines.length, 3);
    for (const line of stream.lines) {
      const doc = JSON.parse(line) as { result: unknown };
      t.is(enc.streamResult(enc.encodeLeaseKeepAlive(read.leaseKeepAlive(doc.result))), line + '\n');
    }
    t.regex(stream.lines[1]!, /"ID":"778"}}$/); // unknown lease: TTL 0 omitted
  } finally {
    stream.close();
  }
});

test.serial('snapshot stream chunks match etcd byte for byte', async (t) => {
  const reply = await post(etcdUrl, '/v3/maintenance/snapshot', '');
  t.is(reply.status, 200);
  const lines = reply.text.split('\n').filter((l) => l.length > 0);
  t.true(lines.length >= 2);
  for (const line of lines) t.is(enc.streamResult(enc.encodeSnapshot(read.snapshot((JSON.parse(line) as { result: unknown }).result))), line + '\n');
});

/** Bodies etcd refuses before reaching the server (decode errors), and a few it accepts. */
const badBodies: Array<[string, string]> = [
  ['/v3/kv/range', '{"key":"Zm9v",'],
  ['/v3/kv/range', '{"key":"Zm9v!"}'],
  ['/v3/kv/range', '{"key":"_-8="}'],
  ['/v3/kv/range', '{"key":"Zm9"}'],
  ['/v3/kv/range', '{"key":"Zg=x"}'],
  ['/v3/kv/range', '{"key":"Zg==Zg=="}'],
  ['/v3/kv/range', '{"key":"=Zg="}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"abc"}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":5.0}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":1e3}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":true}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":99999999999999999999}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":""}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"5 6"}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"-"}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"tru"}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":"\\u0035"}'],
  ['/v3/kv/range', '{"key":"Zm9v","limit":[]}'],
  ['/v3/kv/range', '{"key":"Zm9v","serializable":"true"}'],
  ['/v3/kv/range', '{"key":"Zm9v","serializable":1}'],
  ['/v3/kv/range', '{"key":1}'],
  ['/v3/kv/range', '{"key":{}}'],
  ['/v3/kv/range', '{"key":[99,256]}'],
  ['/v3/kv/range', '{"key":[99,"a"]}'],
  ['/v3/kv/range', '{"key":[1.5]}'],
  ['/v3/kv/range', '[]'],
  ['/v3/kv/range', '"x"'],
  ['/v3/kv/range', '5'],
  ['/v3/kv/range', 'x'],
  ['/v3/kv/range', '{"key":"Zm9v" "a":1}'],
  ['/v3/kv/range', '{"key" "Zm9v"}'],
  ['/v3/kv/range', '{key:1}'],
  ['/v3/kv/range', '{"a":1,}'],
  ['/v3/kv/range', '{"a":[1,]}'],
  ['/v3/kv/range', '{"a":[1 2]}'],
  ['/v3/kv/range', '{"a":01}'],
  ['/v3/kv/range', '{"a":-}'],
  ['/v3/kv/range', '{"a":1.}'],
  ['/v3/kv/range', '{"a":1e}'],
  ['/v3/kv/range', '{"a":tx}'],
  ['/v3/kv/range', '{"a":nul}'],
  ['/v3/kv/range', '{"a":"\\x"}'],
  ['/v3/kv/range', '{"a":"\\u12g4"}'],
  ['/v3/kv/range', '{"a":"\u0001"}'],
  ['/v3/kv/range', '\ufeff{}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":"NOPE"}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":"1"}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":"\\u0041"}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":true}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":1.5}'],
  ['/v3/kv/range', '{"key":"Zm9v","sort_order":2147483648}'],
  ['/v3/kv/range', '{"sort_target":"X","sort_order":"Y"}'],
  ['/v3/kv/range', '{"key":"Zm9v","range_end":5,"rangeEnd":"x!"}'],
  ['/v3/kv/put', '{"key":"Zm9v","value":"YmFy","lease":"x"}'],
  ['/v3/kv/put', '{"key":"Zm9v","prev_kv":"yes"}'],
  ['/v3/kv/txn', '{"success":{}}'],
  ['/v3/kv/txn', '{"success":[5]}'],
  ['/v3/kv/txn', '{"compare":[{"key":"Yw==","target":"VALUEX","result":"BAD"}]}'],
  ['/v3/kv/txn', '{"compare":[{"key":"Yw==","target":"VALUE","value":5}]}'],
  ['/v3/kv/txn', '{"success":[{"request_put":{"key":"!"}}]}'],
  ['/v3/cluster/member/remove', '{"ID":-1}'],
  ['/v3/cluster/member/remove', '{"ID":18446744073709551616}'],
  ['/v3/cluster/member/update', '{"ID":1,"peerURLs":"x"}'],
  ['/v3/cluster/member/update', '{"ID":1,"peerURLs":[1]}'],
  ['/v3/maintenance/alarm', '{"action":"NOPE"}'],
  ['/v3/maintenance/alarm', '{"alarm":"NOPE"}'],
  ['/v3/lease/grant', '{"TTL":{}}'],
  ['/v3/lease/timetolive', '{"ID":1,"keys":"x"}'],
];

test.serial('request bodies etcd refuses are refused by tetcd with the same status and body', async (t) => {
  for (const [path, body] of badBodies) {
    const theirs = await post(etcdUrl, path, body);
    const ours = await post(gatewayUrl, path, body);
    t.is(theirs.status, 400, `etcd accepted ${body}: ${theirs.text}`);
    t.is(ours.status, theirs.status, `${path} ${body}`);
    t.is(ours.text, theirs.text, `${path} ${body}`);
  }
});

test.serial('routing answers match etcd: 404 inside and outside /v3, 405, redirects, /v3beta, OPTIONS', async (t) => {
  const probes: Array<[string, string]> = [
    ['POST', '/v3/kv/nope'],
    ['POST', '/v3/nope'],
    ['POST', '/nope'],
    ['POST', '/v3alpha/kv/range'],
    ['POST', '/v3/kv/range/'],
    ['GET', '/v3/kv/range'],
    ['PUT', '/v3/kv/put'],
    ['GET', '/v3/watch'],
    ['POST', '/health'],
    ['POST', '/version'],
    ['POST', '/v3//kv/range'],
    ['OPTIONS', '/v3/kv/range'],
  ];
  for (const [method, path] of probes) {
    const theirs = await request(etcdUrl, path, { method, body: method === 'GET' ? undefined : '{}' });
    const ours = await request(gatewayUrl, path, { method, body: method === 'GET' ? undefined : '{}' });
    t.is(ours.status, theirs.status, `${method} ${path}`);
    t.is(ours.text, theirs.text, `${method} ${path}`);
    for (const header of ['content-type', 'location', 'allow', 'access-control-allow-origin', 'x-content-type-options']) {
      t.is(ours.headers[header], theirs.headers[header], `${method} ${path} ${header}`);
    }
  }
  const beta = await post(etcdUrl, '/v3beta/kv/range', JSON.stringify({ key: b64('foo') }));
  t.is(beta.status, 200);
  t.is((await post(gatewayUrl, '/v3beta/kv/range', '{}')).text, (await post(etcdUrl, '/v3beta/kv/range', '{}')).text);
  const version = await request(etcdUrl, '/version', { method: 'GET' });
  t.is(enc.encodeVersion(JSON.parse(version.text)), version.text);
  t.is(version.headers['content-type'], 'application/json');
});

test.serial('success headers and stream error framing match etcd', async (t) => {
  const theirs = await post(etcdUrl, '/v3/kv/range', JSON.stringify({ key: b64('foo') }));
  const ours = await post(gatewayUrl, '/v3/kv/range', JSON.stringify({ key: b64('foo') }));
  for (const header of ['content-type', 'grpc-metadata-content-type', 'access-control-allow-headers', 'access-control-allow-methods', 'access-control-allow-origin']) {
    t.is(ours.headers[header], theirs.headers[header], header);
  }
  // A first stream message that does not decode fails the call with 500 and code 2, on both.
  for (const [path, body] of [['/v3/watch', '{"create_request":{"key":"Zm9v!"}}'], ['/v3/lease/keepalive', '{"ID":true}'], ['/v3/watch', '{x']] as const) {
    const theirStream = await post(etcdUrl, path, body);
    const ourStream = await post(gatewayUrl, path, body);
    t.is(ourStream.status, theirStream.status, `${path} ${body}`);
    t.is(ourStream.text, theirStream.text, `${path} ${body}`);
  }
});
