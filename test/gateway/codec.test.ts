// The JSON codec in isolation: the reader against JSON.parse on random documents, Go's base64 rules, Go's string
// escaping, the jsonpb field rules, the encoders' omissions and the fan-out cache.
import test from 'ava';
import fc from 'fast-check';
import type { Event, WatchResponse } from '../../actors/api/types.js';
import { Base64Error, decodeBase64, encodeBase64 } from '../../actors/gateway/json/base64.js';
import { decodeBody, decoders, RequestDecodeError } from '../../actors/gateway/json/decode.js';
import * as enc from '../../actors/gateway/json/encode.js';
import { goJsonString, goQuote } from '../../actors/gateway/json/gotext.js';
import { encodeWatchMessages } from '../../actors/gateway/json/watch-batch.js';
import { putSize, txnSize } from '../../actors/gateway/json/protosize.js';
import { JsonEndOfInputError, JsonSyntaxError, readFirstValue, readWholeValue, stringValue, type JsonNode } from '../../actors/gateway/json/reader.js';

function toPlain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object':
      return Object.fromEntries([...node.fields].map(([k, v]) => [k, toPlain(v)]));
    case 'array':
      return node.items.map(toPlain);
    case 'string':
      return stringValue(node);
    case 'number':
      return Number(node.text);
    case 'true':
      return true;
    case 'false':
      return false;
    case 'null':
      return null;
  }
}

test('reader: accepts what JSON.parse accepts, with the same value', (t) => {
  fc.assert(
    fc.property(fc.json({ maxDepth: 4 }), (text) => {
      const node = readWholeValue(Buffer.from(text));
      t.deepEqual(toPlain(node), JSON.parse(text));
    }),
    { numRuns: 1_000 },
  );
  t.pass();
});

test('reader: refuses what JSON.parse refuses (mutated documents), never with a non-syntax error', (t) => {
  let refused = 0;
  fc.assert(
    fc.property(fc.json({ maxDepth: 3 }), fc.nat(), fc.integer({ min: 0, max: 127 }), (text, at, byte) => {
      const bytes = Buffer.from(text);
      const index = at % (bytes.length + 1);
      const mutated = Buffer.concat([bytes.subarray(0, index), Buffer.from([byte]), bytes.subarray(index + 1)]);
      let ours: 'ok' | 'error' = 'ok';
      try {
        readWholeValue(mutated);
      } catch (error) {
        if (!(error instanceof JsonSyntaxError) && !(error instanceof JsonEndOfInputError)) throw error;
        ours = 'error';
      }
      let theirs: 'ok' | 'error' = 'ok';
      try {
        JSON.parse(mutated.toString('latin1'));
      } catch {
        theirs = 'error';
      }
      if (theirs === 'error') refused++;
      return ours === theirs;
    }),
    { numRuns: 1_500 },
  );
  t.true(refused > 100);
});

test('reader: the first value of a stream is read as json.Decoder reads it', (t) => {
  t.deepEqual(toPlain(readFirstValue(Buffer.from('{"a":1} garbage')).node!), { a: 1 });
  t.is(readFirstValue(Buffer.from('  \n\t')).node, undefined);
  t.throws(() => readFirstValue(Buffer.from('{"a":')), { instanceOf: JsonEndOfInputError, message: 'unexpected EOF' });
  t.throws(() => readWholeValue(Buffer.from('{"a":')), { instanceOf: JsonEndOfInputError, message: 'unexpected end of JSON input' });
  t.throws(() => readWholeValue(Buffer.from('"\\u00')), { message: "invalid character ' ' in \\u hexadecimal character escape" });
  t.throws(() => readWholeValue(Buffer.from('1.')), { message: "invalid character ' ' after decimal point in numeric literal" });
  t.throws(() => readWholeValue(Buffer.from('[1] x')), { message: "invalid character 'x' after top-level value" });
  t.throws(() => readWholeValue(Buffer.from('\x00')), { message: "invalid character '\\x00' looking for beginning of value" });
  t.throws(() => readWholeValue(Buffer.from([0xa0])), { message: "invalid character '\\u00a0' looking for beginning of value" });
  t.throws(() => readWholeValue(Buffer.from("'")), { message: "invalid character '\\'' looking for beginning of value" });
  t.throws(() => readWholeValue(Buffer.from('['.repeat(10_001))), { message: 'exceeded max depth' });
  // duplicate keys: the last wins; escaped keys are unescaped
  t.deepEqual(toPlain(readWholeValue(Buffer.from('{"k\\u0065y":1,"key":2}'))), { key: 2 });
  // invalid UTF-8 and lone surrogates become U+FFFD, as Go does
  t.is(stringValue(readWholeValue(Buffer.from([0x22, 0xff, 0x61, 0x22])) as never), '\ufffda');
  t.is(stringValue(readWholeValue(Buffer.from('"\\ud800x"')) as never), '\ufffdx');
  t.is(stringValue(readWholeValue(Buffer.from('"\\ud83d\\ude00"')) as never), '😀');
});

