// Client streams: cutting a request body into JSON messages, writing responses to a slow socket without unbounded
// buffering, and the bridges that join a transport (HTTP chunked or WebSocket) to a watch or keep-alive session.
//
// Backpressure on an HTTP chunked response. uWS accepts every write and buffers what the kernel refuses; write()
// returns false when something stayed in its buffer. It offers no way to read how much is buffered, and once an
// onWritable handler is registered it stops draining on its own, so none is registered: uWS drains by itself, and
// the writer keeps a bound on what uWS may hold:
//   - every byte handed to uWS by a write that returned false counts as "maybe buffered" until a later write returns
//     true (which proves uWS's buffer was empty), so the count is an upper bound;
//   - while uWS may be buffering, new data waits in the writer's own queue, and every probeIntervalMs a small slice of
//     it is written as a probe: a probe that goes through means uWS drained, and the queue is handed over in pieces
//     of at most pauseBytes until one does not go through (so uWS never holds more than one piece unaccounted);
//   - past pauseBytes the session is paused; it resumes once a write proves the buffer drained (or, with nothing
//     queued to probe with, on the next probe tick, since its next output is itself a probe);
//   - past capBytes the stream is closed with a stream error naming the reason, and only that stream.
// A WebSocket reports its buffered amount exactly and has a drain event, so its outlet is simpler.
import type { HttpResponse, WebSocket } from '@trufflesuite/uws-js-unofficial';
import { EtcdError, GrpcCode } from '../api/errors.js';
import type { LeaseKeepAliveRequest, WatchRequest } from '../api/types.js';
import type { Api, CallContext, LeaseKeepAliveSession, SnapshotResponse, WatchSession } from './api.js';
import { decodeValue, decoders, RequestDecodeError } from './json/decode.js';
import { encodeLeaseKeepAlive, encodeSnapshot, streamError } from './json/encode.js';
import { JsonEndOfInputError, readFirstValue, scanValueEnd, type JsonNode } from './json/reader.js';
import { encodeWatchMessages, type EncodedMessages } from './json/watch-batch.js';
import { httpStatusOf, statusText } from './status.js';

export interface OutletLimits {
  pauseBytes: number;
  capBytes: number;
  probeIntervalMs: number;
  probeBytes: number;
  closeGraceMs: number;
}

export interface OutletHooks {
  pause(): void;
  resume(): void;
  /** The outlet closed the stream because the client read too slowly. */
  overflow(bufferedBytes: number): void;
}

/** Where a stream's responses go: one JSON document per message ({"result":…} or {"error":…}). */
export interface Outlet {
  readonly closed: boolean;
  write(messages: readonly string[]): void;
  /** Writes messages already encoded; their bytes are read (or copied) before this returns. */
  writeEncoded(messages: EncodedMessages): void;
  /** Writes the final messages (if any) and ends the stream. */
  end(finalMessages?: readonly string[]): void;
  /** The transport is gone: stop without touching it. */
  abandon(): void;
}

export function slowConsumerMessage(bufferedBytes: number, capBytes: number): string {
  return `tetcd: stream closed because the client reads too slowly (${bufferedBytes} bytes queued, limit ${capBytes})`;
}

function slowConsumerError(bufferedBytes: number, capBytes: number): string {
  return streamErrorJson(new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, slowConsumerMessage(bufferedBytes, capBytes)));
}

/** etcd's stream error document, without the newline. */
export function streamErrorJson(error: EtcdError): string {
  const http = httpStatusOf(error.code);
  return streamError(error.code, http, error.message, statusText(http)).slice(0, -1);
}

/** Writes the response head of a successful stream (the same headers etcd's gateway sends). */
export type HeadWriter = (res: HttpResponse) => void;

