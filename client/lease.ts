// Lease keep-alive: one request, and the loop that keeps a lease alive.
//
// A keep-alive is sent on /v3/lease/keepalive: over WebSocket on the client's shared keep-alive socket (answers come
// one per request, in order), over HTTP as a stream whose body is the one request (it ends after the answer).
// The loop renews every TTL/3 as etcd's client does. It stops for good when the server answers TTL <= 0 (revoked or
// expired), or when it could not renew before the lease's own deadline passed (last answer + TTL): in both cases the
// lease is lost and the loop ends with LeaseExpiredError. Until that deadline, failures are retried with capped
// backoff on the next endpoint.
import type { LeaseKeepAliveResponse } from '../actors/api/types.js';
import { abortable, type Connection } from './connection.js';
import { ClientClosedError, ConnectionError, EtcdServerError, GrpcCode, LeaseExpiredError, WebSocketUnsupportedError, type ClientError } from './errors.js';
import { decodeLeaseKeepAlive } from './json.js';
import { clientLimits } from './limits.js';
import type { Endpoint } from './transport/endpoint.js';
import { HttpStream } from './transport/http.js';

const path = '/v3/lease/keepalive';

/** Sends one keep-alive to one endpoint. */
export async function keepAliveAttempt(connection: Connection, endpoint: Endpoint, id: bigint, signal: AbortSignal): Promise<LeaseKeepAliveResponse> {
  const body = { ID: id.toString() };
  if (connection.useWebSocket(endpoint)) {
    try {
      const channel = await connection.wsChannel(endpoint, path);
      return decodeLeaseKeepAlive(await abortable(channel.request(body), signal));
    } catch (error) {
      if (!(error instanceof WebSocketUnsupportedError)) throw error;
    }
  }
  return new Promise<LeaseKeepAliveResponse>((resolve, reject) => {
    let answered = false;
    const stream = new HttpStream(endpoint, path, JSON.stringify(body), {
      onResult: (result) => {
        if (answered) return;
        answered = true;
        stream.close();
        signal.removeEventListener('abort', onAbort);
        try {
          resolve(decodeLeaseKeepAlive(result));
        } catch (error) {
          reject(error);
        }
      },
      onEnd: (error) => {
        signal.removeEventListener('abort', onAbort);
        if (answered) return;
        answered = true;
        reject(error ?? new ConnectionError(endpoint.text, true, `${endpoint.text}${path}: stream ended without an answer`));
      },
    }, connection.dialTimeoutMs);
    const onAbort = () => {
      if (answered) return;
      answered = true;
      stream.close();
      reject(new ConnectionError(endpoint.text, stream.wasSent, 'keep-alive aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class LeaseKeepAlive implements AsyncIterable<LeaseKeepAliveResponse>, AsyncIterator<LeaseKeepAliveResponse> {
  /** Resolves when the loop stops: undefined when closed by the caller, otherwise why the lease was lost. */
  readonly ended: Promise<ClientError | undefined>;
  /** Wall-clock ms until which the lease is known to live (last answer + its TTL). */
  deadlineMs: number;
  readonly stats = { sent: 0, answered: 0, failures: 0 };
  private resolveEnded!: (reason: ClientError | undefined) => void;
  private readonly queue: LeaseKeepAliveResponse[] = [];
  private waiter: { resolve(r: IteratorResult<LeaseKeepAliveResponse>): void; reject(e: Error): void } | undefined;
  private finished = false;
  private reason: ClientError | undefined;
  private readonly stop = new AbortController();

  constructor(private readonly connection: Connection, readonly id: bigint) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.deadlineMs = Date.now() + connection.requestTimeoutMs;
    void this.loop();
  }

  get done(): boolean {
    return this.finished;
  }

  close(): void {
    this.finish(undefined);
  }

  [Symbol.asyncIterator](): AsyncIterator<LeaseKeepAliveResponse> {
    return this;
  }

  next(): Promise<IteratorResult<LeaseKeepAliveResponse>> {
    const item = this.queue.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.finished) return this.reason ? Promise.reject(this.reason) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  async return(): Promise<IteratorResult<LeaseKeepAliveResponse>> {
    this.close();
    return { value: undefined, done: true };
  }

  private async loop(): Promise<void> {
    let round = 0;
    while (!this.finished) {
      if (this.connection.closed) return this.finish(new ClientClosedError());
      let response: LeaseKeepAliveResponse;
      try {
        this.stats.sent++;
        const timeoutMs = Math.max(1, Math.min(this.connection.requestTimeoutMs, this.deadlineMs - Date.now()));
        response = await this.connection.withRetries({ idempotent: true, timeoutMs, signal: this.stop.signal }, (endpoint, signal) =>
          keepAliveAttempt(this.connection, endpoint, this.id, signal),
        );
      } catch (error) {
        if (this.finished) return;
        this.stats.failures++;
        if (error instanceof EtcdServerError && error.code !== GrpcCode.UNAVAILABLE) return this.finish(error);
        if (Date.now() >= this.deadlineMs) return this.finish(new LeaseExpiredError(this.id));
        await this.connection.sleep(this.connection.backoffMs(round++), this.stop.signal);
        continue;
      }
      if (this.finished) return;
      round = 0;
      this.stats.answered++;
      if (response.TTL <= 0) return this.finish(new LeaseExpiredError(this.id));
      this.deadlineMs = Date.now() + response.TTL * 1000;
      this.push(response);
      await this.connection.sleep(Math.max(500, (response.TTL * 1000) / 3), this.stop.signal);
    }
  }

  private push(response: LeaseKeepAliveResponse): void {
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter.resolve({ value: response, done: false });
      return;
    }
    this.queue.push(response);
    if (this.queue.length > clientLimits.keepAliveQueueMax) this.queue.shift();
  }

  private finish(reason: ClientError | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.reason = reason;
    this.stop.abort();
    this.resolveEnded(reason);
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      if (reason) waiter.reject(reason);
      else waiter.resolve({ value: undefined, done: true });
    }
  }
}
