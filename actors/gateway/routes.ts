// The gateway's routes: etcd 3.4's JSON gateway paths, each bound to a decoder, an Api method and an encoder.
// A unary route is prepared in two steps so the adapter can answer a bad body (code 3) before any Api work starts:
// prepare() decodes and checks the size (throws RequestDecodeError or MessageTooLargeError), the returned call runs
// the Api method and encodes its response.
import type { Api, CallContext, EmptyRequest } from './api.js';
import { decodeBody, decoders } from './json/decode.js';
import * as encode from './json/encode.js';
import { deleteRangeSize, putSize, rangeSize, txnSize } from './json/protosize.js';
import type { JsonObject } from './json/reader.js';

/** A request over gRPC's receive limit; etcd answers code 8 with this exact text. */
export class MessageTooLargeError extends Error {
  override name = 'MessageTooLargeError';
  constructor(readonly sizeBytes: number, readonly limitBytes: number) {
    super(`grpc: received message larger than max (${sizeBytes} vs. ${limitBytes})`);
  }
}

export type PreparedCall = (api: Api, context: CallContext) => Promise<string>;

export interface UnaryRoute {
  readonly kind: 'unary';
  readonly name: string;
  prepare(body: Uint8Array, grpcReceiveBytesMax: number): PreparedCall;
}
export interface WatchRoute {
  readonly kind: 'watch';
  readonly name: 'watch';
}
export interface KeepAliveRoute {
  readonly kind: 'keepalive';
  readonly name: 'lease_keepalive';
}
export interface SnapshotRoute {
  readonly kind: 'snapshot';
  readonly name: 'snapshot';
}
export type Route = UnaryRoute | WatchRoute | KeepAliveRoute | SnapshotRoute;

function unary<Req, Res>(
  name: string,
  decode: (obj: JsonObject) => Req,
  call: (api: Api, request: Req, context: CallContext) => Promise<Res>,
  encodeResponse: (response: Res) => string,
  protoSize?: (request: Req) => number,
): UnaryRoute {
  return {
    kind: 'unary',
    name,
    prepare(body, grpcReceiveBytesMax) {
      const request = decodeBody(body, decode);
      // Only a body near the limit can decode to a message over it (protobuf is never much bigger than its JSON).
      if (protoSize !== undefined && body.length > grpcReceiveBytesMax / 2) {
        const size = protoSize(request);
        if (size > grpcReceiveBytesMax) throw new MessageTooLargeError(size, grpcReceiveBytesMax);
      }
      return (api, context) => call(api, request, context).then(encodeResponse);
    },
  };
}

const empty = decoders.empty as (obj: JsonObject) => EmptyRequest;

const routeList: Array<[string, Route]> = [
  ['/v3/kv/range', unary('range', decoders.range, (a, r, c) => a.range(r, c), encode.encodeRange, rangeSize)],
  ['/v3/kv/put', unary('put', decoders.put, (a, r, c) => a.put(r, c), encode.encodePut, putSize)],
  ['/v3/kv/deleterange', unary('deleterange', decoders.deleteRange, (a, r, c) => a.deleteRange(r, c), encode.encodeDeleteRange, deleteRangeSize)],
  ['/v3/kv/txn', unary('txn', decoders.txn, (a, r, c) => a.txn(r, c), encode.encodeTxn, txnSize)],
  ['/v3/kv/compaction', unary('compaction', decoders.compaction, (a, r, c) => a.compact(r, c), encode.encodeHeaderOnly)],
  ['/v3/watch', { kind: 'watch', name: 'watch' }],
  ['/v3/lease/grant', unary('lease_grant', decoders.leaseGrant, (a, r, c) => a.leaseGrant(r, c), encode.encodeLeaseGrant)],
  ['/v3/lease/revoke', unary('lease_revoke', decoders.leaseRevoke, (a, r, c) => a.leaseRevoke(r, c), encode.encodeHeaderOnly)],
  ['/v3/kv/lease/revoke', unary('lease_revoke', decoders.leaseRevoke, (a, r, c) => a.leaseRevoke(r, c), encode.encodeHeaderOnly)],
  ['/v3/lease/keepalive', { kind: 'keepalive', name: 'lease_keepalive' }],
  ['/v3/lease/timetolive', unary('lease_timetolive', decoders.leaseTimeToLive, (a, r, c) => a.leaseTimeToLive(r, c), encode.encodeLeaseTimeToLive)],
  ['/v3/kv/lease/timetolive', unary('lease_timetolive', decoders.leaseTimeToLive, (a, r, c) => a.leaseTimeToLive(r, c), encode.encodeLeaseTimeToLive)],
  ['/v3/lease/leases', unary('lease_leases', empty, (a, r, c) => a.leaseLeases(r, c), encode.encodeLeaseLeases)],
  ['/v3/kv/lease/leases', unary('lease_leases', empty, (a, r, c) => a.leaseLeases(r, c), encode.encodeLeaseLeases)],
  ['/v3/cluster/member/add', unary('member_add', decoders.memberAdd, (a, r, c) => a.memberAdd(r, c), encode.encodeMemberAdd)],
  ['/v3/cluster/member/remove', unary('member_remove', decoders.memberRemove, (a, r, c) => a.memberRemove(r, c), encode.encodeMembers)],
  ['/v3/cluster/member/update', unary('member_update', decoders.memberUpdate, (a, r, c) => a.memberUpdate(r, c), encode.encodeMembers)],
  ['/v3/cluster/member/list', unary('member_list', empty, (a, r, c) => a.memberList(r, c), encode.encodeMembers)],
  ['/v3/cluster/member/promote', unary('member_promote', decoders.memberPromote, (a, r, c) => a.memberPromote(r, c), encode.encodeMembers)],
  ['/v3/maintenance/alarm', unary('alarm', decoders.alarm, (a, r, c) => a.alarm(r, c), encode.encodeAlarm)],
  ['/v3/maintenance/status', unary('status', empty, (a, r, c) => a.status(r, c), encode.encodeStatus)],
  ['/v3/maintenance/defragment', unary('defragment', empty, (a, r, c) => a.defragment(r, c), encode.encodeHeaderOnly)],
  // etcd 3.4 registers Hash and HashKV on this one path; Hash is the one that answers (a revision in the body is ignored).
  ['/v3/maintenance/hash', unary('hash', empty, (a, r, c) => a.hash(r, c), encode.encodeHash)],
  // tetcd's own route for HashKV, which etcd 3.4's gateway shadows with Hash on /v3/maintenance/hash
  ['/v3/maintenance/hashkv', unary('hashkv', decoders.hashKV, (a, r, c) => a.hashKV(r, c), encode.encodeHashKV)],
  ['/v3/maintenance/snapshot', { kind: 'snapshot', name: 'snapshot' }],
  ['/v3/maintenance/transfer-leadership', unary('transfer_leadership', decoders.moveLeader, (a, r, c) => a.moveLeader(r, c), encode.encodeHeaderOnly)],
];

/** Routes by path (after /v3beta/ is rewritten to /v3/). */
export const routes: ReadonlyMap<string, Route> = new Map(routeList);

/** Every distinct route name, for metrics and tests. */
export const routeNames: readonly string[] = [...new Set(routeList.map(([, r]) => r.name))];
