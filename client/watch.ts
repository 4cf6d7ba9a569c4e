// Watches as async iterators that survive reconnects with no gap and no duplicate.
//
// Each Watch remembers the revision it must resume from (`nextRevision`): the start revision it was asked for, or
// one past the store revision its first creation answered with; then one past the last event it delivered; and one
// past a progress notification sent for it alone (etcd sends those only to watchers that have caught up). After a
// broken connection the watch is created again from `nextRevision`, so every revision not yet delivered is replayed
// and none twice; events older than `nextRevision` that still arrive are dropped as a second line of defence.
//
// Two transports:
//  - WebSocket (tetcd): one socket per client carries every watch. Creations go one at a time, so each `created`
//    answer names the watch it belongs to; the other answers are routed by watch_id, and a progress answer
//    (watch_id -1) goes to every watch on the socket.
//  - HTTP (etcd's gateway, or tetcd without WebSocket): one chunked stream per watch, whose request body is the one
//    create request (see transport/http.ts for why). A progress request is sent on a short-lived stream of its own.
// With transport "auto" a client tries WebSocket per endpoint and falls back to HTTP where the upgrade is refused.
//
// A consumer that stops pulling gets at most watchQueueResponsesMax responses buffered; then the stream is paused
// (for WebSocket: the shared socket) until the queue drains below watchQueueResponsesResume.
import type { ResponseHeader, WatchCreateRequest, WatchResponse } from '../actors/api/types.js';
import { WatchFilter } from '../actors/api/types.js';
import type { Connection } from './connection.js';
import {
  ClientClosedError,
  ConnectionError,
  EtcdServerError,
  GrpcCode,
  WatchCanceledError,
  WatchCompactedError,
  WebSocketUnsupportedError,
  type ClientError,
} from './errors.js';
import { decodeWatch, encodeWatchCreate, type JsonObject } from './json.js';
import { resolveRange, type KeyInput, type RangeSpec } from './keys.js';
import { clientLimits } from './limits.js';
import type { Endpoint } from './transport/endpoint.js';
import { HttpStream } from './transport/http.js';
import type { WsConnection } from './transport/ws.js';

export interface WatchOptions extends RangeSpec {
  /** First revision to deliver; 0 or absent = changes after the watch is created. */
  startRevision?: number;
  prevKv?: boolean;
  /** Ask the server for periodic progress notifications while nothing changes. */
  progressNotify?: boolean;
  filters?: Array<'noput' | 'nodelete'>;
}

/** A watch response that carries no events and is not a creation or cancellation: a progress notification. */
export function isProgressNotify(r: WatchResponse): boolean {
  return r.events.length === 0 && !r.canceled && !r.created && !r.compactRevision && r.header.revision !== 0;
}

/** What a transport does for the watches it carries. */
interface WatchCarrier {
  remove(watch: Watch): void;
  requestProgress(watch: Watch): void;
  queueHigh(watch: Watch): void;
  queueLow(watch: Watch): void;
}

export class Watch implements AsyncIterable<WatchResponse>, AsyncIterator<WatchResponse> {
  readonly request: WatchCreateRequest;
  /** Where the next creation starts; 0 until the first creation answered when no start revision was given. */
  nextRevision: number;
  /** The watch_id the server gave this watch on its current stream. */
  serverWatchId = -1;
  readonly stats = { responses: 0, events: 0, creations: 0, duplicatesDropped: 0 };
  /** Resolves with the header of the first `created` answer. */
  readonly created: Promise<ResponseHeader>;
  /** The transport carrying the watch now. */
  carrier: WatchCarrier | undefined;
  private resolveCreated!: (header: ResponseHeader) => void;
  private rejectCreated!: (error: Error) => void;
  private createdOnce = false;
  private readonly queue: WatchResponse[] = [];
  private waiter: { resolve(r: IteratorResult<WatchResponse>): void; reject(e: Error): void } | undefined;
  private failure: Error | undefined;
  private finished = false;
  private high = false;
  private fragments: WatchResponse | undefined;

  constructor(request: WatchCreateRequest) {
    this.request = request;
    this.nextRevision = request.startRevision ?? 0;
    this.created = new Promise<ResponseHeader>((resolve, reject) => {
      this.resolveCreated = resolve;
      this.rejectCreated = reject;
    });
    this.created.catch(() => {}); // nobody has to wait for it
  }

  /** True once cancelled or failed: no more responses will be queued. */
  get done(): boolean {
    return this.finished;
  }

  /** The create request for the next (re)creation. */
  createRequest(): JsonObject {
    this.stats.creations++;
    return encodeWatchCreate({ ...this.request, startRevision: this.nextRevision });
  }