/** HTTP chunked outlet: newline-delimited JSON, bounded as the file header explains. */
export class ChunkedOutlet implements Outlet {
  private headWritten = false;
  private done = false;
  private suspect = false;
  private maybeBufferedBytes = 0;
  /** Bytes waiting while uWS may still be buffering; each entry is owned (a copy, never the encoder's scratch). */
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private paused = false;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: HttpResponse,
    private readonly writeHead: HeadWriter,
    private readonly hooks: OutletHooks,
    private readonly limits: OutletLimits,
  ) {}

  get closed(): boolean {
    return this.done;
  }

  /** True before any byte of the response was written (an error can still be a plain HTTP error response). */
  get pristine(): boolean {
    return !this.headWritten && !this.done;
  }

  /** Bytes that may be waiting in uWS's buffer or in this outlet's queue (an upper bound). */
  get bufferedBytes(): number {
    return this.maybeBufferedBytes + this.queuedBytes;
  }

  write(messages: readonly string[]): void {
    if (this.done || messages.length === 0) return;
    this.writeBytes(Buffer.from(messages.join('\n') + '\n', 'utf8'), true);
  }

  writeEncoded(messages: EncodedMessages): void {
    if (this.done || messages.ends.length === 0) return;
    this.writeBytes(messages.bytes, false);
  }

  private writeBytes(data: Uint8Array, owned: boolean): void {
    if (this.suspect || this.queue.length > 0) {
      this.queue.push(owned ? data : Buffer.from(data)); // Buffer.from copies a view
      this.queuedBytes += data.length;
      this.scheduleProbe();
    } else this.writeNow(data);
    this.check();
  }

  end(finalMessages: readonly string[] = []): void {
    if (this.done) return;
    this.done = true;
    this.clearProbe();
    const pieces = this.queue;
    if (finalMessages.length > 0) pieces.push(Buffer.from(finalMessages.join('\n') + '\n', 'utf8'));
    this.queue = [];
    this.queuedBytes = 0;
    this.res.cork(() => {
      if (!this.headWritten) {
        this.headWritten = true;
        this.writeHead(this.res);
      }
      if (pieces.length > 0) this.res.write(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces));
      this.res.end();
    });
  }

  /** Ends a stream that has written nothing yet with a plain HTTP response (etcd's answer to a bad first message). */
  endWithResponse(respond: (res: HttpResponse) => void): void {
    if (!this.pristine) return this.end();
    this.done = true;
    this.clearProbe();
    this.res.cork(() => respond(this.res));
  }

  abandon(): void {
    this.done = true;
    this.clearProbe();
    this.queue = [];
    this.queuedBytes = 0;
  }

  private writeNow(data: Uint8Array): boolean {
    let ok = false;
    this.res.cork(() => {
      if (!this.headWritten) {
        this.headWritten = true;
        this.writeHead(this.res);
      }
      ok = this.res.write(data);
    });
    if (ok) {
      this.maybeBufferedBytes = 0;
      this.suspect = false;
    } else {
      this.maybeBufferedBytes += data.length;
      this.suspect = true;
      this.scheduleProbe();
    }
    return ok;
  }

  /**
   * After a probe went through, hands the queue to uWS in pieces of at most pauseBytes, stopping at the first piece
   * uWS could not pass on: so what may sit in uWS's buffer stays within one piece, and the rest is counted exactly
   * in the queue.
   */
  private flushQueue(): void {
    while (this.queue.length > 0) {
      const parts: Uint8Array[] = [];
      let size = 0;
      while (this.queue.length > 0 && size < this.limits.pauseBytes) {
        const part = this.take(this.limits.pauseBytes - size);
        parts.push(part);
        size += part.length;
      }
      if (!this.writeNow(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size))) return;
    }
  }

  /** Takes up to `max` bytes (at least one) off the front of the queue. A chunked body is bytes: any cut will do. */
  private take(max: number): Uint8Array {
    const head = this.queue[0]!;
    const n = Math.min(head.length, Math.max(1, max));
    if (n === head.length) this.queue.shift();
    else this.queue[0] = head.subarray(n);
    this.queuedBytes -= n;
    return head.subarray(0, n);
  }

  private check(): void {
    if (this.done) return;
    const buffered = this.bufferedBytes;
    if (buffered > this.limits.capBytes) return this.overflow(buffered);
    if (!this.paused && buffered > this.limits.pauseBytes) {
      this.paused = true;
      this.hooks.pause();
    } else if (this.paused && !this.suspect && buffered <= this.limits.pauseBytes / 2) {
      this.paused = false;
      this.hooks.resume();
    }
  }

  private overflow(buffered: number): void {
    this.done = true;
    this.clearProbe();
    this.queue = [];
    this.queuedBytes = 0;
    const error = slowConsumerError(buffered, this.limits.capBytes) + '\n';
    this.res.cork(() => {
      if (!this.headWritten) {
        this.headWritten = true;
        this.writeHead(this.res);
      }
      this.res.write(error);
      this.res.end();
    });
    // uWS now owns what is left; if the client never reads it, uWS's own write timeout closes the socket.
    this.hooks.overflow(buffered);
  }

  private scheduleProbe(): void {
    if (this.probeTimer !== undefined || this.done) return;
    this.probeTimer = setTimeout(() => this.probe(), this.limits.probeIntervalMs);
  }

  private clearProbe(): void {
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private probe(): void {
    this.probeTimer = undefined;
    if (this.done) return;
    if (this.queue.length === 0) {
      // Nothing to probe with: let the producer go on; what it sends next queues and probes.
      if (this.paused) {
        this.paused = false;
        this.hooks.resume();
      }
      return;
    }
    if (this.writeNow(this.take(this.limits.probeBytes))) this.flushQueue();
    this.check();
    if (this.queue.length > 0) this.scheduleProbe();
  }
}

