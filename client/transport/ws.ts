// WebSocket to tetcd's gateway: the same JSON messages as the HTTP streams, one request per message in, one
// {"result":…} or {"error":…} per message out, on the same paths (/v3/watch, /v3/lease/keepalive, and unary paths).
// Unlike an HTTP stream the socket is full duplex, so one socket carries every watch of a client and every
// keep-alive, and unary calls can be pipelined on it.
//
// The `ws` package is imported lazily: tetcdctl's one-shot commands never pay for loading it.
import type WebSocketType from 'ws';
import { ConnectionError, WebSocketUnsupportedError, type ClientError } from '../errors.js';
import { asObject, parseJson, type JsonObject } from '../json.js';
import { clientLimits } from '../limits.js';
import type { Endpoint } from './endpoint.js';
import { streamError } from './http.js';

type WebSocketCtor = typeof WebSocketType;
let wsModule: Promise<WebSocketCtor> | undefined;

function loadWs(): Promise<WebSocketCtor> {
  wsModule ??= import('ws').then((m) => m.default);
  return wsModule;
}

export interface WsHandlers {
  /** One answer: the object inside "result", or the error inside "error" as a typed error. */
  onMessage(result: JsonObject | undefined, error: ClientError | undefined): void;
  /** The socket closed; undefined when we closed it. Called once. */
  onClose(error: ClientError | undefined): void;
}

export class WsConnection {
  private closedByUs = false;
  private closed = false;

  private constructor(
    readonly endpoint: Endpoint,
    readonly path: string,
    private readonly socket: WebSocketType,
    private handlers: WsHandlers,
  ) {
    socket.on('message', (data: WebSocketType.RawData) => this.onData(data));
    socket.on('close', () => this.onClosed(undefined));
    socket.on('error', (error: Error) => this.onClosed(new ConnectionError(endpoint.text, true, `${endpoint.text}${path}: ${error.message}`, { cause: error })));
  }

  /** Opens a socket; rejects with WebSocketUnsupportedError when the server answers the upgrade with plain HTTP. */
  static async open(endpoint: Endpoint, path: string, dialTimeoutMs: number, handlers: WsHandlers): Promise<WsConnection> {
    const WebSocket = await loadWs();
    return new Promise<WsConnection>((resolve, reject) => {
      const socket = new WebSocket(endpoint.wsBase + path, {
        handshakeTimeout: Math.max(dialTimeoutMs, clientLimits.wsUpgradeTimeoutMs),
        perMessageDeflate: false,
        maxPayload: clientLimits.responseBytesMax,
      });
      let opened = false;
      socket.once('unexpected-response', (_req, res) => {
        res.resume();
        socket.terminate();
        reject(new WebSocketUnsupportedError(endpoint.text, path, `HTTP ${res.statusCode ?? 0}`));
      });
      socket.once('error', (error: Error & { code?: string }) => {
        if (opened) return;
        const refused = error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH' || error.code === 'ENOTFOUND';
        reject(new ConnectionError(endpoint.text, false, `${endpoint.text}: ${error.code ? error.code + ' ' : ''}${error.message}`, { cause: error }));
        if (!refused) socket.terminate();
      });
      socket.once('open', () => {
        opened = true;
        resolve(new WsConnection(endpoint, path, socket, handlers));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes queued in the socket and not yet written; callers stop sending above their own cap. */
  get bufferedBytes(): number {
    return this.socket.bufferedAmount;
  }

  send(message: JsonObject): void {
    if (this.closed) return;
    this.socket.send(JSON.stringify(message));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    if (this.closed) return;
    this.closedByUs = true;
    this.closed = true;
    this.socket.terminate();
    this.handlers.onClose(undefined);
  }

  private onData(data: WebSocketType.RawData): void {
    if (this.closed) return;
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let message: JsonObject;
    try {
      message = asObject(parseJson(text), 'websocket message');
    } catch (error) {
      this.onClosed(error as ClientError);
      this.socket.terminate();
      return;
    }
    const failure = streamError(message);
    if (failure) this.handlers.onMessage(undefined, failure);
    else this.handlers.onMessage(asObject(message.result ?? {}, 'websocket result'), undefined);
  }

  private onClosed(error: ClientError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.onClose(this.closedByUs ? undefined : (error ?? new ConnectionError(this.endpoint.text, true, `${this.endpoint.text}${this.path}: websocket closed`)));
  }
}

interface Pending {
  resolve(value: JsonObject): void;
  reject(error: ClientError): void;
}

/**
 * Requests answered one for one, in order, on one socket: keep-alives, and unary calls when the client is asked to
 * pipeline them over WebSocket. The answer to the n-th request is the n-th message.
 */
export class WsRequestChannel {
  private readonly pending: Pending[] = [];
  private connection: WsConnection | undefined;
  private failure: ClientError | undefined;

  private constructor(readonly endpoint: Endpoint, readonly path: string) {}

  static async open(endpoint: Endpoint, path: string, dialTimeoutMs: number): Promise<WsRequestChannel> {
    const channel = new WsRequestChannel(endpoint, path);
    channel.connection = await WsConnection.open(endpoint, path, dialTimeoutMs, {
      onMessage: (result, error) => channel.onMessage(result, error),
      onClose: (error) => channel.onClose(error),
    });
    return channel;
  }

  get isOpen(): boolean {
    return this.failure === undefined && (this.connection?.isOpen ?? false);
  }

  get inFlight(): number {
    return this.pending.length;
  }

  request(body: JsonObject): Promise<JsonObject> {
    if (!this.isOpen) return Promise.reject(this.failure ?? new ConnectionError(this.endpoint.text, false, 'websocket closed'));
    return new Promise<JsonObject>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.connection!.send(body);
    });
  }

  close(): void {
    this.connection?.close();
  }

  private onMessage(result: JsonObject | undefined, error: ClientError | undefined): void {
    const next = this.pending.shift();
    if (!next) return; // an answer nobody asked for: ignore rather than misattribute
    if (error) next.reject(error);
    else next.resolve(result!);
  }

  private onClose(error: ClientError | undefined): void {
    this.failure = error ?? new ConnectionError(this.endpoint.text, true, 'websocket closed');
    const waiting = this.pending.splice(0);
    for (const p of waiting) p.reject(new ConnectionError(this.endpoint.text, true, this.failure.message, { cause: this.failure }));
  }
}