  /** Takes one answer of the server for this watch; returns true when the watch is over. */
  handle(response: WatchResponse): boolean {
    if (this.finished) return true;
    this.stats.responses++;
    if (response.created) {
      this.serverWatchId = response.watchId;
      if (this.nextRevision === 0) this.nextRevision = response.header.revision + 1;
      if (!this.createdOnce) {
        this.createdOnce = true;
        this.resolveCreated(response.header);
      }
      if (!response.canceled) return false;
    }
    if (response.canceled) {
      const error = response.compactRevision
        ? new WatchCompactedError(response.compactRevision)
        : new WatchCanceledError(response.cancelReason ?? '', 0);
      (error as WatchCanceledError & { response?: WatchResponse }).response = response;
      this.carrier = undefined; // the server already dropped it; the carrier forgets it when this returns true
      this.fail(error);
      return true;
    }
    if (response.fragment) {
      // Pieces of one large response: hold them until the last piece arrives.
      if (this.fragments) this.fragments.events.push(...response.events);
      else this.fragments = { ...response, events: [...response.events] };
      return false;
    }
    let whole = response;
    if (this.fragments) {
      whole = { ...response, events: [...this.fragments.events, ...response.events] };
      this.fragments = undefined;
    }
    if (whole.events.length === 0) {
      // Progress. Only a notification addressed to this watch proves it has caught up to the header revision.
      if (whole.watchId === this.serverWatchId && whole.watchId !== -1) {
        this.nextRevision = Math.max(this.nextRevision, whole.header.revision + 1);
      }
      this.push(whole);
      return false;
    }
    const fresh = whole.events.filter((e) => e.kv.modRevision >= this.nextRevision);
    this.stats.duplicatesDropped += whole.events.length - fresh.length;
    if (fresh.length === 0) return false;
    this.nextRevision = fresh[fresh.length - 1]!.kv.modRevision + 1;
    this.stats.events += fresh.length;
    this.push(fresh.length === whole.events.length ? whole : { ...whole, events: fresh });
    return false;
  }

  /** Ends the watch with an error the consumer sees after the responses already queued. */
  fail(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    this.rejectCreated(error);
    this.carrier?.remove(this);
    this.carrier = undefined;
    this.wake();
  }

  /** Stops the watch; the iterator ends after the responses already queued. */
  async cancel(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.rejectCreated(new WatchCanceledError('watch canceled by the client', 0));
    this.carrier?.remove(this);
    this.carrier = undefined;
    this.wake();
  }