/** The per-socket state a WebSocket stream keeps in uWS user data. */
export interface SocketData {
  route: 'watch' | 'keepalive';
  authToken: string | undefined;
  /** The stream's call context; marked aborted when the socket closes. */
  context: { aborted: boolean } | undefined;
  bridge: StreamBridge | undefined;
  outlet: WebSocketOutlet | undefined;
}

/** WebSocket outlet: one response per message, exact buffered amounts, a drain event. */
export class WebSocketOutlet implements Outlet {
  private done = false;
  private paused = false;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    private readonly hooks: OutletHooks,
    private readonly limits: OutletLimits,
  ) {}

  get closed(): boolean {
    return this.done;
  }

  write(messages: readonly string[]): void {
    if (this.done || messages.length === 0) return;
    this.ws.cork(() => {
      for (const message of messages) this.ws.send(message, false);
    });
    this.check();
  }

  writeEncoded(messages: EncodedMessages): void {
    if (this.done || messages.ends.length === 0) return;
    const { bytes, ends } = messages;
    this.ws.cork(() => {
      let start = 0;
      for (const end of ends) {
        this.ws.send(bytes.subarray(start, end), false);
        start = end + 1;
      }
    });
    this.check();
  }

  private check(): void {
    const buffered = this.ws.getBufferedAmount();
    if (buffered > this.limits.capBytes) return this.overflow(buffered);
    if (!this.paused && buffered > this.limits.pauseBytes) {
      this.paused = true;
      this.hooks.pause();
    }
  }

  /** uWS's drain event. */
  drained(): void {
    if (this.done || !this.paused) return;
    if (this.ws.getBufferedAmount() <= this.limits.pauseBytes / 2) {
      this.paused = false;
      this.hooks.resume();
    }
  }

  end(finalMessages: readonly string[] = [], code = 1000, reason = ''): void {
    if (this.done) return;
    this.done = true;
    this.ws.cork(() => {
      for (const message of finalMessages) this.ws.send(message, false);
      this.ws.end(code, reason);
    });
    this.armGrace();
  }

  abandon(): void {
    this.done = true;
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
  }

  private overflow(buffered: number): void {
    this.done = true;
    const error = slowConsumerError(buffered, this.limits.capBytes);
    this.ws.cork(() => {
      this.ws.send(error, false);
      this.ws.end(1008, 'slow consumer');
    });
    this.armGrace();
    this.hooks.overflow(buffered);
  }

  /** A close handshake queued behind a full buffer may never complete: cut the socket after a grace period. */
  private armGrace(): void {
    this.graceTimer = setTimeout(() => {
      try {
        this.ws.close();
      } catch {
        // already closed: uWS throws on a closed socket, which is what we wanted
      }
    }, this.limits.closeGraceMs);
    this.graceTimer.unref();
  }
}

