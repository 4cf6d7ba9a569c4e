// The hand-written protobuf codec of the gRPC driver: bytes checked against encodings worked out independently
// (protobuf's wire format rules), round trips, and random varints.
import test from 'ava';
import fc from 'fast-check';
import {
  decodeHeaderRevision,
  decodeLeaseGrantResponse,
  decodeLeaseKeepAliveResponse,
  decodeRangeResponse,
  decodeTxnResponse,
  decodeWatchResponse,
  encodeHeaderOnly,
  encodeLeaseGrantRequest,
  encodeLeaseKeepAliveRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeTxnRequest,
  encodeWatchCancelRequest,
  encodeWatchCreateRequest,
} from '../../bench/loadgen/etcd-proto.js';
import { ProtocolError } from '../../bench/loadgen/errors.js';
import { ProtoReader, ProtoWriter } from '../../bench/loadgen/proto.js';

const b = (s: string): Buffer => Buffer.from(s);
const hex = (buf: Uint8Array): string => Buffer.from(buf).toString('hex');

test('varints: known encodings, including a 64-bit lease id and a negative int64', (t) => {
  t.is(hex(new ProtoWriter().varint(0).finish()), '00');
  t.is(hex(new ProtoWriter().varint(1).finish()), '01');
  t.is(hex(new ProtoWriter().varint(300).finish()), 'ac02');
  t.is(hex(new ProtoWriter().varint64(0x694d77aa9e38260fn).finish()), '8fcce0f1a9f5dda669');
  t.is(hex(new ProtoWriter().varint64(-1n).finish()), 'ffffffffffffffffff01');
  t.is(hex(new ProtoWriter().intField(3, -1).finish()), '18ffffffffffffffffff01');
  t.throws(() => new ProtoWriter().varint(-1), { instanceOf: ProtocolError });
});

test('varints round-trip for every 64-bit value', (t) => {
  fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
      const bytes = new ProtoWriter(1).varint64(v).finish();
      const r = new ProtoReader(bytes);
      return r.varint64() === v && r.done();
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 40), max: Number.MAX_SAFE_INTEGER }), (v) => {
      const bytes = new ProtoWriter(1).intField(1, v).finish();
      const r = new ProtoReader(bytes);
      if (v === 0) return bytes.length === 0;
      return r.tag() === 8 && r.int64() === v && r.done();
    }),
  );
  t.pass();
});

test('PutRequest bytes: key=1, value=2, lease=3 (zero fields left out)', (t) => {
  t.is(hex(encodePutRequest({ key: b('foo'), value: b('bar') })), '0a03666f6f1203626172');
  t.is(hex(encodePutRequest({ key: b('foo'), value: b('bar'), lease: 0x694d77aa9e38260fn })), '0a03666f6f1203626172188fcce0f1a9f5dda669');
  t.is(hex(encodePutRequest({ key: b('k'), value: b('') })), '0a016b');
});

test('RangeRequest bytes: range_end=2, limit=3, serializable=7, count_only=9', (t) => {
  t.is(hex(encodeRangeRequest({ key: b('a'), rangeEnd: b('b'), limit: 10, serializable: true })), '0a0161120162180a3801');
  t.is(hex(encodeRangeRequest({ key: b('a'), countOnly: true })), '0a01614801');
});

test('TxnRequest bytes: success=2 holding RequestOp.request_put=2', (t) => {
  // PutRequest{k,v} = 0a016b120176 (6 bytes); RequestOp = 12 06 <put> (8 bytes); TxnRequest = 12 08 <op>
  t.is(hex(encodeTxnRequest({ success: [{ key: b('k'), value: b('v') }] })), '120812060a016b120176');
  t.is(encodeTxnRequest({ success: [{ key: b('a'), value: b('1') }, { key: b('b'), value: b('2') }] }).length, 20);
});

test('WatchRequest bytes: create_request=1 {key=1, range_end=2, start_revision=3, prev_kv=6}; cancel_request=2', (t) => {
  t.is(hex(encodeWatchCreateRequest({ key: b('foo') })), '0a050a03666f6f');
  t.is(hex(encodeWatchCreateRequest({ key: b('a'), rangeEnd: b('b'), startRevision: 5, prevKv: true })), '0a0a0a01611201621805' + '3001');
  t.is(hex(encodeWatchCancelRequest(3)), '12020803');
  t.is(hex(encodeWatchCancelRequest(0)), '1200');
});

