// JSON over HTTP/1.1 at etcd's gateway routes: etcd's own gateway and tetcd's HTTP API. Unary calls are one POST
// each on keep-alive connections (pipelined when several client slots share a connection). Streams follow what the
// etcd 3.4 gateway can do: it reads a stream request's whole body before answering (Go's HTTP/1 server is not full
// duplex), so a watch stream is one POST whose body carries all its create requests and whose chunked response then
// stays open, and a keep-alive "stream" is one POST per batch of leases, answered by one line per lease.
import { ConnectionError, ServerError } from '../errors.js';
import { limits } from '../limits.js';
import { HttpConnection, LineSplitter, postRequest, type ResponseHead, type ResponseSink } from '../http1.js';
import { scanKeepAliveMessage, scanWatchMessage } from './json-scan.js';
import { parseEndpoint, type Done, type Driver, type DriverOptions, type GrantDone, type KeepAliveSink, type KeepAliveStream, type KeyValue, type RangeSpec, type WatchCreate, type WatchSink, type WatchStream } from './types.js';

/** Collects a unary response: status, and the body only when asked (errors and lease grants). */
class UnarySink implements ResponseSink {
  private status = 0;
  private body: Buffer[] | undefined;

  constructor(private readonly done: (error: Error | undefined, body: string) => void, private readonly keepBody: boolean) {}

  head(head: ResponseHead): void {
    this.status = head.status;
    if (this.keepBody || head.status !== 200) this.body = [];
  }

  data(bytes: Buffer): void {
    if (this.body !== undefined) this.body.push(Buffer.from(bytes));
  }

  end(): void {
    const body = this.body === undefined ? '' : Buffer.concat(this.body).toString('utf8');
    if (this.status === 200) this.done(undefined, body);
    else this.done(new ServerError(this.status, `HTTP ${this.status}: ${body.slice(0, 200)}`), body);
  }

  fail(error: Error): void {
    this.done(error, '');
  }
}

/** A streamed response read line by line. */
class LineStreamSink implements ResponseSink {
  private readonly lines: LineSplitter;
  private status = 0;
  private errorBody = '';

  constructor(onLine: (buf: Buffer, start: number, end: number) => void, private readonly onEnd: (error: Error | undefined) => void) {
    this.lines = new LineSplitter(onLine);
  }

  head(head: ResponseHead): void {
    this.status = head.status;
  }

  data(bytes: Buffer): void {
    if (this.status !== 200) this.errorBody += bytes.toString('utf8');
    else this.lines.push(bytes);
  }

  end(): void {
    if (this.status !== 200) {
      this.onEnd(new ServerError(this.status, `HTTP ${this.status}: ${this.errorBody.slice(0, 200)}`));
      return;
    }
    this.lines.flush();
    this.onEnd(undefined);
  }

  fail(error: Error): void {
    this.onEnd(error);
  }
}

export class HttpJsonDriver implements Driver {
  readonly kind = 'http' as const;
  private connections: HttpConnection[] = [];
  private readonly streams = new Set<HttpConnection>();
  private lastValue: Buffer | undefined;
  private lastValueBase64 = '';

  constructor(private readonly options: DriverOptions, private readonly prefix = '/v3') {}

  async open(): Promise<void> {
    const depth = Math.max(1, Math.ceil(this.options.clients / this.options.connections));
    const endpoints = this.options.endpoints.map(parseEndpoint);
    this.connections = await Promise.all(
      Array.from({ length: this.options.connections }, (_, i) => {
        const e = endpoints[i % endpoints.length]!;
        return HttpConnection.connect(e.host, e.port, depth);
      }),
    );
  }

  private connection(index: number): HttpConnection {
    return this.connections[index % this.connections.length]!;
  }

  private base64Value(value: Buffer): string {
    if (value !== this.lastValue) {
      this.lastValue = value;
      this.lastValueBase64 = value.toString('base64');
    }
    return this.lastValueBase64;
  }

  private unary(connection: number, path: string, body: string, done: Done): void {
    const c = this.connection(connection);
    c.send(postRequest(this.prefix + path, c.hostHeader, body), new UnarySink(done, false));
  }

  put(connection: number, key: Buffer, value: Buffer, done: Done): void {
    this.unary(connection, '/kv/put', `{"key":"${key.toString('base64')}","value":"${this.base64Value(value)}"}`, done);
  }

  range(connection: number, spec: RangeSpec, done: Done): void {
    let body = `{"key":"${spec.key.toString('base64')}"`;
    if (spec.rangeEnd.length > 0) body += `,"range_end":"${spec.rangeEnd.toString('base64')}"`;
    if (spec.limit > 0) body += `,"limit":${spec.limit}`;
    if (spec.serializable) body += ',"serializable":true';
    this.unary(connection, '/kv/range', body + '}', done);
  }

  txnPut(connection: number, ops: KeyValue[], done: Done): void {
    const puts = ops.map((op) => `{"request_put":{"key":"${op.key.toString('base64')}","value":"${this.base64Value(op.value)}"}}`);
    this.unary(connection, '/kv/txn', `{"success":[${puts.join(',')}]}`, done);
  }

