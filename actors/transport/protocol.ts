// The peer transport's inbox. Raft hands it batches of messages addressed to other members; it hands raft what
// arrives from them. Raft messages are opaque here except for their `to` and `from` member IDs.
import type { Protocol } from '../../runtime/actor.js';
import type { NodeId } from '../raft/core/types.js';

export interface PeerMessage {
  readonly to: NodeId;
  readonly from: NodeId;
}

export interface PeerInfo {
  id: NodeId;
  urls: string[];
}

export interface TransportStats {
  streamsOpen: NodeId[];
  framesSent: number;
  framesReceived: number;
  messagesDropped: number;
  pipelinePosts: number;
}

export type TransportInbox =
  /** Messages to send, each to its own `to`; one frame per peer per turn. */
  | { type: 'send'; messages: PeerMessage[] }
  /** The current membership (after a conf change applies): links to removed peers close, new ones open. */
  | { type: 'setPeers'; peers: PeerInfo[] }
  /** Test hook: drop everything to and from these peers (a partition), or cut only the streams (fallback test). */
  | { type: 'faults'; isolate: NodeId[]; cutStreams?: boolean }
  /** From mvcc: the replicated member table; links follow it (a member without published URLs keeps the known ones). */
  | { type: 'members'; members: Array<{ id: NodeId; name: string; peerURLs: string[]; clientURLs: string[]; isLearner: boolean }> }
  /** ask, from the gateway of a follower: renew leases (keepAlive) or read their remaining ms (remaining) at the leader. */
  | { type: 'forwardLease'; to: NodeId; op: 'keepAlive' | 'remaining'; ids: bigint[] }
  /** From the snapshot actor: stream this snapshot file to `to` through the pipeline, announced by `message`. */
  | { type: 'sendSnapshotFile'; to: NodeId; file: string; message: PeerMessage }
  | { type: 'stats' };

export type TransportProtocol = Protocol<TransportInbox, { stats: TransportStats; forwardLease: number[] }>;

/** What the transport tells the actor it delivers to (raft). */
export type TransportDelivery =
  | { type: 'peerMessages'; messages: PeerMessage[] }
  /** Messages to these peers were dropped (stream full or down): raft should treat them as unreachable. */
  | { type: 'unreachable'; peers: NodeId[] }
  /** How sending a snapshot to `peer` went. */
  | { type: 'snapshotStatus'; peer: NodeId; ok: boolean };

/** HTTP headers that identify the two ends of every peer connection. */
export const peerHeaders = {
  clusterId: 'x-tetcd-cluster-id',
  from: 'x-tetcd-from',
  to: 'x-tetcd-to',
} as const;

export const peerPaths = {
  stream: '/raft/stream',
  messages: '/raft/messages',
  snapshot: '/raft/snapshot',
  /** GET: the cluster ID and the member table, for a member joining with --initial-cluster-state existing. */
  members: '/members',
  /** POST (CBOR {op, ids}): lease keep-alive or remaining time, forwarded by a follower to the leader. */
  lease: '/lease',
  /** POST (JSON {isolate, cutStreams}): the fault hook, only when the member runs with TETCD_FAULT_INJECTION=1. */
  faults: '/debug/faults',
} as const;
