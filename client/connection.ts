// Endpoints, failover, deadlines and retries: what every call of the client goes through.
//
// Unary calls go to the pinned endpoint. A failure that cannot have reached a server (refused, dial timeout) moves the
// pin to the next endpoint and the call is retried there at once; after a full round of failures the client waits
// (exponential backoff with jitter, capped) and starts another round, until the call's deadline. A failure after the
// request was sent, or the server's "unavailable" (no leader, stopped), is retried only for calls that are safe to
// repeat (reads, status, lists); a write is never sent twice. When the deadline passes the call fails with
// RequestTimeoutError carrying the last failure as its cause: etcdctl's "context deadline exceeded".
//
// Streams (watch, keep-alive) reconnect through the same pin and backoff but have no deadline: they retry until they
// are closed, never faster than the capped backoff.
import type http from 'node:http';
import {
  ClientClosedError,
  ConnectionError,
  EtcdServerError,
  GrpcCode,
  RequestAbortedError,
  RequestTimeoutError,
  WebSocketUnsupportedError,
  type ClientError,
} from './errors.js';
import type { JsonObject } from './json.js';
import { clientLimits } from './limits.js';
import type { Endpoint } from './transport/endpoint.js';
import { createAgent, postJson } from './transport/http.js';
import type { WsRequestChannel } from './transport/ws.js';

export type TransportMode = 'auto' | 'http' | 'ws';

export interface ConnectionOptions {
  endpoints: Endpoint[];
  dialTimeoutMs: number;
  requestTimeoutMs: number;
  /** auto: WebSocket for streams where the server accepts it, HTTP otherwise; unary calls over HTTP.
   *  http: HTTP only. ws: WebSocket for streams and unary calls (unary answers matched in order per path). */
  transport: TransportMode;
  random: () => number;
}

export interface CallOptions {
  /** Safe to send twice (reads, status, lists). Writes are not. */
  idempotent: boolean;
  /** Overrides the client's request timeout for this call. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Send to this endpoint only (maintenance calls aimed at one member): no failover. */
  endpoint?: Endpoint;
}

export interface Closable {
  close(): void;
}

export class Connection {
  readonly endpoints: readonly Endpoint[];
  readonly dialTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly transport: TransportMode;
  private pinned = 0;
  private agent: http.Agent | undefined;
  private readonly wsUnsupported = new Set<string>();
  private readonly wsChannels = new Map<string, Promise<WsRequestChannel>>();
  private readonly streams = new Set<Closable>();
  private readonly closeController = new AbortController();
  private readonly random: () => number;

  constructor(options: ConnectionOptions) {
    if (options.endpoints.length === 0) throw new RangeError('at least one endpoint is needed');
    this.endpoints = options.endpoints;
    this.dialTimeoutMs = options.dialTimeoutMs;
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.transport = options.transport;
    this.random = options.random;
  }

  get closed(): boolean {
    return this.closeController.signal.aborted;
  }

  /** Aborts when the client closes; streams and sleeps listen to it. */
  get closeSignal(): AbortSignal {
    return this.closeController.signal;
  }

  /** The endpoint streams and calls should use now. */
  current(): Endpoint {
    return this.endpoints[this.pinned]!;
  }

  /** Moves the pin off an endpoint that failed (if it is still the pinned one). */
  markFailed(endpoint: Endpoint): void {
    if (this.endpoints[this.pinned] === endpoint) this.pinned = (this.pinned + 1) % this.endpoints.length;
  }

  backoffMs(round: number): number {
    const base = Math.min(clientLimits.backoffMsMax, clientLimits.backoffMsInitial * 2 ** Math.min(round, 30));
    return Math.round(base * (1 - clientLimits.backoffJitterFraction * this.random()));
  }

  /** Resolves after `ms`, or early (without error) when the client closes or `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.closeSignal.removeEventListener('abort', done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.closeSignal.addEventListener('abort', done, { once: true });
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Whether streams to this endpoint should try WebSocket first. */
  useWebSocket(endpoint: Endpoint): boolean {
    if (this.transport === 'http') return false;
    if (this.transport === 'ws') return true;
    return !this.wsUnsupported.has(endpoint.text);
  }

  noteWebSocketUnsupported(endpoint: Endpoint): void {
    this.wsUnsupported.add(endpoint.text);
  }

  track(stream: Closable): void {
    if (this.closed) {
      stream.close();
      return;
    }
    this.streams.add(stream);
  }

  untrack(stream: Closable): void {
    this.streams.delete(stream);
  }