test('base64: Go standard encoding, strict padding, CR/LF skipped, Go error offsets', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const text = Buffer.from(encodeBase64(bytes));
      t.deepEqual(Buffer.from(decodeBase64(text)), Buffer.from(bytes));
    }),
    { numRuns: 1_000 },
  );
  const offset = (s: string) => {
    try {
      decodeBase64(Buffer.from(s));
      return -1;
    } catch (error) {
      t.true(error instanceof Base64Error);
      return (error as Base64Error).offset;
    }
  };
  t.is(offset('Zm9v!'), 4);
  t.is(offset('_-8='), 0);
  t.is(offset('Zm9'), 0);
  t.is(offset('Zm9vZg'), 4);
  t.is(offset('Zg=x'), 2);
  t.is(offset('Zg=='), -1);
  t.is(offset('Zg==Zg=='), 4);
  t.is(offset('=Zg='), 0);
  t.is(offset('Zg='), 3);
  t.deepEqual(Buffer.from(decodeBase64(Buffer.from('Zm\r\n9v'))).toString(), 'foo');
  t.is(encodeBase64(new Uint8Array(0)), '');
});

test('Go text: JSON strings are HTML-safe and quote like Go', (t) => {
  t.is(goJsonString('plain'), '"plain"');
  t.is(goJsonString('<a & b>'), '"\\u003ca \\u0026 b\\u003e"');
  t.is(goJsonString('"\\\n\r\t\b\f\u0001'), '"\\"\\\\\\n\\r\\t\\u0008\\u000c\\u0001"');
  t.is(goJsonString('\u2028\u2029é😀'), '"\\u2028\\u2029é😀"');
  t.is(goJsonString('\ud800'), '"\\ufffd"');
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => JSON.parse(goJsonString(s)) === s));
  t.is(goQuote('\\u0041'), '"\\\\u0041"');
  t.is(goQuote('a"b'), '"a\\"b"');
  t.is(goQuote('\xff'), '"\\xff"');
});

test('jsonpb rules: camelCase wins over the proto name, null is unset, enums by name or number', (t) => {
  const range = decodeBody(Buffer.from('{"key":"YQ==","range_end":"AA==","rangeEnd":"Yg==","sort_order":"DESCEND","sortTarget":4,"limit":"10","min_mod_revision":null}'), decoders.range);
  t.deepEqual(Buffer.from(range.rangeEnd!).toString(), 'b');
  t.is(range.sortOrder, 2);
  t.is(range.sortTarget, 4);
  t.is(range.limit, 10);
  t.is(range.minModRevision, undefined);
  const put = decodeBody(Buffer.from('{"key":[102,111,111],"value":"","lease":"9223372036854775807"}'), decoders.put);
  t.is(Buffer.from(put.key).toString(), 'foo');
  t.is(put.lease, 9223372036854775807n);
  const member = decodeBody(Buffer.from('{"ID":18446744073709551615}'), decoders.memberRemove);
  t.is(member.ID, 'ffffffffffffffff');
  const watch = decodeBody(Buffer.from('{"createRequest":{"key":"YQ==","filters":["NOPUT",1],"watchId":"3"}}'), decoders.watch);
  t.deepEqual(watch, { createRequest: { key: new Uint8Array([0x61]), filters: [0, 1], watchId: 3 } });
  t.is(decodeBody(Buffer.from('{"bogus":{}}'), decoders.watch), undefined);
  const txn = decodeBody(Buffer.from('{"compare":[{"key":"YQ==","target":"MOD","mod_revision":"5","result":"LESS"}],"success":[{"requestTxn":{"failure":[{"request_delete_range":{"key":"YQ=="}}]}}]}'), decoders.txn);
  t.deepEqual(txn.compare[0], { result: 2, target: 2, key: new Uint8Array([0x61]), modRevision: 5 });
  t.true('requestTxn' in txn.success[0]!);
  // the first bad field in proto order is the one reported
  t.throws(() => decodeBody(Buffer.from('{"count_only":1,"limit":true}'), decoders.range), { instanceOf: RequestDecodeError, message: 'json: cannot unmarshal bool into Go value of type int64' });
});

const header = { clusterId: '0482757b1d4d5087', memberId: '2e12df9a0f9c6740', revision: 9, raftTerm: 3 };

