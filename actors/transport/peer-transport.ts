// The peer transport of one member: a uWebSockets.js App on the member's peer URLs accepting streams and fallback
// posts from other members, and one PeerLink per peer for what this member sends. Every connection names its
// cluster, its sender and its intended receiver; a connection from another cluster, or meant for another member, is
// refused before any message is read.
//
// Wire format: a frame is the CBOR encoding of an array of raft messages; one frame per peer per turn of the owner.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeValue, encodeValue } from '../../runtime/codec.js';
import type { Logger } from '../../runtime/log.js';
import { hostPort, listen, uws, type HttpResponse, type TemplatedApp, type us_listen_socket, type WebSocket } from '../../runtime/uws.js';
import type { NodeId } from '../raft/core/types.js';
import { Pipeline } from '../pipeline/pool.js';
import { PeerLink } from './peer-link.js';
import { peerHeaders, peerPaths, type PeerInfo, type PeerMessage, type TransportStats } from './protocol.js';

export interface PeerTransportOptions {
  self: NodeId;
  clusterId: string;
  listenPeerUrls: string[];
  peers: PeerInfo[];
  log: Logger;
  random: () => number;
  /** Raft messages that arrived, in arrival order (called once per frame). */
  onMessages(messages: PeerMessage[]): void;
  /** Extra routes on the peer App (the member list for joiners). */
  extendApp?(app: TemplatedApp): void;
  /** Where incoming snapshot files are written while they arrive. Without it, snapshots are refused. */
  snapshotIncomingDir?: string;
  /** A snapshot file arrived complete; `message` is the raft message that announced it. */
  /** A snapshot file arrived; resolves once it is installed (the sender hears 204 then), rejects if refused. */
  onSnapshot?(from: NodeId, file: string, bytes: number, message: PeerMessage): Promise<void>;
  /** A snapshot this member sent was accepted (or not) by its peer. */
  onSnapshotStatus?(to: NodeId, ok: boolean, error?: string): void;
  /** Serves a lease call a follower forwarded to this member (the leader). */
  onLease?(from: NodeId, op: 'keepAlive' | 'remaining', ids: bigint[]): Promise<number[]>;
  /** The body of GET /members: {"clusterId", "members"}, for joining members. */
  membersJson?(): string | undefined;
  /** Serve POST /debug/faults (tests only). */
  faultInjection?: boolean;
  /** A peer answered that this member was removed from the cluster. */
  onRemoved?(): void;
  streamBufferBytesMax?: number;
  pipelineInflightMax?: number;
  frameBytesMax?: number;
  reconnectDelayMsMin?: number;
  reconnectDelayMsMax?: number;
}

export const transportLimits = {
  streamBufferBytesMax: 16 * 1024 * 1024,
  pipelineInflightMax: 8,
  /** Largest frame accepted from a peer (a batch of appends); raft keeps messages far below it. */
  frameBytesMax: 64 * 1024 * 1024,
  /** Bytes of an incoming snapshot held in memory while the disk catches up; past it the socket is paused. */
  snapshotWriteBehindBytesMax: 8 * 1024 * 1024,
  snapshotUploadTimeoutMs: 30 * 60 * 1000,
  /** Verifying and installing a received snapshot (it is read once to check its digest). */
  snapshotInstallTimeoutMs: 10 * 60 * 1000,
  reconnectDelayMsMin: 50,
  reconnectDelayMsMax: 2_000,
} as const;

interface StreamData {
  from: NodeId;
}

export class PeerTransport {
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly listenSockets: us_listen_socket[] = [];
  private readonly app: TemplatedApp;
  private isolated = new Set<NodeId>();
  /** Members that were in the cluster and were removed: their connections get 410 Gone, which tells them so. */
  private readonly removed = new Set<NodeId>();
  /** Open incoming streams per sender. */
  private readonly incoming = new Map<NodeId, Set<WebSocket<StreamData>>>();
  private framesReceived = 0;
  private messagesDropped = 0;
  readonly boundPorts: number[] = [];
  private clusterId: string;
  private pipeline: Pipeline | undefined;

