// The transport actor runs on the main thread (uWebSockets.js lives there) and shuttles raft messages between this
// member's raft actor and its peers. Everything raft sends in one turn leaves as one frame per peer; everything that
// arrives in one turn reaches raft as one message.
import { defineActor, type AnyProtocol } from '../../runtime/actor.js';
import { assertNever } from '../../runtime/assert.js';
import type { NodeId } from '../raft/core/types.js';
import { PeerTransport, type PeerTransportOptions } from './peer-transport.js';
import type { PeerInfo, PeerMessage, TransportDelivery, TransportProtocol } from './protocol.js';

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
    options.onSnapshot = (_from, file, _bytes, message) => snapshots.tell({ type: 'installIncoming', path: file, message } as never);
  }
  options.onSnapshotStatus = (peer, ok) => target.tell({ type: 'snapshotStatus', peer, ok });
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
