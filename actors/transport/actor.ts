// The transport actor runs on the main thread (uWebSockets.js lives there) and shuttles raft messages between this
// member's raft actor and its peers. Everything raft sends in one turn leaves as one frame per peer; everything that
// arrives in one turn reaches raft as one message.
import { defineActor, type AnyProtocol } from '../../runtime/actor.js';
import { assertNever } from '../../runtime/assert.js';
import type { NodeId } from '../raft/core/types.js';
import type { LeaseProtocol } from '../lease/protocol.js';
import { PeerTransport, transportLimits, type PeerTransportOptions } from './peer-transport.js';
import type { PeerInfo, PeerMessage, TransportDelivery, TransportProtocol } from './protocol.js';

/** This member was removed from the cluster by the others: it stops (as etcd does) rather than serve stale data. */
export class MemberRemovedError extends Error {
  override name = 'MemberRemovedError';
  constructor() {
    super('the member has been permanently removed from the cluster');
  }
}

export interface TransportConfig {
  self: NodeId;
  clusterId: string;
  listenPeerUrls: string[];
  peers: PeerInfo[];
  /** Where arriving messages and unreachable reports go. */
  deliverTo: string;
  /** Where incoming snapshot files are written while they arrive (they are then handed to snapshotActor). */
  snapshotIncomingDir?: string;
  snapshotActor?: string;
  /** The lease actor, which answers lease calls forwarded by followers when this member leads. */
  leaseActor?: string;
  /** Serve the /debug/faults hook (tests set TETCD_FAULT_INJECTION=1). */
  faultInjection?: boolean;
  streamBufferBytesMax?: number;
}

export default defineActor<TransportProtocol, TransportConfig>(async (ctx, config) => {
  const target = ctx.ref<{ inbox: TransportDelivery; replies: {} }>(config.deliverTo);
  let arrived: PeerMessage[] = [];
  let unreachable = new Set<NodeId>();
  let flushScheduled = false;
  const flush = () => {
    flushScheduled = false;
    if (arrived.length > 0) {
      // raft's mailbox is bounded: if it is full the batch is dropped, which raft tolerates as message loss
      target.tell({ type: 'peerMessages', messages: arrived });
      arrived = [];
    }
    if (unreachable.size > 0) {
      target.tell({ type: 'unreachable', peers: [...unreachable] });
      unreachable = new Set();
    }
  };
  const schedule = () => {
    if (flushScheduled) return;
    flushScheduled = true;
    setImmediate(flush);
  };
  const options: PeerTransportOptions = {
    self: config.self,
    clusterId: config.clusterId,
    listenPeerUrls: config.listenPeerUrls,
    peers: config.peers,
    log: ctx.log,
    random: () => ctx.random.next(),
    onMessages(messages) {
      for (const m of messages) arrived.push(m);
      schedule();
    },
  };
  if (config.streamBufferBytesMax !== undefined) options.streamBufferBytesMax = config.streamBufferBytesMax;
  if (config.snapshotIncomingDir && config.snapshotActor) {
    const snapshots = ctx.ref<AnyProtocol>(config.snapshotActor);
    options.snapshotIncomingDir = config.snapshotIncomingDir;
    options.onSnapshot = async (_from, file, _bytes, message) => {
      await snapshots.ask({ type: 'installIncoming', path: file, message } as never, { timeoutMs: transportLimits.snapshotInstallTimeoutMs });
    };
  }
  options.onSnapshotStatus = (peer, ok) => target.tell({ type: 'snapshotStatus', peer, ok });
  if (config.leaseActor) {
    const lease = ctx.ref<LeaseProtocol>(config.leaseActor);
    options.onLease = (_from, op, ids) => lease.ask(op === 'keepAlive' ? { type: 'keepAlive', ids } : { type: 'remaining', ids }, { timeoutMs: 5_000 });
  }
  if (config.faultInjection) options.faultInjection = true;
  // the member table as mvcc last told it; until then, the configured peers
  const known = new Map(config.peers.map((p) => [p.id, p.urls]));
  let membersJson: string | undefined;
  options.membersJson = () => membersJson;
  let removedSelf = false;
  options.onRemoved = () => {
    if (removedSelf) return;
    removedSelf = true;
    ctx.log.error('a peer says this member was removed from the cluster; stopping');
    ctx.fail(new MemberRemovedError());
  };
  const transport = new PeerTransport(options);
  await transport.start();
  ctx.log.info('listening for peers', { urls: config.listenPeerUrls });
  return {
    receive(message) {
      switch (message.type) {
        case 'send':
          for (const peer of transport.send(message.messages)) unreachable.add(peer);
          if (unreachable.size > 0) schedule();
          return;
        case 'setPeers':
          transport.setPeers(message.peers);
          return;
        case 'faults':
          transport.faults(message.isolate, message.cutStreams ?? false);
          return;
        case 'members': {
          for (const m of message.members) if (m.peerURLs.length > 0) known.set(m.id, m.peerURLs);
          const current = new Set(message.members.map((m) => m.id));
          const gone = [...known.keys()].filter((id) => !current.has(id));
          for (const id of gone) known.delete(id);
          transport.markRemoved(gone);
          transport.setPeers([...known].map(([id, urls]) => ({ id, urls })));
          membersJson = JSON.stringify({ clusterId: config.clusterId, members: message.members.map((m) => ({ ...m, peerURLs: known.get(m.id) ?? m.peerURLs })) });
          return;
        }
        case 'forwardLease':
          return transport.forwardLease(message.to, message.op, message.ids, 5_000);
        case 'sendSnapshotFile':
          transport.sendSnapshot(message.to, message.file, message.message);
          return;
        case 'stats':
          return transport.stats();
        default:
          return assertNever(message, 'transport message');
      }
    },
    stop() {
      transport.close();
    },
  };
});
