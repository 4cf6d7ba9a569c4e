// The raft entry payload: puts in their binary layout, everything else (and every older put) as CBOR. Round trips,
// damage, and the store reaching the same state from either encoding.
import test from 'ava';
import { decodeInternalRequest, encodeInternalRequest, EntryPayloadError } from '../../actors/api/entry-codec.js';
import type { InternalOp, InternalRequest } from '../../actors/api/internal.js';
import { EntryType, type Entry } from '../../actors/raft/core/types.js';
import { MvccStore } from '../../actors/mvcc/store.js';
import { encodeValue } from '../../runtime/codec.js';
import { SeededRandom } from '../../runtime/random.js';
import { b } from './helpers.js';

const member = '8e9e05c52164694d';

function put(req: Extract<InternalOp, { type: 'put' }>['req'], extra: Partial<InternalRequest> = {}): InternalRequest {
  return { id: 1, member, boot: 0.123456789, op: { type: 'put', req }, ...extra };
}

/** What a decoded request should equal: absent and false flags read back as absent. */
function normalised(request: InternalRequest): InternalRequest {
  if (request.op.type !== 'put') return request;
  const req = { ...request.op.req };
  for (const flag of ['prevKv', 'ignoreValue', 'ignoreLease'] as const) if (!req[flag]) delete req[flag];
  return { ...request, op: { type: 'put', req } };
}

test('puts of every shape survive the binary layout, which starts with the 0xff marker', (t) => {
  const big = new Uint8Array(70_000).map((_, i) => i % 251);
  const cases: InternalRequest[] = [
    put({ key: b('k'), value: b('v') }),
    put({ key: b('key'), value: new Uint8Array(0) }),
    put({ key: b('\x00\xff'), value: big, prevKv: true }),
    put({ key: b('a'), value: b('b'), lease: 7587866521887399000n, ignoreLease: false, ignoreValue: false }),
    put({ key: b('a'), value: b('b'), lease: 0n }),
    put({ key: b('a'), value: b('b'), lease: -1n, prevKv: true, ignoreValue: true, ignoreLease: true }),
    put({ key: big.subarray(0, 1500), value: b('') }, { id: Number.MAX_SAFE_INTEGER, member: 'm1', boot: 0 }),
    put({ key: b('z'), value: b('z') }, { id: 0, member: '', boot: 4294967296.5 }),
  ];
  for (const request of cases) {
    const bytes = encodeInternalRequest(request);
    t.is(bytes[0], 0xff);
    const decoded = decodeInternalRequest(bytes);
    t.deepEqual(decoded, normalised(request));
    if (decoded.op.type === 'put') t.is(decoded.op.req.value.buffer, bytes.buffer, 'the value is a view into the payload');
  }
});

test('other requests, and puts the layout cannot hold, are CBOR and decode as before', (t) => {
  const others: InternalRequest[] = [
    { id: 3, member, boot: 1, op: { type: 'deleteRange', req: { key: b('a'), rangeEnd: b('b'), prevKv: true } } },
    { id: 4, member, boot: 1, op: { type: 'compaction', req: { revision: 12 } } },
    { id: 0, member, boot: 0, op: { type: 'leaseRevoke', req: { ID: 42n } } },
    { id: 5, member, boot: 1, op: { type: 'txn', req: { compare: [], success: [{ requestPut: { key: b('a'), value: b('b') } }], failure: [] } } },
    put({ key: b('a'), value: b('b') }, { member: 'mémber' }),
    put({ key: b('a'), value: b('b') }, { id: 1.5 }),
  ];
  for (const request of others) {
    const bytes = encodeInternalRequest(request);
    t.not(bytes[0], 0xff);
    t.deepEqual(bytes, encodeValue(request));
    t.deepEqual(decodeInternalRequest(bytes), request);
  }
});

test('a put logged as CBOR by an earlier version still decodes', (t) => {
  const request = put({ key: b('old'), value: b('entry'), lease: 9n, prevKv: true });
  t.deepEqual(decodeInternalRequest(encodeValue(request)), request);
});

test('a damaged binary put is refused with EntryPayloadError at every truncation, and for extra bytes, kinds or flags', (t) => {
  const bytes = encodeInternalRequest(put({ key: b('key'), value: b('value'), lease: 5n }));
  for (let length = 1; length < bytes.length; length++) {
    t.throws(() => decodeInternalRequest(bytes.subarray(0, length)), { instanceOf: EntryPayloadError }, `cut at ${length}`);
  }
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  t.throws(() => decodeInternalRequest(longer), { instanceOf: EntryPayloadError, message: /does not end/ });
  const kind = bytes.slice();
  kind[1] = 9;
  t.throws(() => decodeInternalRequest(kind), { instanceOf: EntryPayloadError, message: /unknown binary kind 9/ });
  const flags = bytes.slice();
  flags[2] = 0x10;
  t.throws(() => decodeInternalRequest(flags), { instanceOf: EntryPayloadError, message: /unknown put flags/ });
  const keyLength = bytes.slice();
  keyLength[20 + member.length + 8 + 3] = 0x7f;
  t.throws(() => decodeInternalRequest(keyLength), { instanceOf: EntryPayloadError, message: /key runs past the end/ });
});

test('a store fed binary puts reaches the same state, hash and answers as one fed the same puts as CBOR', (t) => {
  const random = new SeededRandom(11);
  const ops: InternalOp[] = [];
  for (let i = 0; i < 2_000; i++) {
    const key = b(`k${random.int(200)}`);
    const r = random.int(10);
    if (r === 0) ops.push({ type: 'deleteRange', req: { key, prevKv: true } });
    else ops.push({ type: 'put', req: { key, value: b(`v${i}`.repeat(1 + random.int(20))), prevKv: r === 1, ignoreValue: false } });
  }
  const entries = (encode: (request: InternalRequest) => Uint8Array): Entry[] =>
    ops.map((op, i) => ({ term: 1, index: i + 1, type: EntryType.Normal, data: encode({ id: i + 1, member, boot: 7, op }) }));
  const run = (log: Entry[]) => {
    const store = new MvccStore({ clusterId: 'c', memberId: member, bootId: 7 });
    const outcomes: unknown[] = [];
    store.applyEntries(log, (outcome) => outcomes.push(outcome));
    return { store, outcomes };
  };
  const binary = run(entries(encodeInternalRequest));
  const cbor = run(entries(encodeValue));
  t.true(entries(encodeInternalRequest).filter((e) => e.data[0] === 0xff).length > 1_500, 'most entries took the binary layout');
  t.is(binary.outcomes.length, ops.length);
  t.deepEqual(binary.outcomes, cbor.outcomes);
  t.is(binary.store.revision, cbor.store.revision);
  t.deepEqual(binary.store.hashKV(), cbor.store.hashKV());
});