  constructor(private readonly options: PeerTransportOptions) {
    this.clusterId = options.clusterId;
    this.app = uws.App();
    this.routes();
    options.extendApp?.(this.app);
    this.setPeers(options.peers);
  }

  async start(): Promise<void> {
    for (const url of this.options.listenPeerUrls) {
      const { host, port } = hostPort(url);
      const bound = await listen(this.app, host, port);
      this.listenSockets.push(bound.socket);
      this.boundPorts.push(bound.port);
    }
  }

  /** The cluster ID is known only after a joining member has learned it. */
  setClusterId(clusterId: string): void {
    this.clusterId = clusterId;
  }

  setPeers(peers: PeerInfo[]): void {
    const wanted = new Map(peers.filter((p) => p.id !== this.options.self).map((p) => [p.id, p.urls]));
    for (const [id, link] of this.links) {
      const urls = wanted.get(id);
      if (!urls || urls.join(',') !== link.urls.join(',')) {
        link.close();
        this.links.delete(id);
      }
    }
    for (const [id, urls] of wanted) {
      if (this.links.has(id)) continue;
      this.links.set(
        id,
        new PeerLink({
          self: this.options.self,
          clusterId: this.clusterId,
          peer: id,
          urls,
          streamBufferBytesMax: this.options.streamBufferBytesMax ?? transportLimits.streamBufferBytesMax,
          pipelineInflightMax: this.options.pipelineInflightMax ?? transportLimits.pipelineInflightMax,
          reconnectDelayMsMin: this.options.reconnectDelayMsMin ?? transportLimits.reconnectDelayMsMin,
          reconnectDelayMsMax: this.options.reconnectDelayMsMax ?? transportLimits.reconnectDelayMsMax,
          log: this.options.log,
          random: this.options.random,
          onRemoved: () => this.options.onRemoved?.(),
        }),
      );
    }
  }

  /** Sends a batch: one frame per destination. Returns the peers whose frame was dropped. */
  send(messages: readonly PeerMessage[]): NodeId[] {
    const byPeer = new Map<NodeId, PeerMessage[]>();
    for (const message of messages) {
      let list = byPeer.get(message.to);
      if (!list) byPeer.set(message.to, (list = []));
      list.push(message);
    }
    const unreachable: NodeId[] = [];
    for (const [peer, batch] of byPeer) {
      const link = this.links.get(peer);
      if (!link || this.isolated.has(peer) || !link.send(encodeValue(batch))) {
        this.messagesDropped += batch.length;
        unreachable.push(peer);
      }
    }
    return unreachable;
  }

  faults(isolate: NodeId[], cutStreams: boolean): void {
    this.isolated = new Set(isolate);
    for (const [id, link] of this.links) {
      if (cutStreams) link.cut(true);
      else if (link.streamCut) link.cut(false);
      if (this.isolated.has(id)) link.cut(false);
    }
  }

  stats(): TransportStats {
    let framesSent = 0;
    let pipelinePosts = 0;
    const streamsOpen: NodeId[] = [];
    for (const [id, link] of this.links) {
      framesSent += link.framesSent;
      pipelinePosts += link.pipelinePosts;
      if (link.streamOpen) streamsOpen.push(id);
    }
    return { streamsOpen, framesSent, framesReceived: this.framesReceived, messagesDropped: this.messagesDropped, pipelinePosts };
  }

  /**
   * Streams a snapshot file to a peer from the pipeline worker; the raft message that announces it travels in a
   * header. The outcome is reported through onSnapshotStatus.
   */
  sendSnapshot(to: NodeId, file: string, message: PeerMessage): void {
    const link = this.links.get(to);
    if (!link || this.isolated.has(to)) {
      this.options.onSnapshotStatus?.(to, false, 'peer unknown or unreachable');
      return;
    }
    this.pipeline ??= new Pipeline();
    const url = link.urls[0]! + peerPaths.snapshot;
    const headers = {
      [peerHeaders.clusterId]: this.clusterId,
      [peerHeaders.from]: this.options.self,
      [peerHeaders.to]: to,
      'x-tetcd-message': Buffer.from(encodeValue(message)).toString('base64'),
    };
    this.pipeline
      .sendFile({ file, url, headers, timeoutMs: transportLimits.snapshotUploadTimeoutMs })
      .then((result) => {
        const ok = result.status === 204;
        if (!ok) this.options.log.warn('peer refused a snapshot', { peer: to, status: result.status, body: result.body });
        this.options.onSnapshotStatus?.(to, ok, ok ? undefined : `status ${result.status}: ${result.body}`);
      })
      .catch((error: unknown) => {
        this.options.log.warn('snapshot upload failed', { peer: to, error });
        this.options.onSnapshotStatus?.(to, false, String(error));
      });
  }

