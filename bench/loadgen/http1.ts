// A minimal keep-alive HTTP/1.1 client over net sockets, for the JSON drivers. Node's http.Agent costs tens of
// microseconds per request on this machine kind, which would make the generator the ceiling; this client writes a
// prebuilt request string and parses only what it needs: status line, content-length or chunked framing, and
// "Connection: close". It supports responses that stream (watch, keep-alive) by handing de-chunked body bytes to a
// sink as they arrive.
//
// Requests on one connection are answered in order (HTTP/1.1), so the connection keeps a bounded FIFO of sinks; with
// one client slot per connection there is one request outstanding, with more slots the connection pipelines.
import * as net from 'node:net';
import { ConnectionError, ProtocolError } from './errors.js';
import { limits } from './limits.js';

export interface ResponseHead {
  status: number;
  /** Value of Content-Length, or -1 when the body is chunked or runs until close. */
  contentLength: number;
  chunked: boolean;
  /** False when the server said `Connection: close` (the connection ends after this response). */
  keepAlive: boolean;
}

/** Receives one response. Every sink gets exactly one of `end` or `fail`. */
export interface ResponseSink {
  head(head: ResponseHead): void;
  /** De-chunked body bytes; the view is only valid during the call. */
  data(bytes: Buffer): void;
  end(): void;
  fail(error: Error): void;
}

const enum State {
  Head,
  Body,
  BodyUntilClose,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
}

const crlf = Buffer.from('\r\n', 'latin1');
const crlfcrlf = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Parses a byte stream of HTTP/1.1 responses. `nextSink` is asked for the sink of each response as its head
 * arrives (1xx interim responses are skipped and consume no sink).
 */
export class ResponseParser {
  private state = State.Head;
  private carry: Buffer | undefined;
  private remaining = 0;
  private sink: ResponseSink | undefined;
  private closeAfter = false;

  constructor(private readonly nextSink: () => ResponseSink | undefined) {}

  /** True when the last complete response asked for the connection to close. */
  get closeRequested(): boolean {
    return this.closeAfter && this.state === State.Head;
  }

  /** True between responses (nothing partially parsed). */
  get idle(): boolean {
    return this.state === State.Head && this.carry === undefined;
  }

  feed(data: Buffer): void {
    let buf = data;
    if (this.carry !== undefined) {
      buf = Buffer.concat([this.carry, data]);
      this.carry = undefined;
    }
    let pos = 0;
    const length = buf.length;
    while (pos < length) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf(crlfcrlf, pos);
          if (end < 0) {
            if (length - pos > limits.httpHeadBytesMax) throw new ProtocolError(`response head over ${limits.httpHeadBytesMax} bytes`);
            this.carry = Buffer.from(buf.subarray(pos));
            return;
          }
          const head = parseHead(buf.toString('latin1', pos, end));
          pos = end + 4;
          if (head.status >= 100 && head.status < 200) break; // interim (100 Continue): the real response follows
          const sink = this.nextSink();
          if (sink === undefined) throw new ProtocolError(`unsolicited response (status ${head.status})`);
          this.sink = sink;
          this.closeAfter = !head.keepAlive;
          sink.head(head);
          if (head.chunked) this.state = State.ChunkSize;
          else if (head.contentLength > 0) {
            if (head.contentLength > limits.httpBodyBytesMax) throw new ProtocolError(`response body of ${head.contentLength} bytes`);
            this.remaining = head.contentLength;
            this.state = State.Body;
          } else if (head.contentLength === 0 || head.status === 204 || head.status === 304) this.finishResponse();
          else this.state = State.BodyUntilClose;
          break;
        }
        case State.Body:
        case State.ChunkData: {
          const n = Math.min(this.remaining, length - pos);
          this.sink!.data(buf.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.state === State.Body) this.finishResponse();
            else this.state = State.ChunkDataEnd;
          }
          break;
        }
        case State.BodyUntilClose:
          this.sink!.data(buf.subarray(pos));
          pos = length;
          break;
        case State.ChunkSize: {
          const end = buf.indexOf(crlf, pos);
          if (end < 0) {
            if (length - pos > 1024) throw new ProtocolError('chunk size line too long');
            this.carry = Buffer.from(buf.subarray(pos));
            return;
          }
          const size = parseChunkSize(buf, pos, end);
          pos = end + 2;
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkDataEnd: {
          if (length - pos < 2) {
            this.carry = Buffer.from(buf.subarray(pos));
            return;
          }
          if (buf[pos] !== 13 || buf[pos + 1] !== 10) throw new ProtocolError('chunk data not followed by CRLF');
          pos += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const end = buf.indexOf(crlf, pos);
          if (end < 0) {
            if (length - pos > limits.httpHeadBytesMax) throw new ProtocolError('trailers too long');
            this.carry = Buffer.from(buf.subarray(pos));
            return;
          }
          const empty = end === pos;
          pos = end + 2;
          if (empty) this.finishResponse();
          break;
        }
      }
    }
  }

  /** The connection closed: a body that runs until close ends here; anything else partial is an error. */
  close(): Error | undefined {
    if (this.state === State.BodyUntilClose) {
      this.finishResponse();
      return undefined;
    }
    if (this.state !== State.Head || this.carry !== undefined) return new ConnectionError('connection closed in the middle of a response');
    return undefined;
  }

  /** The connection failed: the response in progress (if any) fails with it. */
  abandon(error: Error): void {
    const sink = this.sink;
    this.sink = undefined;
    this.state = State.Head;
    this.carry = undefined;
    sink?.fail(error);
  }

  private finishResponse(): void {
    const sink = this.sink!;
    this.sink = undefined;
    this.state = State.Head;
    sink.end();
  }
}

