// JSON over WebSocket at the gateway paths (tetcd's fastest client path): one request per WebSocket message in, and
// out one message per answer carrying the object etcd's chunked streams carry ({"result":{...}} or {"error":{...}}).
// Unary calls share one socket per connection and path, answered in order, so each socket keeps a FIFO of callbacks.
// A watch stream is one socket; keep-alives share one socket per stream.
import WebSocket from 'ws';
import { ConnectionError, ProtocolError, ServerError } from '../errors.js';
import { limits } from '../limits.js';
import { isErrorMessage, scanKeepAliveMessage, scanWatchMessage, streamError } from './json-scan.js';
import { parseEndpoint, type Done, type Driver, type DriverOptions, type GrantDone, type KeepAliveSink, type KeepAliveStream, type KeyValue, type RangeSpec, type WatchCreate, type WatchSink, type WatchStream } from './types.js';

type Answer = (error: Error | undefined, message: Buffer) => void;

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** One socket; messages sent before it opens wait in a bounded queue. */
class WsChannel {
  readonly socket: WebSocket;
  private readonly before: string[] = [];
  private readonly answers: (Answer | undefined)[] = [];
  private answersHead = 0;
  private failure: Error | undefined;
  private open = false;

  constructor(url: string, private readonly onMessage: ((buf: Buffer) => void) | undefined, private readonly onFailure: (error: Error) => void) {
    this.socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: limits.streamLineBytesMax });
    this.socket.binaryType = 'nodebuffer';
    this.socket.on('open', () => {
      this.open = true;
      for (const m of this.before) this.socket.send(m);
      this.before.length = 0;
    });
    this.socket.on('message', (data) => {
      const buf = toBuffer(data);
      if (this.onMessage !== undefined) return this.onMessage(buf);
      if (this.answersHead >= this.answers.length) return this.fail(new ProtocolError('unsolicited WebSocket message'));
      const answer = this.answers[this.answersHead]!;
      this.answers[this.answersHead++] = undefined;
      if (this.answersHead > 1024 && this.answersHead * 2 > this.answers.length) {
        this.answers.splice(0, this.answersHead);
        this.answersHead = 0;
      }
      answer(isErrorMessage(buf, 0) ? streamError(buf, 0, buf.length) : undefined, buf);
    });
    this.socket.on('error', (error) => this.fail(new ConnectionError(`WebSocket ${url}: ${error.message}`, { cause: error })));
    this.socket.on('close', () => this.fail(new ConnectionError(`WebSocket ${url} closed`)));
  }

  send(message: string, answer?: Answer): void {
    if (this.failure !== undefined) {
      answer?.(this.failure, Buffer.alloc(0));
      return;
    }
    if (answer !== undefined) this.answers.push(answer);
    if (this.open) this.socket.send(message);
    else if (this.before.length >= limits.clientsMax * 4) answer?.(new ConnectionError('WebSocket not open and its queue is full'), Buffer.alloc(0));
    else this.before.push(message);
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    const pending = this.answers.slice(this.answersHead);
    this.answers.length = 0;
    this.answersHead = 0;
    for (const a of pending) a?.(error, Buffer.alloc(0));
    this.onFailure(error);
  }

  close(): void {
    this.failure ??= new ConnectionError('closed');
    this.socket.terminate();
  }
}

export class WsJsonDriver implements Driver {
  readonly kind = 'ws' as const;
  /** Unary channels by "connection index + path". */
  private readonly channels = new Map<string, WsChannel>();
  private readonly streams = new Set<WsChannel>();
  private lastValue: Buffer | undefined;
  private lastValueBase64 = '';
  private readonly baseUrls: string[];

  constructor(private readonly options: DriverOptions, private readonly prefix = '/v3') {
    this.baseUrls = options.endpoints.map((url) => {
      const e = parseEndpoint(url);
      return `ws://${e.host}:${e.port}`;
    });
  }

  async open(): Promise<void> {
    // sockets open on first use, per path: a put run never opens a range socket
  }

