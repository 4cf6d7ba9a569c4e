// One member's outgoing link to one peer: a long-lived WebSocket stream for small raft messages, reconnected with
// capped exponential backoff, and an HTTP POST fallback (one request per frame, bounded in flight) while the stream
// is down, so heartbeats and appends keep flowing during a reconnect.
//
// Nothing here ever blocks raft: a frame that finds the stream's buffer over its cap, or the fallback at its limit of
// requests in flight, is dropped, and the owner reports the peer unreachable so raft slows down to probing.
import WebSocket from 'ws';
import type { Logger } from '../../runtime/log.js';
import type { NodeId } from '../raft/core/types.js';
import { peerHeaders, peerPaths } from './protocol.js';

export interface PeerLinkOptions {
  self: NodeId;
  clusterId: string;
  peer: NodeId;
  urls: string[];
  streamBufferBytesMax: number;
  pipelineInflightMax: number;
  reconnectDelayMsMin: number;
  reconnectDelayMsMax: number;
  log: Logger;
  random: () => number;
  /** The peer answered that this member was removed from the cluster. */
  onRemoved?(): void;
}

export class PeerLink {
  private socket: WebSocket | undefined;
  private open = false;
  private closed = false;
  private attempt = 0;
  private urlIndex = 0;
  private timer: NodeJS.Timeout | undefined;
  private pipelineInflight = 0;
  framesSent = 0;
  pipelinePosts = 0;
  /** Test hook: while set, no stream is kept (frames go through the fallback). */
  streamCut = false;

  constructor(private readonly options: PeerLinkOptions) {
    this.connect();
  }

  get streamOpen(): boolean {
    return this.open;
  }

  get urls(): string[] {
    return this.options.urls;
  }

  /** Sends one frame; false when it had to be dropped. */
  send(frame: Uint8Array): boolean {
    const socket = this.socket;
    if (this.open && socket && !this.streamCut) {
      if (socket.bufferedAmount > this.options.streamBufferBytesMax) return false;
      socket.send(frame, { binary: true });
      this.framesSent++;
      return true;
    }
    return this.post(frame);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.terminate();
    this.socket = undefined;
    this.open = false;
  }

  /** Drops the stream now (test hook); it reconnects unless the cut is kept. */
  cut(keep: boolean): void {
    this.streamCut = keep;
    this.socket?.terminate();
  }

  private url(): string {
    return this.options.urls[this.urlIndex % this.options.urls.length]!;
  }

  private headers(): Record<string, string> {
    return { [peerHeaders.clusterId]: this.options.clusterId, [peerHeaders.from]: this.options.self, [peerHeaders.to]: this.options.peer };
  }

  private connect(): void {
    if (this.closed) return;
    if (this.streamCut) {
      this.scheduleReconnect();
      return;
    }
    const target = this.url().replace(/^http/, 'ws') + peerPaths.stream;
    const socket = new WebSocket(target, { headers: this.headers(), perMessageDeflate: false, handshakeTimeout: 2_000 });
    this.socket = socket;
    socket.on('open', () => {
      if (this.socket !== socket) return;
      this.open = true;
      this.attempt = 0;
      this.options.log.info('peer stream open', { peer: this.options.peer, url: target });
    });
    socket.on('unexpected-response', (_request, response) => {
      this.options.log.warn('peer refused the stream', { peer: this.options.peer, status: response.statusCode, reason: response.headers['x-tetcd-reason'] });
      socket.terminate();
      if (response.statusCode === 410) this.options.onRemoved?.();
    });
    socket.on('error', () => {
      // 'close' follows; the cause is logged only when the stream had been open
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      if (this.open) this.options.log.warn('peer stream closed', { peer: this.options.peer });
      this.open = false;
      this.socket = undefined;
      this.urlIndex++;
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const { reconnectDelayMsMin: min, reconnectDelayMsMax: max } = this.options;
    const delay = Math.min(max, min * 2 ** Math.min(this.attempt++, 16)) * (0.5 + this.options.random() / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  private post(frame: Uint8Array): boolean {
    if (this.pipelineInflight >= this.options.pipelineInflightMax) return false;
    this.pipelineInflight++;
    this.pipelinePosts++;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5_000);
    fetch(this.url() + peerPaths.messages, {
      method: 'POST',
      headers: { ...this.headers(), 'content-type': 'application/cbor' },
      body: frame,
      signal: controller.signal,
    })
      .then(async (response) => {
        await response.arrayBuffer();
        if (!response.ok) this.options.log.debug('peer refused a message post', { peer: this.options.peer, status: response.status });
        if (response.status === 410) this.options.onRemoved?.();
      })
      .catch((error: unknown) => {
        this.options.log.debug('message post failed', { peer: this.options.peer, error });
        this.urlIndex++;
      })
      .finally(() => {
        clearTimeout(timer);
        this.pipelineInflight--;
      });
    return true;
  }
}
