// etcd's proposal size, against numbers measured on etcd 3.4.23 with the default --max-request-bytes (1,572,864):
// with a member whose request ids are 9-byte varints, a put of key "k" passed up to a value of 1,572,840 bytes, a txn
// holding that one put up to 1,572,832, and a delete up to a key of 1,572,843 bytes.
import test from 'ava';
import { proposalBytes, proposalHeaderBytes } from '../../actors/server/proposal-size.js';

const limit = 1_572_864;
const bytes = (n: number, c = 'x') => new Uint8Array(n).fill(c.charCodeAt(0));

test('the request id varint, and so the header, follows from the member id', (t) => {
  // id bits: 48 + the bit length of the member id's low 16 bits
  t.is(proposalHeaderBytes('8e9e05c52164694d'), 2 + 1 + 1 + 9); // 0x694d: 15 bits -> 63-bit ids
  t.is(proposalHeaderBytes('00000000000080ff'), 2 + 1 + 1 + 10); // 16 bits -> 64-bit ids
  t.is(proposalHeaderBytes('00000000000000ff'), 2 + 1 + 1 + 8); // 8 bits -> 56-bit ids
  t.is(proposalHeaderBytes('0000000000000001'), 2 + 1 + 1 + 7);
  t.is(proposalHeaderBytes('ffffffffffff0000'), 2 + 1 + 1 + 7);
});

test('the boundary etcd 3.4.23 drew for a put, a txn and a delete', (t) => {
  const header = proposalHeaderBytes('8e9e05c52164694d');
  const put = (n: number) => proposalBytes.put({ key: bytes(1, 'k'), value: bytes(n) }, header);
  t.is(put(1_572_840), limit);
  t.true(put(1_572_841) > limit);
  const txn = (n: number) => proposalBytes.txn({ compare: [], success: [{ requestPut: { key: bytes(1, 'k'), value: bytes(n) } }], failure: [] }, header);
  t.is(txn(1_572_832), limit);
  t.true(txn(1_572_833) > limit);
  t.is(proposalBytes.deleteRange({ key: bytes(1_572_843, 'k') }, header), limit);
});