/** Cuts a stream body into JSON messages as json.Decoder reads them, one value after another, across chunks. */
export type SplitResult =
  | { type: 'value'; node: JsonNode }
  | { type: 'more' }
  | { type: 'end' }
  | { type: 'error'; message: string };

export class JsonStreamSplitter {
  private buffer = new Uint8Array(0);
  private start = 0;
  private end = 0;

  constructor(private readonly messageBytesMax: number) {}

  /** Copies a chunk in (uWS reuses the memory of a chunk once the callback returns). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    if (this.end + chunk.length > this.buffer.length) {
      const live = this.end - this.start;
      const size = Math.max(live + chunk.length, Math.min(this.buffer.length * 2, live + chunk.length + this.messageBytesMax));
      const next = new Uint8Array(Math.max(size, 1024));
      next.set(this.buffer.subarray(this.start, this.end));
      this.buffer = next;
      this.end = live;
      this.start = 0;
    }
    this.buffer.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The next complete message; `final` once the body ended (then an unfinished message is an error). */
  next(final: boolean): SplitResult {
    const buf = this.buffer;
    while (this.start < this.end && (buf[this.start] === 0x20 || buf[this.start] === 0x0a || buf[this.start] === 0x0d || buf[this.start] === 0x09)) this.start++;
    if (this.start === this.end) {
      this.start = this.end = 0;
      return final ? { type: 'end' } : { type: 'more' };
    }
    const valueEnd = scanValueEnd(buf, this.start, this.end);
    try {
      if (valueEnd >= 0) return this.take(valueEnd);
      if (final) return this.take(this.end);
      if (valueEnd === -2) {
        // A scalar has no closing bracket: it is complete once something follows it.
        const { next } = readFirstValue(buf, this.start, this.end);
        return next < this.end ? this.take(this.end) : { type: 'more' };
      }
      // An unfinished object: a syntax error already visible is reported now, as Go's decoder would.
      if (this.end - this.start <= 4096) readFirstValue(buf, this.start, this.end);
    } catch (error) {
      if (!(error instanceof JsonEndOfInputError)) return { type: 'error', message: (error as Error).message };
      if (final) return { type: 'error', message: error.message };
    }
    if (this.end - this.start > this.messageBytesMax) {
      return { type: 'error', message: `tetcd: stream message larger than ${this.messageBytesMax} bytes` };
    }
    return { type: 'more' };
  }

  private take(limit: number): SplitResult {
    const { node, next } = readFirstValue(this.buffer, this.start, limit);
    this.start = next;
    if (node === undefined) return { type: 'more' };
    return { type: 'value', node };
  }
}

// ---- bridges: a transport's messages in, a session's responses out ----

export interface StreamBridge {
  /** One message from the client (already cut out of the body). Returns false when it could not be decoded. */
  message(node: JsonNode): { ok: true } | { ok: false; message: string };
  /** The client will send nothing more (end of the HTTP request body). */
  inputEnded(): void;
  /** The transport is gone or the stream is over: release the session. Idempotent. */
  close(): void;
  /** True while the client should not be read further (too many requests waiting for answers). */
  readonly inputBlocked: boolean;
}

function decodeMessage<T>(node: JsonNode, decode: Parameters<typeof decodeValue<T>>[1]): { ok: true; value: T } | { ok: false; message: string } {
  try {
    return { ok: true, value: decodeValue(node, decode) };
  } catch (error) {
    if (error instanceof RequestDecodeError) return { ok: false, message: error.message };
    throw error;
  }
}

export interface BridgeEvents {
  closed(): void;
  /** The input side may resume reading (after inputBlocked was true). */
  unblocked(): void;
}

/** Joins a watch session to an outlet. Watch streams stay open after the client's input ends, as etcd's do. */
export class WatchBridge implements StreamBridge {
  private session: WatchSession | undefined;
  private closedFlag = false;
  readonly inputBlocked = false;

  constructor(api: Api, context: CallContext, private readonly outlet: Outlet, private readonly events: BridgeEvents) {
    this.session = api.watch(
      {
        send: (responses) => {
          if (this.closedFlag || responses.length === 0) return;
          this.outlet.writeEncoded(encodeWatchMessages(responses));
        },
        fail: (error) => {
          if (this.closedFlag) return;
          this.outlet.end([streamErrorJson(error)]);
          this.close();
        },
      },
      context,
    );
  }