  /** Asks the server to confirm how far this watch has caught up (answered as a progress notification). */
  requestProgress(): void {
    if (!this.finished) this.carrier?.requestProgress(this);
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchResponse> {
    return this;
  }

  next(): Promise<IteratorResult<WatchResponse>> {
    const item = this.queue.shift();
    if (item) {
      if (this.high && this.queue.length <= clientLimits.watchQueueResponsesResume) {
        this.high = false;
        this.carrier?.queueLow(this);
      }
      return Promise.resolve({ value: item, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** `break` out of a for-await loop cancels the watch. */
  async return(): Promise<IteratorResult<WatchResponse>> {
    await this.cancel();
    return { value: undefined, done: true };
  }

  private push(response: WatchResponse): void {
    this.queue.push(response);
    this.wake();
    if (!this.high && this.queue.length >= clientLimits.watchQueueResponsesMax) {
      this.high = true;
      this.carrier?.queueHigh(this);
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    const item = this.queue.shift();
    if (item) waiter.resolve({ value: item, done: false });
    else if (this.failure) waiter.reject(this.failure);
    else if (this.finished) waiter.resolve({ value: undefined, done: true });
    else this.waiter = waiter;
  }
}

/** Whether a stream failure should end the watch rather than reconnect. */
function isFatal(error: ClientError): boolean {
  return error instanceof EtcdServerError && error.code !== GrpcCode.UNAVAILABLE;
}

/** One HTTP stream per watch. */
class HttpWatchCarrier implements WatchCarrier {
  private stream: HttpStream | undefined;
  private round = 0;
  private closed = false;
  private paused = false;

  constructor(
    private readonly connection: Connection,
    private readonly watch: Watch,
    private readonly onRemoved: (watch: Watch) => void,
  ) {
    watch.carrier = this;
    connection.track(this);
    this.connect();
  }

  close(): void {
    this.closed = true;
    this.stream?.close();
    this.stream = undefined;
  }

  remove(watch: Watch): void {
    if (watch !== this.watch) return;
    this.onRemoved(watch);
    this.connection.untrack(this);
    this.close();
  }

  requestProgress(watch: Watch): void {
    if (this.closed) return;
    const endpoint = this.connection.current();
    // bounded: a probe nobody answers is dropped after the request timeout
    const timer = setTimeout(() => probe.close(), this.connection.requestTimeoutMs);
    const probe = new HttpStream(endpoint, '/v3/watch', JSON.stringify({ progress_request: {} }), {
      onResult: (result) => {
        clearTimeout(timer);
        probe.close();
        if (!this.closed) watch.handle({ ...decodeWatch(result), watchId: -1 });
      },
      onEnd: () => clearTimeout(timer),
    }, this.connection.dialTimeoutMs);
  }

  queueHigh(): void {
    this.paused = true;
    this.stream?.pause();
  }

  queueLow(): void {
    this.paused = false;
    this.stream?.resume();
  }

  private connect(): void {
    if (this.closed || this.watch.done) return;
    const endpoint = this.connection.current();
    const stream = new HttpStream(endpoint, '/v3/watch', JSON.stringify(this.watch.createRequest()), {
      onResult: (result) => {
        if (this.stream !== stream) return;
        let response: WatchResponse;
        try {
          response = decodeWatch(result);
        } catch (error) {
          this.watch.fail(error as Error);
          return;
        }
        if (response.created) this.round = 0;
        if (this.watch.handle(response)) this.remove(this.watch);
      },
      onEnd: (error) => {
        if (this.stream !== stream) return;
        this.stream = undefined;
        this.broken(endpoint, error);
      },
    }, this.connection.dialTimeoutMs);
    this.stream = stream;
    if (this.paused) stream.pause();
  }

  private broken(endpoint: Endpoint, error: ClientError | undefined): void {
    if (this.closed || this.watch.done) return;
    if (this.connection.closed) {
      this.watch.fail(new ClientClosedError());
      return;
    }
    if (error && isFatal(error)) {
      this.watch.fail(error);
      return;
    }
    if (error instanceof ConnectionError || error === undefined) this.connection.markFailed(endpoint);
    const delay = this.connection.backoffMs(this.round++);
    void this.connection.sleep(delay).then(() => this.connect());
  }
}

/** One WebSocket carrying every watch of a client that is on WebSocket. */
class WsWatchCarrier implements WatchCarrier {
  private socket: WsConnection | undefined;
  private connecting = false;
  private round = 0;
  private closed = false;
  private readonly watches = new Set<Watch>();
  private readonly byServerId = new Map<number, Watch>();
  private createQueue: Watch[] = [];
  private creating: Watch | undefined;
  private readonly high = new Set<Watch>();

  constructor(private readonly connection: Connection, private readonly fallback: (watches: Watch[]) => void) {
    connection.track(this);
  }

  get size(): number {
    return this.watches.size;
  }

  add(watch: Watch): void {
    if (this.closed) throw new ClientClosedError();
    if (this.createQueue.length >= clientLimits.watchCreatesPendingMax) {
      watch.fail(new RangeError(`more than ${clientLimits.watchCreatesPendingMax} watches waiting to be created`));
      return;
    }
    watch.carrier = this;
    this.watches.add(watch);
    this.createQueue.push(watch);
    if (this.socket) this.pump();
    else this.connect();
  }

  remove(watch: Watch): void {
    if (!this.watches.delete(watch)) return;
    this.high.delete(watch);
    this.createQueue = this.createQueue.filter((w) => w !== watch);
    if (this.creating === watch) return; // cancelled once its `created` arrives
    if (this.byServerId.get(watch.serverWatchId) === watch) {
      this.byServerId.delete(watch.serverWatchId);
      this.socket?.send({ cancel_request: { watch_id: String(watch.serverWatchId) } });
    }
    this.resumeIfLow();
  }

  /** Asked while the socket is not up: sent once it is (or handed to HTTP with the watches). */
  private progressPending = false;

  requestProgress(): void {
    if (this.socket) this.socket.send({ progress_request: {} });
    else this.progressPending = true;
  }

  queueHigh(watch: Watch): void {
    this.high.add(watch);
    this.socket?.pause();
  }

  queueLow(watch: Watch): void {
    this.high.delete(watch);
    this.resumeIfLow();
  }

  close(): void {
    this.closed = true;
    this.socket?.close();
    this.socket = undefined;
  }

  private resumeIfLow(): void {
    if (this.high.size === 0) this.socket?.resume();
  }

  private connect(): void {
    if (this.connecting || this.closed || this.socket) return;
    this.connecting = true;
    const endpoint = this.connection.current();
    void import('./transport/ws.js')
      .then(({ WsConnection }) =>
        WsConnection.open(endpoint, '/v3/watch', this.connection.dialTimeoutMs, {
          onMessage: (result, error) => this.onMessage(result, error),
          onClose: (error) => this.onClose(endpoint, error),
        }),
      )
      .then(
        (socket) => {
          this.connecting = false;
          if (this.closed) {
            socket.close();
            return;
          }
          this.round = 0;
          this.socket = socket;
          this.createQueue = [...this.watches];
          this.creating = undefined;
          if (this.high.size > 0) socket.pause();
          this.pump();
          if (this.progressPending) {
            this.progressPending = false;
            socket.send({ progress_request: {} });
          }
        },
        (error: unknown) => {
          this.connecting = false;
          if (this.closed) return;
          if (error instanceof WebSocketUnsupportedError) {
            this.connection.noteWebSocketUnsupported(endpoint);
            const moved = [...this.watches];
            this.watches.clear();
            this.createQueue = [];
            this.fallback(moved);
            if (this.progressPending) {
              this.progressPending = false;
              for (const w of moved) w.requestProgress();
            }
            return;
          }
          this.connection.markFailed(endpoint);
          this.retryLater();
        },
      );
  }

  private retryLater(): void {
    if (this.watches.size === 0 || this.closed) return;
    const delay = this.connection.backoffMs(this.round++);
    void this.connection.sleep(delay).then(() => this.connect());
  }

  private pump(): void {
    if (!this.socket || this.creating) return;
    const next = this.createQueue.shift();
    if (!next) return;
    this.creating = next;
    this.socket.send(next.createRequest());
  }

  private onMessage(result: JsonObject | undefined, error: ClientError | undefined): void {
    if (error) {
      // The server refused a request on the stream: it can only be the creation in flight.
      const watch = this.creating;
      this.creating = undefined;
      if (watch) {
        this.watches.delete(watch);
        watch.fail(error);
      }
      this.pump();
      return;
    }
    let response: WatchResponse;
    try {
      response = decodeWatch(result!);
    } catch (failure) {
      for (const w of [...this.watches]) w.fail(failure as Error);
      this.close();
      return;
    }
    if (response.created && this.creating) {
      const watch = this.creating;
      this.creating = undefined;
      if (!this.watches.has(watch)) {
        // cancelled while its creation was in flight
        if (!response.canceled) this.socket?.send({ cancel_request: { watch_id: String(response.watchId) } });
      } else {
        this.byServerId.set(response.watchId, watch);
        if (watch.handle(response)) this.forget(watch);
      }
      this.pump();
      return;
    }
    if (response.watchId === -1) {
      for (const watch of this.byServerId.values()) watch.handle(response);
      return;
    }
    const watch = this.byServerId.get(response.watchId);
    if (!watch) return; // cancelled: late answers are dropped
    if (watch.handle(response)) this.forget(watch);
  }

  private forget(watch: Watch): void {
    this.byServerId.delete(watch.serverWatchId);
    this.watches.delete(watch);
    this.high.delete(watch);
  }

  private onClose(endpoint: Endpoint, error: ClientError | undefined): void {
    this.socket = undefined;
    this.creating = undefined;
    this.byServerId.clear();
    if (this.closed) return;
    if (this.connection.closed) {
      for (const w of [...this.watches]) w.fail(new ClientClosedError());
      return;
    }
    if (error) this.connection.markFailed(endpoint);
    this.retryLater();
  }
}

/** The watches of one client. */
export class Watcher {
  private ws: WsWatchCarrier | undefined;

  constructor(private readonly connection: Connection) {}

  watch(key: KeyInput, options: WatchOptions = {}): Watch {
    if (this.connection.closed) throw new ClientClosedError();
    const { key: keyBytes, rangeEnd } = resolveRange(key, options);
    const request: WatchCreateRequest = { key: keyBytes };
    if (rangeEnd) request.rangeEnd = rangeEnd;
    if (options.startRevision) request.startRevision = options.startRevision;
    if (options.prevKv) request.prevKv = true;
    if (options.progressNotify) request.progressNotify = true;
    if (options.filters && options.filters.length > 0) {
      request.filters = options.filters.map((f) => (f === 'noput' ? WatchFilter.NOPUT : WatchFilter.NODELETE));
    }
    const watch = new Watch(request);
    this.place(watch);
    return watch;
  }

  /** Asks for a progress notification on every watch. */
  requestProgress(): void {
    this.ws?.requestProgress();
    // HTTP-carried watches each ask on their own; WebSocket ones were asked once above.
    for (const watch of this.httpWatches) watch.requestProgress();
  }

  private readonly httpWatches = new Set<Watch>();

  private place(watch: Watch): void {
    if (this.connection.useWebSocket(this.connection.current())) {
      this.ws ??= new WsWatchCarrier(this.connection, (moved) => {
        for (const w of moved) this.placeHttp(w);
      });
      this.ws.add(watch);
    } else {
      this.placeHttp(watch);
    }
  }

  private placeHttp(watch: Watch): void {
    if (watch.done) return;
    this.httpWatches.add(watch);
    new HttpWatchCarrier(this.connection, watch, (w) => this.httpWatches.delete(w));
  }
}