test('encoders leave out zero fields and write empty messages as {}', (t) => {
  t.is(enc.encodeHeader({ clusterId: '', memberId: '0000000000000000', revision: 0, raftTerm: 0 }), '{}');
  t.is(enc.encodeHeader(header), '{"cluster_id":"324951294757130375","member_id":"3319961728105342784","revision":"9","raft_term":"3"}');
  t.is(enc.encodeRange({ header, kvs: [], more: false, count: 0 }), `{"header":${enc.encodeHeader(header)}}`);
  t.is(
    enc.encodeKeyValue({ key: Buffer.from('k'), createRevision: 0, modRevision: 5, version: 0, value: new Uint8Array(0), lease: 0n }),
    '{"key":"aw==","mod_revision":"5"}',
  );
  t.true(enc.encodeLeaseGrant({ header, ID: -7n, TTL: -1 }).endsWith('},"ID":"-7","TTL":"-1"}'));
  t.is(enc.encodeHash({ header, hash: 0 }), `{"header":${enc.encodeHeader(header)}}`);
  t.is(enc.encodeAlarm({ alarms: [{ memberID: '0000000000000001', alarm: 0 }] }), '{"alarms":[{"memberID":"1"}]}');
  t.is(enc.encodeUnaryError(3, 'a<b'), '{"error":"a\\u003cb","message":"a\\u003cb","code":3}');
  t.is(enc.streamError(14, 503, 'etcdserver: no leader', 'Service Unavailable'), '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}\n');
  t.is(enc.encodeWatch({ header, watchId: 0, events: [{ type: 1, kv: { key: Buffer.from('k'), createRevision: 0, modRevision: 9, version: 0, value: new Uint8Array(0), lease: 0n } }] }), `{"header":${enc.encodeHeader(header)},"events":[{"type":"DELETE","kv":{"key":"aw==","mod_revision":"9"}}]}`);
});

test('fan-out: one events array shared by many watch responses is encoded once', (t) => {
  const events: Event[] = [{ type: 0, kv: { key: Buffer.from('k'), createRevision: 1, modRevision: 2, version: 1, value: Buffer.from('v'), lease: 0n } }];
  const responses: WatchResponse[] = Array.from({ length: 1000 }, (_, i) => ({ header, watchId: i, events }));
  const first = enc.encodeWatch(responses[0]!);
  // Changing the events after the first encoding does not change later encodings: the cached JSON is reused.
  events[0]!.kv.value = Buffer.from('changed');
  const later = responses.map(enc.encodeWatch);
  t.is(later[0], first);
  t.true(later.every((json, i) => json.includes(`"events":[{"kv":{"key":"aw==","create_revision":"1","mod_revision":"2","version":"1","value":"dg=="}}]`) && (i === 0 || json.includes(`"watch_id":"${i}"`))));
  // a different array is encoded afresh
  t.regex(enc.encodeWatch({ header, watchId: 1, events: [...events] }), /"value":"Y2hhbmdlZA=="/);
});

test('protobuf sizes match etcd\'s numbers', (t) => {
  // etcd reported 2200010 for a 2,200,000-byte value under a 3-byte key
  t.is(putSize({ key: Buffer.from('big'), value: new Uint8Array(2_200_000) }), 2_200_010);
  t.is(putSize({ key: Buffer.from('k'), value: new Uint8Array(0), lease: -1n }), 3 + 11);
  t.is(txnSize({ compare: [], success: [{ requestPut: { key: Buffer.from('k'), value: Buffer.from('v') } }], failure: [] }), 2 + 2 + 6);
});

test('watch messages encoded into bytes are byte for byte the string encoder\'s, at any size and in any mix', (t) => {
  const kv = (key: string, value: Uint8Array): Event['kv'] => ({ key: Buffer.from(key), createRevision: 3, modRevision: 9, version: 2, value, lease: 0n });
  const small: Event[] = [{ type: 0, kv: kv('k', Buffer.from('v')) }];
  const unicode: Event[] = [{ type: 1, kv: kv('ключ\u{1f600}', new Uint8Array(0)), prevKv: kv('ключ\u{1f600}', Buffer.from('před')) }];
  // large enough that one delivery grows the scratch buffer several times, and past the size it keeps
  const big: Event[] = [{ type: 0, kv: kv('big', new Uint8Array(300_000).fill(7)) }];
  const other = { ...header, revision: header.revision + 1 };
  const shapes: Array<(i: number) => WatchResponse> = [
    (i) => ({ header, watchId: i + 1, events: small }),
    (i) => ({ header: other, watchId: i + 1, events: small }),
    (i) => ({ header, watchId: i * 7919 + 1, events: unicode, fragment: true }),
    (i) => ({ header, watchId: i + 1, events: big }),
    () => ({ header, watchId: 0, events: small }),
    (i) => ({ header, watchId: i, events: [], created: true }),
    (i) => ({ header, watchId: i + 1, events: [], canceled: true, cancelReason: 'mvcc: required revision has been compacted', compactRevision: 5 }),
    (i) => ({ header, watchId: Number.MAX_SAFE_INTEGER - i, events: small }),
  ];
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(shapes.length - 1), fc.nat(20_000)), { minLength: 1, maxLength: 60 }), (picks) => {
      const responses = picks.map(([shape, i]) => shapes[shape]!(i));
      const { bytes, ends } = encodeWatchMessages(responses);
      const expected = responses.map((r) => `{"result":${enc.encodeWatch(r)}}`);
      t.is(Buffer.from(bytes).toString('utf8'), expected.join('\n') + '\n');
      let start = 0;
      for (let i = 0; i < ends.length; i++) {
        t.is(Buffer.from(bytes.subarray(start, ends[i])).toString('utf8'), expected[i]);
        start = ends[i]! + 1;
      }
      t.is(start, bytes.length);
    }),
    { numRuns: 200 },
  );
});