  private channel(connection: number, path: string): WsChannel {
    const index = connection % this.options.connections;
    const name = `${index} ${path}`;
    let c = this.channels.get(name);
    if (c === undefined) {
      c = new WsChannel(this.baseUrls[index % this.baseUrls.length] + this.prefix + path, undefined, () => this.channels.delete(name));
      this.channels.set(name, c);
    }
    return c;
  }

  private base64Value(value: Buffer): string {
    if (value !== this.lastValue) {
      this.lastValue = value;
      this.lastValueBase64 = value.toString('base64');
    }
    return this.lastValueBase64;
  }

  put(connection: number, key: Buffer, value: Buffer, done: Done): void {
    this.channel(connection, '/kv/put').send(`{"key":"${key.toString('base64')}","value":"${this.base64Value(value)}"}`, (e) => done(e));
  }

  range(connection: number, spec: RangeSpec, done: Done): void {
    let body = `{"key":"${spec.key.toString('base64')}"`;
    if (spec.rangeEnd.length > 0) body += `,"range_end":"${spec.rangeEnd.toString('base64')}"`;
    if (spec.limit > 0) body += `,"limit":${spec.limit}`;
    if (spec.serializable) body += ',"serializable":true';
    this.channel(connection, '/kv/range').send(body + '}', (e) => done(e));
  }

  txnPut(connection: number, ops: KeyValue[], done: Done): void {
    const puts = ops.map((op) => `{"request_put":{"key":"${op.key.toString('base64')}","value":"${this.base64Value(op.value)}"}}`);
    this.channel(connection, '/kv/txn').send(`{"success":[${puts.join(',')}]}`, (e) => done(e));
  }

  leaseGrant(connection: number, ttlSeconds: number, done: GrantDone): void {
    this.channel(connection, '/lease/grant').send(`{"TTL":${ttlSeconds}}`, (error, message) => {
      if (error !== undefined) return done(error, '');
      const parsed = JSON.parse(message.toString('utf8')) as { result?: { ID?: string; error?: string } };
      const error2 = parsed.result?.error;
      if (error2 !== undefined && error2 !== '') return done(new ServerError(2, error2), '');
      done(undefined, parsed.result?.ID ?? '0');
    });
  }

  watch(connection: number, creates: WatchCreate[], sink: WatchSink): WatchStream {
    let sent = 0;
    let answered = 0;
    let closed = false;
    const wrapped: WatchSink = {
      created: () => {
        answered++;
        sink.created();
        sendMore();
      },
      event: (sentUs) => sink.event(sentUs),
      failed: (error) => sink.failed(error),
    };
    const channel = new WsChannel(
      this.baseUrls[connection % this.baseUrls.length] + this.prefix + '/watch',
      (buf) => scanWatchMessage(buf, 0, buf.length, wrapped),
      (error) => {
        if (!closed) sink.failed(error);
      },
    );
    const sendMore = (): void => {
      while (sent < creates.length && sent - answered < limits.watchCreateWindow) {
        const c = creates[sent++]!;
        const rangeEnd = c.rangeEnd.length > 0 ? `,"range_end":"${c.rangeEnd.toString('base64')}"` : '';
        channel.send(`{"create_request":{"key":"${c.key.toString('base64')}"${rangeEnd}}}`);
      }
    };
    this.streams.add(channel);
    sendMore();
    return {
      close: () => {
        closed = true;
        this.streams.delete(channel);
        channel.close();
      },
    };
  }

  keepAlive(connection: number, sink: KeepAliveSink): KeepAliveStream {
    let closed = false;
    const channel = new WsChannel(
      this.baseUrls[connection % this.baseUrls.length] + this.prefix + '/lease/keepalive',
      (buf) => scanKeepAliveMessage(buf, 0, buf.length, sink),
      (error) => {
        if (!closed) sink.failed(error);
      },
    );
    this.streams.add(channel);
    return {
      send: (leaseIds: string[]) => {
        for (const id of leaseIds) channel.send(`{"ID":"${id}"}`);
      },
      close: () => {
        closed = true;
        this.streams.delete(channel);
        channel.close();
      },
    };
  }

  async close(): Promise<void> {
    for (const c of this.channels.values()) c.close();
    for (const c of this.streams) c.close();
    this.channels.clear();
    this.streams.clear();
  }
}
