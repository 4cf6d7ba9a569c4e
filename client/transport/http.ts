// HTTP/1.1 to etcd's JSON gateway: unary POSTs on a keep-alive agent, and server streams (watch, keep-alive,
// snapshot, observe) as chunked newline-delimited {"result":…} / {"error":…} messages.
//
// Why streams send their whole request body up front: etcd 3.4's gateway runs on Go's HTTP/1 server, which before it
// writes a response reads (and throws away) what is left of the request body. A stream whose body stays open to
// carry later requests therefore gets no answer until the body ends. So over HTTP every stream is "requests, EOF,
// then answers": one watch per stream, one keep-alive request per stream. WebSocket (client/transport/ws.ts) has no
// such limit and is what tetcd offers for streams.
//
// Failure kinds matter to the retry policy: ConnectionError.sent is false when the request cannot have reached the
// server (connection refused, dial timeout), so even a write may be retried elsewhere; true once bytes were written.
import http from 'node:http';
import type { Socket } from 'node:net';
import {
  ConnectionError,
  ProtocolError,
  RequestAbortedError,
  RouteNotSupportedError,
  serverError,
  type ClientError,
} from '../errors.js';
import { asObject, parseJson, type Json, type JsonObject } from '../json.js';
import { clientLimits } from '../limits.js';
import type { Endpoint } from './endpoint.js';

export interface HttpCallOptions {
  dialTimeoutMs: number;
  signal?: AbortSignal;
}

export function createAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: clientLimits.httpSocketsPerEndpointMax, scheduling: 'lifo' });
}

const headers = { 'content-type': 'application/json' };

/** Watches the socket of a request: a dial that does not finish in time fails as "not sent". */
function guardDial(req: http.ClientRequest, endpoint: Endpoint, dialTimeoutMs: number, onSent: () => void): void {
  req.once('socket', (socket: Socket) => {
    if (!socket.connecting) {
      onSent();
      return;
    }
    const timer = setTimeout(() => {
      req.destroy(new ConnectionError(endpoint.text, false, `dial ${endpoint.text}: timed out after ${dialTimeoutMs} ms`));
    }, dialTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      onSent();
    });
    socket.once('close', () => clearTimeout(timer));
  });
}

function connectionFailure(endpoint: Endpoint, error: unknown, sent: boolean): ClientError {
  if (error instanceof ConnectionError || error instanceof RequestAbortedError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  return new ConnectionError(endpoint.text, sent, `${endpoint.text}: ${code ? code + ' ' : ''}${message}`, { cause: error });
}

/** The error an HTTP answer other than 200 stands for. */
function failureFromAnswer(endpoint: Endpoint, path: string, status: number, text: string): ClientError {
  let parsed: Json | undefined;
  try {
    parsed = JSON.parse(text) as Json;
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const code = parsed.code;
    const message = parsed.message ?? parsed.error;
    if (typeof code === 'number' && typeof message === 'string') return serverError(code, message, status);
    const inner = parsed.error;
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
      const grpcCode = inner.grpc_code;
      if (typeof grpcCode === 'number' && typeof inner.message === 'string') return serverError(grpcCode, inner.message, status);
    }
  }
  if (status === 404 || status === 405 || status === 501) return new RouteNotSupportedError(endpoint.text, path, status);
  return new ProtocolError(`${endpoint.text}${path}: HTTP ${status}: ${text.slice(0, 200)}`);
}

