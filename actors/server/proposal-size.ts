// etcd refuses a write whose raft proposal is larger than --max-request-bytes ("etcdserver: request is too large",
// code 3). What it measures is the protobuf size of the InternalRaftRequest it proposes: the request as field N of
// that message plus a header (field 100) holding a request id from the member's id generator. tetcd proposes CBOR,
// not protobuf, so it computes etcd's number instead, to refuse exactly the requests etcd refuses.
//
// Worked example (measured on etcd 3.4.23, --max-request-bytes 1572864): a put of key "k" with a value of 1,572,840
// bytes is a 1,572,847-byte PutRequest; framed as field 4 (1 tag byte + 3 length bytes) and with a 13-byte header
// (2 tag bytes, 1 length byte, 1 tag byte, a 9-byte varint id) it is exactly 1,572,864 bytes and passes; one byte
// more of value is refused.
import type { DeleteRangeRequest, PutRequest, TxnRequest } from '../api/types.js';
import { deleteRangeSize, putSize, txnSize } from '../gateway/json/protosize.js';

function varintBytes(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

/**
 * Bytes of the header etcd adds to every proposal: {ID: request id}. The id is the member id's low 16 bits, then 40
 * bits of milliseconds and 8 of a counter, so its varint length follows from the member id alone.
 */
export function proposalHeaderBytes(memberIdHex: string): number {
  const low16 = parseInt(memberIdHex.slice(-4), 16);
  const idBits = low16 === 0 ? 48 : 48 + (32 - Math.clz32(low16));
  const idBytes = Math.ceil(idBits / 7);
  const requestHeader = 1 + idBytes;
  return 2 + varintBytes(requestHeader) + requestHeader;
}

/** The InternalRaftRequest size of a request of `bytes` bytes in a field numbered below 16, with its header. */
function framed(bytes: number, headerBytes: number): number {
  return 1 + varintBytes(bytes) + bytes + headerBytes;
}

export const proposalBytes = {
  put: (r: PutRequest, headerBytes: number) => framed(putSize(r), headerBytes),
  deleteRange: (r: DeleteRangeRequest, headerBytes: number) => framed(deleteRangeSize(r), headerBytes),
  txn: (r: TxnRequest, headerBytes: number) => framed(txnSize(r), headerBytes),
};