test('lease requests: LeaseGrantRequest TTL=1, ID=2; LeaseKeepAliveRequest ID=1', (t) => {
  t.is(hex(encodeLeaseGrantRequest(60)), '083c');
  t.is(hex(encodeLeaseGrantRequest(5, 7n)), '08051007');
  t.is(hex(encodeLeaseKeepAliveRequest(0x694d77aa9e38260fn)), '088fcce0f1a9f5dda669');
});

/** A response header {cluster_id=1, member_id=2, revision=3, raft_term=4} as field 1 of a response. */
function header(revision: number): ProtoWriter {
  return new ProtoWriter().bytesField(1, new ProtoWriter().int64Field(1, 0xcdef0123456789n).intField(2, 9).intField(3, revision).intField(4, 2).finish(), true);
}

test('header revision, range and txn summaries decode, skipping fields they do not need', (t) => {
  t.is(decodeHeaderRevision(encodeHeaderOnly(42)), 42);
  t.is(decodeHeaderRevision(header(7).finish()), 7);
  const kv = new ProtoWriter().bytesField(1, b('k')).intField(2, 3).intField(3, 4).intField(4, 1).bytesField(5, b('v')).finish();
  const range = header(9).bytesField(2, kv).bytesField(2, kv).boolField(3, true).intField(4, 17).finish();
  t.deepEqual(decodeRangeResponse(range), { revision: 9, kvs: 2, count: 17, more: true });
  const op = new ProtoWriter().bytesField(2, header(9).finish(), true).finish();
  const txn = header(11).boolField(2, true).bytesField(3, op).bytesField(3, op).finish();
  t.deepEqual(decodeTxnResponse(txn), { revision: 11, succeeded: true, responses: 2 });
});

test('WatchResponse: created, canceled with reason, events with values and a negative watch id', (t) => {
  const created = header(5).intField(2, 3).boolField(3, true).finish();
  const c = decodeWatchResponse(created);
  t.true(c.created);
  t.is(c.watchId, 3);
  t.is(c.revision, 5);
  t.deepEqual(c.events, []);

  const canceled = header(5).intField(2, -1).boolField(3, true).boolField(4, true).bytesField(6, b('bad start')).finish();
  const x = decodeWatchResponse(canceled);
  t.is(x.watchId, -1);
  t.true(x.canceled);
  t.is(x.cancelReason, 'bad start');

  const kv = (value: string, mod: number) => new ProtoWriter().bytesField(1, b('foo')).intField(2, 2).intField(3, mod).intField(4, 1).bytesField(5, b(value)).finish();
  const put = new ProtoWriter().bytesField(2, kv('0000000000000123xx', 8), true).finish();
  const del = new ProtoWriter().intField(1, 1).bytesField(2, new ProtoWriter().bytesField(1, b('foo')).intField(3, 9).finish(), true).finish();
  const events = header(9).intField(2, 1).bytesField(11, put, true).bytesField(11, del, true).finish();
  const e = decodeWatchResponse(events);
  t.is(e.watchId, 1);
  t.is(e.events.length, 2);
  t.is(e.events[0]!.type, 0);
  t.is(e.events[0]!.modRevision, 8);
  t.is(Buffer.from(e.events[0]!.value).toString(), '0000000000000123xx');
  t.is(e.events[1]!.type, 1);
  t.is(e.events[1]!.modRevision, 9);
  t.is(e.events[1]!.value.length, 0);
});

test('lease responses keep 64-bit ids exact', (t) => {
  const id = 0x694d77aa9e38260fn;
  const grant = header(2).int64Field(2, id).intField(3, 60).finish();
  t.deepEqual(decodeLeaseGrantResponse(grant), { revision: 2, id, ttl: 60, error: '' });
  const keepAlive = header(2).int64Field(2, id).intField(3, 0).finish();
  t.deepEqual(decodeLeaseKeepAliveResponse(keepAlive), { id, ttl: 0 });
});

test('truncated and malformed input is refused with ProtocolError', (t) => {
  const full = encodePutRequest({ key: b('foo'), value: b('bar') });
  t.throws(() => decodeRangeResponse(full.subarray(0, 4)), { instanceOf: ProtocolError });
  t.throws(() => decodeHeaderRevision(Buffer.from([0x0a, 0x80])), { instanceOf: ProtocolError });
  t.throws(() => decodeWatchResponse(Buffer.from([0x0b])), { instanceOf: ProtocolError }); // wire type 3 (groups)
  t.throws(() => new ProtoReader(Buffer.alloc(11, 0xff)).varint64(), { instanceOf: ProtocolError });
});
