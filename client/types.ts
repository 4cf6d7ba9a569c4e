// The messages the client speaks: etcd's own shapes from actors/api/types.ts (KV, watch, lease, status), plus the
// cluster, maintenance, alarm and snapshot messages only the edge needs. Conventions as there: camelCase of etcd's
// proto names, bytes as Uint8Array, revisions as numbers, lease IDs as bigint, member and cluster IDs as 16-digit
// lowercase hex strings.
export type {
  Bytes,
  ResponseHeader,
  KeyValue,
  RangeRequest,
  RangeResponse,
  PutRequest,
  PutResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Compare,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  CompactionRequest,
  CompactionResponse,
  Event,
  WatchCreateRequest,
  WatchRequest,
  WatchResponse,
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseRevokeResponse,
  LeaseKeepAliveResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  LeaseLeasesResponse,
  Member,
  MemberListResponse,
  StatusResponse,
  HashKVRequest,
  HashKVResponse,
} from '../actors/api/types.js';
export { SortOrder, SortTarget, CompareResult, CompareTarget, EventType, WatchFilter } from '../actors/api/types.js';

import type { Member, ResponseHeader } from '../actors/api/types.js';

export interface MemberAddRequest {
  peerURLs: string[];
  isLearner?: boolean;
}

export interface MemberAddResponse {
  header: ResponseHeader;
  member: Member;
  members: Member[];
}

/** Remove, update and promote all answer with the membership after the change. */
export interface MemberChangeResponse {
  header: ResponseHeader;
  members: Member[];
}

export const AlarmType = { NONE: 0, NOSPACE: 1, CORRUPT: 2 } as const;
export type AlarmType = (typeof AlarmType)[keyof typeof AlarmType];

export const AlarmAction = { GET: 0, ACTIVATE: 1, DEACTIVATE: 2 } as const;
export type AlarmAction = (typeof AlarmAction)[keyof typeof AlarmAction];

export interface AlarmMember {
  /** 16-digit hex member ID. */
  memberID: string;
  alarm: AlarmType;
}

export interface AlarmResponse {
  /** etcd 3.4 answers alarm requests without a header. */
  header?: ResponseHeader;
  alarms: AlarmMember[];
}

export interface HashResponse {
  header: ResponseHeader;
  hash: number;
}

/** One chunk of the maintenance snapshot stream. */
export interface SnapshotChunk {
  header?: ResponseHeader;
  remainingBytes: number;
  blob: Uint8Array;
}

/** Defragment and move-leader answer with a header at most (etcd 3.4 sends none). */
export interface HeaderOnlyResponse {
  header?: ResponseHeader;
}