  leaseGrant(connection: number, ttlSeconds: number, done: GrantDone): void {
    const c = this.connection(connection);
    c.send(
      postRequest(this.prefix + '/lease/grant', c.hostHeader, `{"TTL":${ttlSeconds}}`),
      new UnarySink((error, body) => {
        if (error !== undefined) return done(error, '');
        const parsed = JSON.parse(body) as { ID?: string; error?: string };
        if (parsed.error !== undefined && parsed.error !== '') return done(new ServerError(2, parsed.error), '');
        done(undefined, parsed.ID ?? '0');
      }, true),
    );
  }

  /**
   * A watch "stream" on the gateway is a set of POSTs, each on its own connection (its response never ends). etcd
   * 3.4's gateway reads a stream request's body concurrently with writing the answers, and Go's HTTP/1 server stops
   * reading a body once the first answer is flushed: creates past what was read by then are silently dropped (of
   * 1,000 creates in one body, anywhere from 150 to 1,000 get answered). So each POST carries a few creates, and
   * creates a POST has not answered after a quiet spell are sent again on a new POST.
   */
  watch(connection: number, creates: WatchCreate[], sink: WatchSink): WatchStream {
    const endpoints = this.options.endpoints.map(parseEndpoint);
    const e = endpoints[connection % endpoints.length]!;
    let closed = false;
    const open = new Set<HttpConnection>();
    const encoded = creates.map((c) => {
      const rangeEnd = c.rangeEnd.length > 0 ? `,"range_end":"${c.rangeEnd.toString('base64')}"` : '';
      return `{"create_request":{"key":"${c.key.toString('base64')}"${rangeEnd}}}`;
    });
    const groups: string[][] = [];
    for (let i = 0; i < encoded.length; i += limits.gatewayWatchCreatesPerPost) groups.push(encoded.slice(i, i + limits.gatewayWatchCreatesPerPost));
    let nextGroup = 0;
    const fail = (error: Error): void => {
      if (!closed) sink.failed(error);
    };
    /** Sends one group; re-sends what it has not answered when answers stop coming. */
    const post = (group: string[], attempt: number): void => {
      let answered = 0;
      let lastProgressMs = performance.now();
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        clearInterval(stallTimer);
        startNext();
      };
      const stallTimer = setInterval(() => {
        if (closed || answered >= group.length) return settle();
        if (performance.now() - lastProgressMs < limits.gatewayWatchStallMs) return;
        clearInterval(stallTimer);
        settled = true;
        if (attempt >= limits.gatewayWatchRetriesMax) fail(new ConnectionError(`gateway answered ${answered} of ${group.length} watch creates after ${attempt + 1} attempts`));
        else post(group.slice(answered), attempt + 1);
      }, 100);
      const counting: WatchSink = {
        created: () => {
          answered++;
          lastProgressMs = performance.now();
          sink.created();
          if (answered === group.length) settle();
        },
        event: (sentUs) => sink.event(sentUs),
        failed: fail,
      };
      HttpConnection.connect(e.host, e.port, 1).then(
        (c) => {
          if (closed) return c.close();
          open.add(c);
          this.streams.add(c);
          c.send(
            postRequest(this.prefix + '/watch', c.hostHeader, group.join('\n')),
            new LineStreamSink(
              (buf, start, end) => scanWatchMessage(buf, start, end, counting),
              (error) => fail(error ?? new ConnectionError('watch stream ended')),
            ),
          );
        },
        (error: Error) => {
          clearInterval(stallTimer);
          fail(error);
        },
      );
    };
    const startNext = (): void => {
      if (closed || nextGroup >= groups.length) return;
      post(groups[nextGroup++]!, 0);
    };
    for (let i = 0; i < limits.gatewayWatchPostsInFlight; i++) startNext();
    return {
      close: () => {
        closed = true;
        for (const c of open) {
          this.streams.delete(c);
          c.close();
        }
        open.clear();
      },
    };
  }

  /**
   * Keep-alives go as a batch per POST on the stream's own connection. A batch's answers can all arrive before its
   * response ends; the next batch waits for that end, since a request pipelined behind an unfinished answer makes
   * uWebSockets.js (tetcd's gateway) close the connection.
   */
  keepAlive(connection: number, sink: KeepAliveSink): KeepAliveStream {
    let closed = false;
    let inFlight = false;
    let queued: { leaseIds: string[]; ended: () => void } | undefined;
    const send = (leaseIds: string[], ended: () => void): void => {
      const c = this.connection(connection);
      const body = leaseIds.map((id) => `{"ID":"${id}"}`).join('\n');
      inFlight = true;
      c.send(
        postRequest(this.prefix + '/lease/keepalive', c.hostHeader, body),
        new LineStreamSink(
          (buf, start, end) => scanKeepAliveMessage(buf, start, end, sink),
          (error) => {
            inFlight = false;
            if (closed) return;
            if (error !== undefined) return sink.failed(error);
            ended();
            const next = queued;
            queued = undefined;
            if (next !== undefined) send(next.leaseIds, next.ended);
          },
        ),
      );
    };
    return {
      send: (leaseIds: string[], ended: () => void) => {
        if (!inFlight) return send(leaseIds, ended);
        if (queued !== undefined) return sink.failed(new ConnectionError('keep-alive batch sent while two were outstanding'));
        queued = { leaseIds, ended };
      },
      close: () => {
        closed = true;
      },
    };
  }

  async close(): Promise<void> {
    for (const c of this.connections) c.close();
    for (const c of this.streams) c.close();
    this.streams.clear();
    this.connections = [];
  }
}