  /** A request channel on a WebSocket (keep-alives; unary calls in ws mode), opened once per endpoint and path. */
  async wsChannel(endpoint: Endpoint, path: string): Promise<WsRequestChannel> {
    const key = endpoint.text + path;
    const existing = this.wsChannels.get(key);
    if (existing) {
      const channel = await existing.catch(() => undefined);
      if (channel?.isOpen) return channel;
      this.wsChannels.delete(key);
    }
    // registered before any await, so concurrent callers share one socket
    const opening = import('./transport/ws.js').then(({ WsRequestChannel }) => WsRequestChannel.open(endpoint, path, this.dialTimeoutMs));
    this.wsChannels.set(key, opening);
    opening.catch((error: unknown) => {
      if (this.wsChannels.get(key) === opening) this.wsChannels.delete(key);
      if (error instanceof WebSocketUnsupportedError) this.noteWebSocketUnsupported(endpoint);
    });
    const channel = await opening;
    if (this.closed) channel.close();
    return channel;
  }

  /** One unary call with failover, retries and the deadline. */
  unary(path: string, body: JsonObject, options: CallOptions): Promise<JsonObject> {
    const text = JSON.stringify(body);
    return this.withRetries(options, (endpoint, signal) => this.attempt(endpoint, path, body, text, signal));
  }

  /**
   * Runs `attempt` against the pinned endpoint, failing over and backing off as described at the top of this file,
   * until it succeeds, fails for good, or the deadline passes.
   */
  async withRetries<T>(options: CallOptions, attempt: (endpoint: Endpoint, signal: AbortSignal) => Promise<T>): Promise<T> {
    if (this.closed) throw new ClientClosedError();
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const signals = [deadline.signal, this.closeSignal];
    if (options.signal) signals.push(options.signal);
    const signal = AbortSignal.any(signals);
    let lastError: ClientError | undefined;
    const stop = (error: unknown): Error | undefined => {
      if (this.closed) return new ClientClosedError();
      if (options.signal?.aborted) return new RequestAbortedError({ cause: error });
      if (deadline.signal.aborted) return new RequestTimeoutError(timeoutMs, { cause: lastError ?? error });
      return undefined;
    };
    try {
      for (let round = 0; ; round++) {
        const candidates = options.endpoint ? [options.endpoint] : this.roundOrder();
        for (const endpoint of candidates) {
          try {
            return await attempt(endpoint, signal);
          } catch (error) {
            const stopped = stop(error);
            if (stopped) throw stopped;
            if (!isRetryable(error, options.idempotent)) throw error;
            lastError = error as ClientError;
            if (error instanceof ConnectionError) this.markFailed(endpoint);
          }
        }
        await this.sleep(this.backoffMs(round), signal);
        const stopped = stop(lastError);
        if (stopped) throw stopped;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Every endpoint once, starting at the pinned one. */
  private roundOrder(): Endpoint[] {
    const out: Endpoint[] = [];
    for (let i = 0; i < this.endpoints.length; i++) out.push(this.endpoints[(this.pinned + i) % this.endpoints.length]!);
    return out;
  }

  private async attempt(endpoint: Endpoint, path: string, body: JsonObject, text: string, signal: AbortSignal): Promise<JsonObject> {
    if (this.transport === 'ws' && !this.wsUnsupported.has(endpoint.text)) {
      try {
        const channel = await this.wsChannel(endpoint, path);
        // a socket with this many answers outstanding is backed up: this call goes over HTTP instead
        if (channel.inFlight < clientLimits.wsUnaryInFlightMax) return await abortable(channel.request(body), signal);
      } catch (error) {
        if (!(error instanceof WebSocketUnsupportedError)) throw error;
      }
    }
    this.agent ??= createAgent();
    return postJson(this.agent, endpoint, path, text, { dialTimeoutMs: this.dialTimeoutMs, signal });
  }

  close(): void {
    if (this.closed) return;
    this.closeController.abort();
    for (const stream of [...this.streams]) stream.close();
    this.streams.clear();
    for (const opening of this.wsChannels.values()) opening.then((c) => c.close(), () => {});
    this.wsChannels.clear();
    this.agent?.destroy();
    this.agent = undefined;
  }
}

export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new RequestAbortedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RequestAbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Whether a failed attempt may be tried again (here or at another endpoint). */
export function isRetryable(error: unknown, idempotent: boolean): boolean {
  if (error instanceof ConnectionError) return !error.sent || idempotent;
  if (error instanceof EtcdServerError) return idempotent && error.code === GrpcCode.UNAVAILABLE;
  return false;
}
