// Differential cases for watch streams: a key, a prefix, a from-key range, start revisions in the past, the present
// and the future, filters, prev_kv, explicit and duplicate watch ids, cancel, progress requests, compacted start
// revisions, events of a txn and of a burst of writes. Each `lines` step compares the next stream messages.
import test from 'ava';
import { b64, call, del, diffSuite, key, lines, linesAnyOrder, prefixEnd, put, rev, txn, watch, type Body, type Step } from './harness.js';

const create = (stream: string, request: Record<string, Body>): Step => watch(stream, { create_request: request });
const cancel = (stream: string, id: number): Step => watch(stream, { cancel_request: { watch_id: id } });
const progress = (stream: string): Step => watch(stream, { progress_request: {} });
/** `count` puts of the same key and value sent at once: whatever order they apply in, the events are the same. */
const burst = (k: string, count: number): Step => ({ type: 'parallel', steps: Array.from({ length: count }, () => put(k, 'x')) });

diffSuite(test, { area: 'watch' }, [
  ['watch a key: put, put, delete', [create('w', { key: key('a') }), lines('w', 1), put('a', '1'), put('b', '1'), put('a', '2'), del('a'), lines('w', 3)]],
  ['watch a prefix', [create('w', { key: key('p/'), range_end: prefixEnd('p/') }), lines('w', 1), put('p/a', '1'), put('q', '1'), put('p/b', '2'), del('p/a'), lines('w', 3)]],
  ['watch from a key ("\\0" range end)', [create('w', { key: key('m'), range_end: 'AA==' }), lines('w', 1), put('a', '1'), put('n', '1'), put('z', '1'), lines('w', 2)]],
  ['watch with prev_kv', [put('a', '0'), create('w', { key: key('a'), prev_kv: true }), lines('w', 1), put('a', '1'), del('a'), put('a', '2'), lines('w', 3)]],
  ['watch with the NOPUT filter', [create('w', { key: key('a'), filters: ['NOPUT'] }), lines('w', 1), put('a', '1'), del('a'), put('a', '2'), del('a'), lines('w', 2)]],
  ['watch with the NODELETE filter (as a number)', [create('w', { key: key('a'), filters: [1] }), lines('w', 1), put('a', '1'), del('a'), put('a', '2'), lines('w', 2)]],
  ['watch with both filters sees nothing', [create('w', { key: key('a'), filters: ['NOPUT', 'NODELETE'] }), lines('w', 1), put('a', '1'), del('a'), create('w', { key: key('b') }), lines('w', 1)]],
  ['watch from a past revision replays history in one response', [put('a', '1'), put('a', '2'), del('a'), put('a', '3'), create('w', { key: key('a'), start_revision: rev(1) }), lines('w', 2), put('a', '4'), lines('w', 1)]],
  ['watch from a past revision with prev_kv', [put('a', '1'), put('a', '2'), del('a'), create('w', { key: key('a'), start_revision: rev(2), prev_kv: true }), lines('w', 2)]],
  ['watch from the next revision', [put('a', '1'), create('w', { key: key('a'), start_revision: rev(2) }), lines('w', 1), put('a', '2'), lines('w', 1)]],
  ['watch from a future revision waits for it', [create('w', { key: key('a'), start_revision: rev(3) }), lines('w', 1), put('a', '1'), put('a', '2'), put('a', '3'), lines('w', 1)]],
  ['several watches on one stream get ids 0, 1, 2', [create('w', { key: key('a') }), create('w', { key: key('a'), prev_kv: true }), create('w', { key: key('b') }), lines('w', 3), put('a', '1'), linesAnyOrder('w', 2), put('b', '1'), lines('w', 1)]],
  ['explicit watch ids, a duplicate, and 0 after explicit ones', [create('w', { key: key('a'), watch_id: 5 }), create('w', { key: key('a'), watch_id: 5 }), create('w', { key: key('a') }), create('w', { key: key('a'), watch_id: 0 }), lines('w', 4), put('a', '1'), linesAnyOrder('w', 3)]],
  ['cancel a watch, then cancel it again and cancel an unknown id', [create('w', { key: key('a') }), lines('w', 1), cancel('w', 0), lines('w', 1), cancel('w', 0), cancel('w', 42), put('a', '1'), create('w', { key: key('b') }), lines('w', 1)]],
  ['progress request', [put('a', '1'), create('w', { key: key('a') }), lines('w', 1), progress('w'), lines('w', 1), put('b', '1'), progress('w'), lines('w', 1)]],
  ['progress request on a stream without watches', [progress('w'), lines('w', 1)]],
  ['a message with none of create, cancel and progress is ignored', [watch('w', {}), watch('w', { unknown: 1 }), create('w', { key: key('a') }), lines('w', 1)]],
  ['watch at a compacted start revision is canceled with the compact revision', [put('a', '1'), put('a', '2'), put('a', '3'), call('/v3/kv/compaction', { revision: rev(3) }), create('w', { key: key('a'), start_revision: rev(1) }), lines('w', 2), create('w', { key: key('a'), start_revision: rev(3) }), lines('w', 2)]],
  ['watch with a negative start revision', [put('a', '1'), call('/v3/kv/compaction', { revision: rev(1) }), create('w', { key: key('a'), start_revision: -1 }), lines('w', 2)]],
  ['events of a txn come in one response', [create('w', { key: key(''), range_end: prefixEnd('') }), lines('w', 1), txn({ success: [{ request_put: { key: key('a'), value: b64('1') } }, { request_put: { key: key('b'), value: b64('2') } }, { request_delete_range: { key: key('c') } }] }), put('c', '1'), txn({ success: [{ request_delete_range: { key: key(''), range_end: prefixEnd('') } }] }), lines('w', 2)]],
  ['a burst of writes is delivered one response per revision', [create('w', { key: key('a') }), lines('w', 1), burst('a', 20), lines('w', 20)]],
  ['watch with an empty key', [create('w', {}), lines('w', 1)]],
  ['watch with a bad key is refused (first message)', [watch('w', '{"create_request":{"key":"!!"}}'), lines('w', 1)]],
  ['a bad message after a good one ends reading but keeps the stream', [create('w', { key: key('a') }), lines('w', 1), watch('w', '{"create_request":{"key":5}}'), put('a', '1'), lines('w', 1)]],
  ['two streams watching one key', [create('w1', { key: key('a') }), create('w2', { key: key('a'), prev_kv: true }), lines('w1', 1), lines('w2', 1), put('a', '1'), put('a', '2'), lines('w1', 2), lines('w2', 2)]],
  ['a watch from the current revision sees the write right after', [put('a', '0'), create('w', { key: key('a'), start_revision: rev(1) }), lines('w', 2), put('a', '1'), lines('w', 1)]],
  ['large values in events', [create('w', { key: key('big') }), lines('w', 1), put('big', 'v'.repeat(100_000)), lines('w', 1)]],
  ['a catch-up over 2 MiB is fragmented only for a watcher that asked', [
    put('f', 'x'.repeat(900_000)), put('f', 'y'.repeat(900_000)), put('f', 'z'.repeat(900_000)),
    create('w1', { key: key('f'), start_revision: rev(1), fragment: true }), lines('w1', 3),
    create('w2', { key: key('f'), start_revision: rev(1) }), lines('w2', 2),
  ]],
  ['compaction does not disturb a synced watcher', [create('w', { key: key('a') }), lines('w', 1), put('a', '1'), put('a', '2'), call('/v3/kv/compaction', { revision: rev(2), physical: true }), put('a', '3'), lines('w', 3)]],
  // physical: etcd's compaction deletes history in the background, and a watch from the compaction revision sees the
  // delete at that revision until the background pass removed it; once it has, it does not (nor does tetcd's)
  ['watch from the compaction revision itself', [put('a', '1'), del('a'), put('a', '2'), call('/v3/kv/compaction', { revision: rev(2), physical: true }), create('w', { key: key('a'), start_revision: rev(2), prev_kv: true }), lines('w', 2)]],
  ['filters with prev_kv on a prefix', [put('p/a', '0'), create('w', { key: key('p/'), range_end: prefixEnd('p/'), prev_kv: true, filters: ['NOPUT'] }), lines('w', 1), put('p/a', '1'), del('p/a'), put('p/b', '1'), del('p/', { range_end: prefixEnd('p/') }), lines('w', 2)]],
  ['a future watch canceled before its revision comes', [create('w', { key: key('a'), start_revision: rev(10) }), lines('w', 1), cancel('w', 0), lines('w', 1), put('a', '1'), create('w', { key: key('b') }), lines('w', 1)]],
  ['progress request while a watcher catches up', [put('a', '1'), put('a', '2'), create('w', { key: key('a'), start_revision: rev(1) }), progress('w'), lines('w', 3)]],
  ['watch with range end before key', [create('w', { key: key('b'), range_end: key('a') }), lines('w', 1), put('a', '1'), put('b', '1'), create('w', { key: key('c') }), lines('w', 1)]],
  ['the stream lives on after the client half-closes', [create('w', { key: key('a') }), lines('w', 1), { type: 'endInput', stream: 'w' }, put('a', '1'), lines('w', 1)]],
  ['camelCase create request fields', [watch('w', { createRequest: { key: key('a'), rangeEnd: prefixEnd('a'), prevKv: true, startRevision: rev(1), watchId: 3 } }), lines('w', 1), put('a', '1'), lines('w', 1)]],
]);