/** One unary call: POST the JSON body, resolve with the parsed answer or reject with a typed error. */
export function postJson(agent: http.Agent, endpoint: Endpoint, path: string, body: string, options: HttpCallOptions): Promise<JsonObject> {
  return new Promise<JsonObject>((resolve, reject) => {
    let sent = false;
    let settled = false;
    const finish = (error: ClientError | undefined, value?: JsonObject) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve(value!);
    };
    const req = http.request({
      host: endpoint.host,
      port: endpoint.port,
      method: 'POST',
      path,
      agent,
      headers: { ...headers, 'content-length': Buffer.byteLength(body) },
    });
    const onAbort = () => req.destroy(new RequestAbortedError());
    if (options.signal?.aborted) {
      finish(new RequestAbortedError());
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    guardDial(req, endpoint, options.dialTimeoutMs, () => (sent = true));
    let answered = false;
    req.on('error', (error: Error & { code?: string }) => {
      // A pooled socket the server closed while idle fails as soon as it is written to: the server never read the
      // request, so it counts as not sent and may be retried even for a write.
      const staleSocket = req.reusedSocket && !answered && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
      finish(connectionFailure(endpoint, error, sent && !staleSocket));
    });
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > clientLimits.responseBytesMax) {
          req.destroy();
          finish(new ProtocolError(`${endpoint.text}${path}: answer larger than ${clientLimits.responseBytesMax} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (error) => finish(connectionFailure(endpoint, error, true)));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) {
          finish(failureFromAnswer(endpoint, path, res.statusCode ?? 0, text));
          return;
        }
        try {
          finish(undefined, asObject(parseJson(text), 'answer'));
        } catch (error) {
          finish(error as ClientError);
        }
      });
    });
    req.end(body);
  });
}

export interface StreamHandlers {
  /** One {"result": …} message. */
  onResult(result: JsonObject): void;
  /** The stream ended: cleanly (undefined) or with a server or connection error. Called once. */
  onEnd(error: ClientError | undefined): void;
}

/** A server stream over one HTTP request whose body is sent whole up front. */
export class HttpStream {
  private readonly req: http.ClientRequest;
  private res: http.IncomingMessage | undefined;
  private ended = false;
  private sent = false;
  private pending = '';
  private paused = false;

  constructor(
    readonly endpoint: Endpoint,
    readonly path: string,
    body: string,
    private readonly handlers: StreamHandlers,
    dialTimeoutMs: number,
  ) {
    // A stream holds its connection for as long as it lives: keep it out of the unary pool.
    this.req = http.request({ host: endpoint.host, port: endpoint.port, method: 'POST', path, agent: false, headers });
    guardDial(this.req, endpoint, dialTimeoutMs, () => (this.sent = true));
    this.req.on('error', (error) => this.end(connectionFailure(endpoint, error, this.sent)));
    this.req.on('response', (res) => this.onResponse(res));
    this.req.end(body);
  }

  /** Whether the request reached the server (the connection was made). */
  get wasSent(): boolean {
    return this.sent;
  }

  pause(): void {
    this.paused = true;
    this.res?.pause();
  }

  resume(): void {
    this.paused = false;
    this.res?.resume();
  }

  /** Ends the stream from our side; onEnd is not called. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.req.destroy();
  }

  private onResponse(res: http.IncomingMessage): void {
    this.res = res;
    if (this.paused) res.pause();
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => this.end(failureFromAnswer(this.endpoint, this.path, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      res.on('error', (error) => this.end(connectionFailure(this.endpoint, error, true)));
      return;
    }
    res.setEncoding('utf8');
    res.on('data', (text: string) => this.onText(text));
    res.on('end', () => {
      if (this.pending.trim() !== '') this.onLine(this.pending);
      this.pending = '';
      this.end(undefined);
    });
    res.on('error', (error) => this.end(connectionFailure(this.endpoint, error, true)));
    res.on('close', () => {
      if (!res.complete) this.end(new ConnectionError(this.endpoint.text, true, `${this.endpoint.text}${this.path}: stream closed by the server`));
    });
  }

  private onText(text: string): void {
    this.pending += text;
    if (this.pending.length > clientLimits.responseBytesMax) {
      this.close();
      this.handlers.onEnd(new ProtocolError(`${this.endpoint.text}${this.path}: stream message larger than ${clientLimits.responseBytesMax} bytes`));
      return;
    }
    let newline = this.pending.indexOf('\n');
    while (newline >= 0 && !this.ended) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      if (line.trim() !== '') this.onLine(line);
      newline = this.pending.indexOf('\n');
    }
  }

  private onLine(line: string): void {
    if (this.ended) return;
    let message: JsonObject;
    try {
      message = asObject(parseJson(line), 'stream message');
    } catch (error) {
      this.close();
      this.handlers.onEnd(error as ClientError);
      return;
    }
    const failure = streamError(message);
    if (failure) {
      this.end(failure);
      this.req.destroy();
      return;
    }
    this.handlers.onResult(asObject(message.result ?? {}, 'stream result'));
  }

  private end(error: ClientError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.handlers.onEnd(error);
  }
}

/** The error a stream message carries ({"error":{"grpc_code":…,"message":…}}), if any. */
export function streamError(message: JsonObject): ClientError | undefined {
  const error = message.error;
  if (error === undefined || error === null) return undefined;
  if (typeof error === 'object' && !Array.isArray(error)) {
    const code = error.grpc_code ?? error.code;
    const text = error.message;
    if (typeof code === 'number' && typeof text === 'string') {
      const status = typeof error.http_code === 'number' ? error.http_code : undefined;
      return serverError(code, text, status);
    }
  }
  return new ProtocolError(`malformed stream error: ${JSON.stringify(error).slice(0, 200)}`);
}