  /** Sends a lease call to `to` (the leader) and returns its answer. */
  async forwardLease(to: NodeId, op: 'keepAlive' | 'remaining', ids: bigint[], timeoutMs: number): Promise<number[]> {
    const link = this.links.get(to);
    if (!link || this.isolated.has(to)) throw new Error(`leader ${to} is not reachable`);
    const response = await fetch(link.urls[0]! + peerPaths.lease, {
      method: 'POST',
      headers: { [peerHeaders.clusterId]: this.clusterId, [peerHeaders.from]: this.options.self, [peerHeaders.to]: to, 'content-type': 'application/cbor' },
      body: encodeValue({ op, ids }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = new Uint8Array(await response.arrayBuffer());
    if (response.status !== 200) throw new Error(`leader refused the lease call: ${response.status} ${Buffer.from(body).toString()}`);
    return decodeValue<number[]>(body);
  }

  close(): void {
    void this.pipeline?.close();
    this.pipeline = undefined;
    for (const link of this.links.values()) link.close();
    this.links.clear();
    for (const socket of this.listenSockets) uws.us_listen_socket_close(socket);
    this.listenSockets.length = 0;
    // close() exists in this uWS build though its typings predate it
    (this.app as unknown as { close?: () => void }).close?.();
  }

  markRemoved(ids: Iterable<NodeId>): void {
    for (const id of ids) {
      this.removed.add(id);
      // its open streams are cut: when it reconnects it is told it was removed
      for (const ws of this.incoming.get(id) ?? []) ws.end(4410, 'member removed');
      this.incoming.delete(id);
    }
  }

  /** The HTTP status line for a refusal: removed members are told so (410), everything else is a mismatch (412). */
  private refusalStatus(from: string): string {
    return this.removed.has(from) ? '410 Gone' : '412 Precondition Failed';
  }

  /** Why a connection is refused, or undefined when it is ours. */
  private refusal(clusterId: string, from: string, to: string): string | undefined {
    if (this.removed.has(from)) return `member ${from} was removed from the cluster`;
    if (clusterId !== this.clusterId) return `cluster ID mismatch (local ${this.clusterId}, remote ${clusterId || 'none'})`;
    if (to !== this.options.self) return `member ID mismatch (local ${this.options.self}, expected by remote ${to || 'none'})`;
    if (!/^[0-9a-f]{16}$/.test(from)) return 'missing or malformed sender member ID';
    if (this.isolated.has(from)) return 'isolated by a fault hook';
    return undefined;
  }

  private deliver(from: NodeId, bytes: Uint8Array): void {
    if (this.isolated.has(from) || this.removed.has(from)) return;
    let messages: PeerMessage[];
    try {
      messages = decodeValue<PeerMessage[]>(bytes);
    } catch (error) {
      this.options.log.warn('dropped an undecodable frame from a peer', { peer: from, error });
      return;
    }
    if (!Array.isArray(messages)) return;
    // a peer may only speak for itself, and only to us
    const valid = messages.filter((m) => m && m.from === from && m.to === this.options.self);
    this.framesReceived++;
    if (valid.length > 0) this.options.onMessages(valid);
  }

  private routes(): void {
    const frameBytesMax = this.options.frameBytesMax ?? transportLimits.frameBytesMax;
    this.app.ws<StreamData>(peerPaths.stream, {
      maxPayloadLength: frameBytesMax,
      maxBackpressure: this.options.streamBufferBytesMax ?? transportLimits.streamBufferBytesMax,
      idleTimeout: 0,
      upgrade: (res, req, context) => {
        const clusterId = req.getHeader(peerHeaders.clusterId);
        const from = req.getHeader(peerHeaders.from);
        const to = req.getHeader(peerHeaders.to);
        const refusal = this.refusal(clusterId, from, to);
        if (refusal) {
          this.options.log.warn('refused a peer stream', { from, reason: refusal });
          res.writeStatus(this.refusalStatus(from)).writeHeader('x-tetcd-reason', refusal).end(refusal);
          return;
        }
        res.upgrade<StreamData>(
          { from },
          req.getHeader('sec-websocket-key'),
          req.getHeader('sec-websocket-protocol'),
          req.getHeader('sec-websocket-extensions'),
          context,
        );
      },
      open: (ws) => {
        const from = ws.getUserData().from;
        let set = this.incoming.get(from);
        if (!set) this.incoming.set(from, (set = new Set()));
        set.add(ws);
      },
      close: (ws) => {
        this.incoming.get(ws.getUserData().from)?.delete(ws);
      },
      message: (ws, message) => {
        // the ArrayBuffer is only valid during this call: copy before decoding (decoded bytes are views into it)
        this.deliver(ws.getUserData().from, new Uint8Array(message.slice(0)));
      },
    });
    this.app.post(peerPaths.messages, (res, req) => {
      const clusterId = req.getHeader(peerHeaders.clusterId);
      const from = req.getHeader(peerHeaders.from);
      const to = req.getHeader(peerHeaders.to);
      const refusal = this.refusal(clusterId, from, to);
      if (refusal) {
        res.writeStatus(this.refusalStatus(from)).writeHeader('x-tetcd-reason', refusal).end(refusal);
        return;
      }
      readBody(res, frameBytesMax, (body) => {
        if (!body) return;
        this.deliver(from, body);
        res.cork(() => res.writeStatus('204 No Content').end());
      });
    });
    this.app.post(peerPaths.snapshot, (res, req) => this.receiveSnapshot(res, req));
    this.app.get(peerPaths.members, (res) => {
      const body = this.options.membersJson?.();
      if (body === undefined) res.writeStatus('503 Service Unavailable').end('member list not known yet');
      else res.writeHeader('content-type', 'application/json').end(body);
    });
    this.app.post(peerPaths.lease, (res, req) => {
      const refusal = this.refusal(req.getHeader(peerHeaders.clusterId), req.getHeader(peerHeaders.from), req.getHeader(peerHeaders.to));
      const from = req.getHeader(peerHeaders.from);
      if (refusal || !this.options.onLease) {
        res.writeStatus('412 Precondition Failed').end(refusal ?? 'lease calls are not served here');
        return;
      }
      const onLease = this.options.onLease;
      readBody(res, 4 * 1024 * 1024, (body) => {
        if (!body) return;
        let call: { op: 'keepAlive' | 'remaining'; ids: bigint[] };
        try {
          call = decodeValue(body);
          if ((call.op !== 'keepAlive' && call.op !== 'remaining') || !Array.isArray(call.ids)) throw new Error('malformed lease call');
        } catch (error) {
          res.cork(() => res.writeStatus('400 Bad Request').end(String(error)));
          return;
        }
        onLease(from, call.op, call.ids.map((id) => BigInt(id))).then(
          (answer) => res.cork(() => res.writeStatus('200 OK').end(encodeValue(answer))),
          (error: unknown) => res.cork(() => res.writeStatus('503 Service Unavailable').end(error instanceof Error ? error.message : String(error))),
        );
      });
    });
    if (this.options.faultInjection) {
      this.app.post(peerPaths.faults, (res) => {
        readBody(res, 64 * 1024, (body) => {
          if (!body) return;
          try {
            const faults = JSON.parse(Buffer.from(body).toString()) as { isolate?: string[]; cutStreams?: boolean };
            this.faults(faults.isolate ?? [], faults.cutStreams ?? false);
            this.options.log.warn('fault injection', { isolate: faults.isolate ?? [], cutStreams: faults.cutStreams ?? false });
            res.cork(() => res.writeStatus('204 No Content').end());
          } catch (error) {
            res.cork(() => res.writeStatus('400 Bad Request').end(String(error)));
          }
        });
      });
    }
  }

  /**
   * Writes an incoming snapshot straight to a temp file with asynchronous writes (the main thread never waits on the
   * disk), pausing the socket while too much is waiting to be written, then hands the file to the owner.
   */
  private receiveSnapshot(res: HttpResponse, req: { getHeader(name: string): string }): void {
    const clusterId = req.getHeader(peerHeaders.clusterId);
    const from = req.getHeader(peerHeaders.from);
    const to = req.getHeader(peerHeaders.to);
    const header = req.getHeader('x-tetcd-message');
    const dir = this.options.snapshotIncomingDir;
    const refusal = this.refusal(clusterId, from, to) ?? (dir && this.options.onSnapshot ? undefined : 'this member does not accept snapshots');
    let message: PeerMessage | undefined;
    try {
      message = decodeValue<PeerMessage>(Buffer.from(header, 'base64'));
    } catch {
      message = undefined;
    }
    if (refusal || !message || message.from !== from || message.to !== this.options.self) {
      res.writeStatus('412 Precondition Failed').end(refusal ?? 'missing or malformed snapshot message');
      return;
    }
    fs.mkdirSync(dir!, { recursive: true });
    const file = path.join(dir!, `incoming-${from}-${Date.now()}-${Math.floor(Math.random() * 1e9)}.snap.tmp`);
    const stream = fs.createWriteStream(file, { flags: 'w', mode: 0o600 });
    let bytes = 0;
    let aborted = false;
    let paused = false;
    const fail = (reason: string) => {
      if (aborted) return;
      aborted = true;
      stream.destroy();
      fs.rm(file, { force: true }, () => {});
      this.options.log.warn('incoming snapshot failed', { peer: from, reason });
    };
    res.onAborted(() => fail('peer aborted the upload'));
    stream.on('error', (error) => {
      fail(String(error));
      res.cork(() => res.writeStatus('500 Internal Server Error').end('cannot write snapshot'));
    });
    stream.on('drain', () => {
      if (paused && !aborted) {
        paused = false;
        res.resume();
      }
    });
    res.onData((chunk, isLast) => {
      if (aborted) return;
      bytes += chunk.byteLength;
      const more = stream.write(Buffer.from(chunk.slice(0)));
      if (!more && stream.writableLength > transportLimits.snapshotWriteBehindBytesMax && !paused) {
        paused = true;
        res.pause();
      }
      if (!isLast) return;
      stream.end(() => {
        // make the file durable before anyone relies on it
        fs.open(file, 'r', (openError, fd) => {
          if (openError) return fail(String(openError));
          fs.fsync(fd, (syncError) => {
            fs.close(fd, () => {});
            if (aborted) return;
            if (syncError) {
              fail(String(syncError));
              res.cork(() => res.writeStatus('500 Internal Server Error').end('cannot sync snapshot'));
              return;
            }
            // answered once the snapshot is installed and handed to raft: a sender that heard "delivered" earlier could
            // probe with an append the follower's raft rejects (it has not stepped the snapshot yet), and send it again
            this.options.onSnapshot!(from, file, bytes, message!).then(
              () => {
                if (!aborted) res.cork(() => res.writeStatus('204 No Content').end());
              },
              (error: unknown) => {
                if (!aborted) res.cork(() => res.writeStatus('500 Internal Server Error').end(`snapshot refused: ${String(error)}`));
              },
            );
          });
        });
      });
    });
  }
}

/** Reads a whole request body (copied), capped; answers 413 past the cap and calls back with undefined. */
export function readBody(res: HttpResponse, bytesMax: number, done: (body: Uint8Array | undefined) => void): void {
  const chunks: Uint8Array[] = [];
  let size = 0;
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
    done(undefined);
  });
  res.onData((chunk, isLast) => {
    if (aborted) return;
    size += chunk.byteLength;
    if (size > bytesMax) {
      aborted = true;
      res.cork(() => res.writeStatus('413 Payload Too Large').end('frame too large'));
      done(undefined);
      return;
    }
    chunks.push(new Uint8Array(chunk.slice(0)));
    if (!isLast) return;
    if (chunks.length === 1) return done(chunks[0]);
    const body = new Uint8Array(size);
    let offset = 0;
    for (const c of chunks) {
      body.set(c, offset);
      offset += c.length;
    }
    done(body);
  });
}