function parseChunkSize(buf: Buffer, start: number, end: number): number {
  let size = 0;
  let digits = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    let v: number;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else if (c >= 65 && c <= 70) v = c - 55;
    else if (c === 59 || c === 32 || c === 9) break; // chunk extension or padding
    else throw new ProtocolError(`bad chunk size byte 0x${c.toString(16)}`);
    size = size * 16 + v;
    if (++digits > 8) throw new ProtocolError('chunk size too large');
  }
  if (digits === 0) throw new ProtocolError('empty chunk size');
  return size;
}

/** Parses the status line and the few headers that matter. Exported for tests. */
export function parseHead(text: string): ResponseHead {
  const lineEnd = text.indexOf('\r\n');
  const statusLine = lineEnd < 0 ? text : text.slice(0, lineEnd);
  if (!statusLine.startsWith('HTTP/1.')) throw new ProtocolError(`not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 40))}`);
  const status = Number(statusLine.slice(9, 12));
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new ProtocolError(`bad status line: ${JSON.stringify(statusLine)}`);
  const http10 = statusLine.startsWith('HTTP/1.0');
  const head: ResponseHead = { status, contentLength: -1, chunked: false, keepAlive: !http10 };
  let pos = lineEnd < 0 ? text.length : lineEnd + 2;
  while (pos < text.length) {
    let next = text.indexOf('\r\n', pos);
    if (next < 0) next = text.length;
    const colon = text.indexOf(':', pos);
    if (colon > pos && colon < next) {
      const name = text.slice(pos, colon).toLowerCase();
      if (name === 'content-length') {
        const value = Number(text.slice(colon + 1, next).trim());
        if (!Number.isSafeInteger(value) || value < 0) throw new ProtocolError('bad content-length');
        head.contentLength = value;
      } else if (name === 'transfer-encoding') {
        head.chunked = /\bchunked\b/i.test(text.slice(colon + 1, next));
      } else if (name === 'connection') {
        const value = text.slice(colon + 1, next).trim().toLowerCase();
        if (value === 'close') head.keepAlive = false;
        else if (value === 'keep-alive') head.keepAlive = true;
      }
    }
    pos = next + 2;
  }
  if (head.chunked) head.contentLength = -1;
  return head;
}

