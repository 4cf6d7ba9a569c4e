// What travels inside a raft log entry: a request proposed by one member, applied by every member in log order.
// Normal entries carry an InternalRequest encoded by entry-codec.ts (a fixed binary layout for puts, CBOR for the
// rest); an empty entry is a new leader's no-op. Only the member that proposed a request (`member`) answers its
// client, using `id`.
import type {
  CompactionRequest,
  DeleteRangeRequest,
  PutRequest,
  TxnRequest,
} from './types.js';

export type InternalOp =
  | { type: 'put'; req: PutRequest }
  | { type: 'deleteRange'; req: DeleteRangeRequest }
  | { type: 'txn'; req: TxnRequest }
  | { type: 'compaction'; req: CompactionRequest }
  /** ID is always chosen before proposing (by the proposer when the client gave 0), so every member applies the same. */
  | { type: 'leaseGrant'; req: { ID: bigint; TTL: number } }
  | { type: 'leaseRevoke'; req: { ID: bigint } }
  /** Remaining time (ms) recorded by the leader so a new leader resumes it instead of granting a fresh full TTL. */
  | { type: 'leaseCheckpoint'; checkpoints: Array<{ ID: bigint; remainingMs: number }> }
  | { type: 'alarm'; action: 'activate' | 'deactivate'; memberId: string; alarm: 'NOSPACE' | 'CORRUPT' }
  /** A member publishes its name and URLs when it starts (etcd's "publish"). */
  | { type: 'memberAttributes'; memberId: string; name: string; clientURLs: string[]; peerURLs: string[] }
  /** The member update API: new peer URLs for a member. */
  | { type: 'memberUpdate'; memberId: string; peerURLs: string[] };

export interface InternalRequest {
  /** Unique among the requests proposed by `member` in its incarnation `boot`; 0 for requests nobody waits on. */
  id: number;
  /** Proposing member (16-hex id). */
  member: string;
  /**
   * The proposer's incarnation: a random number chosen at every start. A restarted member replays entries it
   * proposed in an earlier life; without this, their outcomes would answer the new life's requests of the same id.
   */
  boot: number;
  op: InternalOp;
}

/** The outcome of applying one request, for the member that waits on it. */
export type ApplyOutcome<R = unknown> = { id: number; response: R } | { id: number; error: { code: number; message: string } };
