// The gateway actor's inbox: it lives on the main thread with the client API (uWebSockets.js) and hears from raft,
// mvcc and the lease actor. Everything here is told, in batches, once per turn of the sender.
import type { Protocol } from '../../runtime/actor.js';
import type { MembersChanged, MvccOutput } from '../mvcc/protocol.js';
import type { LeaderChanged, ProposalResults, ReadIndexResults } from '../raft/protocol.js';

export type GatewayInbox =
  | MvccOutput
  | ProposalResults
  | ReadIndexResults
  | LeaderChanged
  | MembersChanged
  | { type: 'stats' }
  /** ask, at shutdown: stop accepting clients and wait (at most timeoutMs) for requests in flight to finish. */
  | { type: 'drain'; timeoutMs: number };

export interface GatewayStats {
  port: number;
}

export type GatewayProtocol = Protocol<GatewayInbox, { stats: GatewayStats; drain: { unfinished: number } }>;

export type { SnapshotSaveReply } from '../mvcc/protocol.js';