  pause(): void {
    this.session?.pause();
  }
  resume(): void {
    this.session?.resume();
  }

  message(node: JsonNode): { ok: true } | { ok: false; message: string } {
    const decoded = decodeMessage<WatchRequest | undefined>(node, decoders.watch);
    if (!decoded.ok) return decoded;
    if (decoded.value !== undefined && !this.closedFlag) this.session?.request(decoded.value);
    return { ok: true };
  }

  inputEnded(): void {
    // etcd keeps a watch stream open after the client half-closes.
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    const session = this.session;
    this.session = undefined;
    session?.close();
    this.events.closed();
  }
}

/**
 * Joins a keep-alive session to an outlet. Each request gets exactly one response; once the client's input ended
 * and every request was answered, the stream ends (etcd's keep-alive stream ends at request-body EOF).
 */
export class KeepAliveBridge implements StreamBridge {
  private session: LeaseKeepAliveSession | undefined;
  private closedFlag = false;
  private outstanding = 0;
  private ended = false;

  constructor(
    api: Api,
    context: CallContext,
    private readonly outlet: Outlet,
    private readonly events: BridgeEvents,
    private readonly outstandingMax: number,
  ) {
    this.session = api.leaseKeepAlive(
      {
        send: (responses) => {
          if (this.closedFlag || responses.length === 0) return;
          const wasBlocked = this.inputBlocked;
          this.outstanding = Math.max(0, this.outstanding - responses.length);
          const messages = new Array<string>(responses.length);
          for (let i = 0; i < responses.length; i++) messages[i] = `{"result":${encodeLeaseKeepAlive(responses[i]!)}}`;
          this.outlet.write(messages);
          if (this.ended && this.outstanding === 0) return this.finish();
          if (wasBlocked && !this.inputBlocked) this.events.unblocked();
        },
        fail: (error) => {
          if (this.closedFlag) return;
          this.outlet.end([streamErrorJson(error)]);
          this.close();
        },
      },
      context,
    );
  }

  get inputBlocked(): boolean {
    return this.outstanding >= this.outstandingMax;
  }

  pause(): void {
    this.session?.pause();
  }
  resume(): void {
    this.session?.resume();
  }

  message(node: JsonNode): { ok: true } | { ok: false; message: string } {
    const decoded = decodeMessage<LeaseKeepAliveRequest>(node, decoders.leaseKeepAlive);
    if (!decoded.ok) return decoded;
    if (!this.closedFlag && !this.ended) {
      this.outstanding++;
      this.session?.request(decoded.value);
    }
    return { ok: true };
  }

  inputEnded(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.outstanding === 0) this.finish();
  }

  private finish(): void {
    this.outlet.end();
    this.close();
  }

  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    const session = this.session;
    this.session = undefined;
    session?.close();
    this.events.closed();
  }
}

/**
 * Pumps a snapshot's chunks into an outlet, pulling the next chunk only while the outlet is not paused. Ends the
 * stream after the last chunk, or with a stream error if the snapshot fails.
 */
export class SnapshotPump {
  private paused = false;
  private wake: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly outlet: Outlet) {}

  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.wake?.();
  }
  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async run(chunks: AsyncIterable<SnapshotResponse>, onError: (error: unknown) => EtcdError): Promise<void> {
    const iterator = chunks[Symbol.asyncIterator]();
    try {
      for (;;) {
        while (this.paused && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        if (this.stopped || this.outlet.closed) break;
        const next = await iterator.next();
        if (this.stopped || this.outlet.closed) break;
        if (next.done === true) {
          this.outlet.end();
          return;
        }
        this.outlet.write([`{"result":${encodeSnapshot(next.value)}}`]);
      }
      await iterator.return?.();
    } catch (error) {
      if (!this.outlet.closed) this.outlet.end([streamErrorJson(onError(error))]);
      await Promise.resolve(iterator.return?.()).catch(() => undefined);
    }
  }
}