/** Builds the bytes of a POST with a JSON body. `hostHeader` is host:port. */
export function postRequest(path: string, hostHeader: string, body: string): string {
  return `POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

/** One keep-alive connection. Requests are written as given; responses go to their sinks in order. */
export class HttpConnection {
  private readonly socket: net.Socket;
  private readonly parser: ResponseParser;
  /** FIFO of sinks waiting for their response: a ring so pushing and shifting allocate nothing. */
  private readonly ring: (ResponseSink | undefined)[];
  private ringHead = 0;
  private ringCount = 0;
  private corked = false;
  private failed: Error | undefined;
  readonly hostHeader: string;

  private constructor(socket: net.Socket, host: string, port: number, private readonly pipelineDepthMax: number) {
    this.socket = socket;
    this.hostHeader = `${host}:${port}`;
    this.ring = new Array(pipelineDepthMax);
    this.parser = new ResponseParser(() => this.shift());
    socket.on('data', (data: Buffer) => {
      try {
        this.parser.feed(data);
      } catch (error) {
        this.fail(error instanceof Error ? error : new ProtocolError(String(error)));
        socket.destroy();
      }
    });
    socket.on('error', (error) => this.fail(new ConnectionError(`connection to ${this.hostHeader} failed: ${error.message}`, { cause: error })));
    socket.on('close', () => {
      const partial = this.parser.close();
      this.fail(partial ?? new ConnectionError(`connection to ${this.hostHeader} closed`));
    });
  }

  static connect(host: string, port: number, pipelineDepthMax = 1, timeoutMs = 10_000): Promise<HttpConnection> {
    if (pipelineDepthMax < 1 || pipelineDepthMax > limits.httpPipelineDepthMax) throw new RangeError(`pipeline depth ${pipelineDepthMax}`);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(`connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new ConnectionError(`connect to ${host}:${port} failed: ${error.message}`, { cause: error }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new HttpConnection(socket, host, port, pipelineDepthMax));
      });
    });
  }

  get outstanding(): number {
    return this.ringCount;
  }

  get broken(): Error | undefined {
    return this.failed;
  }

  /**
   * Writes one request (full bytes, e.g. from postRequest). Writes made in the same tick leave in one segment: the
   * socket is corked until the next microtask turn.
   */
  send(request: string | Buffer, sink: ResponseSink): void {
    if (this.failed !== undefined) {
      sink.fail(this.failed);
      return;
    }
    if (this.ringCount >= this.pipelineDepthMax) {
      sink.fail(new ConnectionError(`pipeline of ${this.hostHeader} is full (${this.pipelineDepthMax})`));
      return;
    }
    this.ring[(this.ringHead + this.ringCount) % this.pipelineDepthMax] = sink;
    this.ringCount++;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    if (typeof request === 'string') this.socket.write(request, 'latin1');
    else this.socket.write(request);
  }

  close(): void {
    this.socket.destroy();
  }

  private shift(): ResponseSink | undefined {
    if (this.ringCount === 0) return undefined;
    const sink = this.ring[this.ringHead];
    this.ring[this.ringHead] = undefined;
    this.ringHead = (this.ringHead + 1) % this.pipelineDepthMax;
    this.ringCount--;
    return sink;
  }

  private fail(error: Error): void {
    if (this.failed === undefined) this.failed = error;
    // the response in progress, if any, was already shifted out of the ring: the parser still holds it
    for (let sink = this.shift(); sink !== undefined; sink = this.shift()) sink.fail(error);
    this.parser.abandon(error);
  }
}

/** Splits a byte stream into newline-terminated lines (the framing of etcd's JSON streams). */
export class LineSplitter {
  private carry: Buffer | undefined;

  constructor(private readonly onLine: (buf: Buffer, start: number, end: number) => void) {}

  push(data: Buffer): void {
    let buf = data;
    if (this.carry !== undefined) {
      buf = Buffer.concat([this.carry, data]);
      this.carry = undefined;
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      if (nl > start) this.onLine(buf, start, nl);
      start = nl + 1;
    }
    if (start < buf.length) {
      if (buf.length - start > limits.streamLineBytesMax) throw new ProtocolError(`stream line over ${limits.streamLineBytesMax} bytes`);
      this.carry = Buffer.from(buf.subarray(start));
    }
  }

  /** Any bytes after the last newline (a final message without a trailing newline). */
  flush(): void {
    if (this.carry !== undefined && this.carry.length > 0) this.onLine(this.carry, 0, this.carry.length);
    this.carry = undefined;
  }
}
