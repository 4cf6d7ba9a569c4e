// The client-facing edge: a uWebSockets.js app on the main thread serving etcd 3.4's JSON gateway byte for byte
// (routes, status codes, error bodies, headers including etcd's CORS headers), the watch and keep-alive streams over
// chunked HTTP and over WebSocket on the same paths, and /health, /version, /metrics.
//
// uWS rules kept here: onAborted is registered before anything asynchronous; onData chunks are copied unless the
// whole body is one chunk that is decoded before the callback returns; every write after the handler returned is
// inside cork, one cork per batch; a response is never touched after it was aborted or ended.
//
// WebSocket framing (tetcd's, etcd has none): one JSON request per message in; out, one message per response, with
// the same {"result":…} wrapping as the chunked HTTP stream, and a stream error as {"error":{…}} before the close.
// A message that does not decode gets such an error (code 3) and the socket is closed with 1007.
import { createRequire } from 'node:module';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from '@trufflesuite/uws-js-unofficial';
import { EtcdError, GrpcCode } from '../api/errors.js';
import { assertNever } from '../../runtime/assert.js';
import { createLogger, type Logger } from '../../runtime/log.js';
import { AlarmType, type Api, type CallContext, type HealthRequest } from './api.js';
import { decodeBody, decoders, RequestDecodeError } from './json/decode.js';
import { encodeUnaryError, encodeVersion } from './json/encode.js';
import { readFirstValue } from './json/reader.js';
import { bodyBytesMax, gatewayLimits, grpcReceiveBytesMax } from './limits.js';
import { GatewayMetrics, type StreamKind } from './metrics.js';
import { MessageTooLargeError, routes, type Route, type UnaryRoute } from './routes.js';
import { httpStatusOf, statusLine } from './status.js';
import {
  ChunkedOutlet,
  JsonStreamSplitter,
  KeepAliveBridge,
  SnapshotPump,
  WatchBridge,
  WebSocketOutlet,
  streamErrorJson,
  type OutletHooks,
  type OutletLimits,
  type SocketData,
  type StreamBridge,
} from './streams.js';

type Uws = typeof import('@trufflesuite/uws-js-unofficial');
const uws = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial') as Uws;

export interface GatewayOptions {
  api: Api;
  /** Listen address; loopback by default. */
  host?: string;
  /** 0 picks a free port (read it back from Gateway.port). */
  port?: number;
  /** etcd's --max-request-bytes. */
  maxRequestBytes?: number;
  /** Queued response bytes per stream past which its session is paused. */
  streamPauseBytes?: number;
  /** Queued response bytes per stream past which the stream is closed as too slow. */
  streamBufferedBytesMax?: number;
  /** How often a backed-up chunked stream probes whether uWS drained. */
  streamProbeIntervalMs?: number;
  metrics?: GatewayMetrics;
  log?: Logger;
}

export interface Gateway {
  readonly port: number;
  readonly metrics: GatewayMetrics;
  /** Stops listening, ends every open stream (releasing its session) and closes every connection. */
  close(): void;
}

/** uWS's App has close() in this build though its typings do not say so. */
interface ClosableApp extends TemplatedApp {
  close(): void;
}

/** One WebSocket carrying unary requests of one route. */
interface UnarySocketData {
  context: RequestContext;
  /** Sequence number of the next request; answers are sent in this order. */
  nextSeq: number;
  /** Sequence number of the next answer to send. flushSeq <= nextSeq. */
  flushSeq: number;
  /** Answers ready before their turn. */
  answers: Map<number, string>;
  closed: boolean;
}

class RequestContext implements CallContext {
  aborted = false;
  constructor(readonly authToken: string | undefined) {}
}

const CORS: ReadonlyArray<readonly [string, string]> = [
  ['Access-Control-Allow-Headers', 'accept, content-type, authorization'],
  ['Access-Control-Allow-Methods', 'POST, GET, OPTIONS, PUT, DELETE'],
  ['Access-Control-Allow-Origin', '*'],
];

function writeCors(res: HttpResponse): void {
  for (const [name, value] of CORS) res.writeHeader(name, value);
}

/** The head of every successful response as bytes made once: uWS copies bytes as they are, where a string would be
 * measured and converted to UTF-8 on every call (seven calls per response). */
const OK_STATUS = Buffer.from('200 OK');
const OK_HEADERS: ReadonlyArray<readonly [Uint8Array, Uint8Array]> = [
  ...CORS,
  ['Content-Type', 'application/json'],
  ['Grpc-Metadata-Content-Type', 'application/grpc'],
].map(([name, value]) => [Buffer.from(name!), Buffer.from(value!)] as const);

/** Head of a successful gateway response (unary or stream). */
function writeOkHead(res: HttpResponse): void {
  res.writeStatus(OK_STATUS);
  for (const [name, value] of OK_HEADERS) res.writeHeader(name, value);
}

function respondJsonOk(res: HttpResponse, body: string): void {
  writeOkHead(res);
  res.end(body);
}

function respondError(res: HttpResponse, code: number, message: string, httpStatus = httpStatusOf(code)): void {
  res.writeStatus(statusLine(httpStatus));
  writeCors(res);
  res.writeHeader('Content-Type', 'application/json');
  res.end(encodeUnaryError(code, message));
}

/** Go's http.Error: text/plain, nosniff, the text and a newline. */
function respondText(res: HttpResponse, httpStatus: number, text: string, extra?: readonly [string, string], close = false): void {
  res.writeStatus(statusLine(httpStatus));
  writeCors(res);
  if (extra !== undefined) res.writeHeader(extra[0], extra[1]);
  res.writeHeader('Content-Type', 'text/plain; charset=utf-8');
  res.writeHeader('X-Content-Type-Options', 'nosniff');
  res.end(text + '\n', close);
}

/** Go's path.Clean for a URL path, as Go's ServeMux applies before redirecting. */
export function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  let cleaned = '/' + parts.join('/');
  if (path.endsWith('/') && cleaned !== '/') cleaned += '/';
  return cleaned;
}

function needsCleaning(path: string): boolean {
  return path.includes('//') || path.includes('/./') || path.includes('/../') || path.endsWith('/.') || path.endsWith('/..');
}

function parseHealthQuery(query: string): HealthRequest {
  const request: HealthRequest = { exclude: [], serializable: false };
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeURIComponent(eq < 0 ? '' : pair.slice(eq + 1));
    if (key === 'exclude' && value in AlarmType) request.exclude.push(AlarmType[value as keyof typeof AlarmType]);
    if (key === 'serializable') request.serializable = value === 'true';
  }
  return request;
}

/** Starts the gateway; resolves once it listens. */
export function startGateway(options: GatewayOptions): Promise<Gateway> {
  const api = options.api;
  const log = options.log ?? createLogger('gateway', 'warn');
  const metrics = options.metrics ?? new GatewayMetrics();
  const maxRequestBytes = options.maxRequestBytes ?? gatewayLimits.maxRequestBytesDefault;
  const grpcMax = grpcReceiveBytesMax(maxRequestBytes);
  const bodyMax = bodyBytesMax(maxRequestBytes);
  /** A body nobody will use is read and dropped up to this size, then the answer goes out and the connection closes. */
  const drainBytesMax = bodyMax + gatewayLimits.refusedBodyDrainBytesMax;
  const outletLimits: OutletLimits = {
    pauseBytes: options.streamPauseBytes ?? gatewayLimits.streamPauseBytesDefault,
    capBytes: options.streamBufferedBytesMax ?? gatewayLimits.streamBufferedBytesMaxDefault,
    probeIntervalMs: options.streamProbeIntervalMs ?? gatewayLimits.streamProbeIntervalMs,
    probeBytes: gatewayLimits.streamProbeBytes,
    closeGraceMs: gatewayLimits.streamCloseGraceMs,
  };
  if (outletLimits.pauseBytes >= outletLimits.capBytes) throw new RangeError('streamPauseBytes must be below streamBufferedBytesMax');
  const openStreams = new Set<() => void>();
  const app = uws.App() as ClosableApp;

  /** Maps an Api failure to etcd's code and message; anything that is not an EtcdError is gRPC's Unknown. */
  const toEtcdError = (error: unknown, what: string): EtcdError => {
    if (error instanceof EtcdError) return error;
    log.warn('api call failed with a non-etcd error', { call: what, error });
    return new EtcdError(GrpcCode.UNKNOWN, error instanceof Error ? error.message : String(error));
  };

  // ---- unary ----

  const handleUnary = (res: HttpResponse, route: UnaryRoute, context: RequestContext, body: Uint8Array): void => {
    const started = performance.now();
    let call;
    try {
      call = route.prepare(body, grpcMax);
    } catch (error) {
      if (error instanceof RequestDecodeError) {
        metrics.observe(route.name, GrpcCode.INVALID_ARGUMENT, (performance.now() - started) / 1000);
        return void res.cork(() => respondError(res, GrpcCode.INVALID_ARGUMENT, error.message));
      }
      if (error instanceof MessageTooLargeError) {
        metrics.observe(route.name, GrpcCode.RESOURCE_EXHAUSTED, (performance.now() - started) / 1000);
        return void res.cork(() => respondError(res, GrpcCode.RESOURCE_EXHAUSTED, error.message));
      }
      throw error;
    }
    let pending: Promise<string>;
    try {
      pending = call(api, context);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (json) => {
        metrics.observe(route.name, 0, (performance.now() - started) / 1000);
        if (!context.aborted) guarded(res, route.name, () => res.cork(() => respondJsonOk(res, json)));
      },
      (error: unknown) => {
        const etcdError = toEtcdError(error, route.name);
        metrics.observe(route.name, etcdError.code, (performance.now() - started) / 1000);
        if (!context.aborted) guarded(res, route.name, () => res.cork(() => respondError(res, etcdError.code, etcdError.message)));
      },
    );
  };

  /**
   * Reads a unary body up to the cap and hands it over. A body in one chunk is decoded straight from uWS's memory
   * (the decoders copy what they keep); a body in several chunks is copied as it arrives.
   */
  const readBody = (res: HttpResponse, context: RequestContext, onBody: (body: Uint8Array) => void): void => {
    let chunks: Buffer[] | undefined;
    let received = 0;
    /** The 429 message, once the body went past the cap: what follows is read and dropped. */
    let refusal: string | undefined;
    res.onData((chunk, isLast) => guarded(res, 'body', () => {
      if (context.aborted) return;
      received += chunk.byteLength;
      if (refusal === undefined && received > bodyMax) {
        chunks = undefined;
        // The body cannot be decoded to learn its protobuf size; its length stands in for it.
        refusal = new MessageTooLargeError(received, grpcMax).message;
      }
      if (refusal !== undefined) {
        const close = !isLast && received > drainBytesMax;
        if (!isLast && !close) return;
        const message = refusal;
        res.cork(() => {
          res.writeStatus(statusLine(429));
          writeCors(res);
          res.writeHeader('Content-Type', 'application/json');
          res.end(encodeUnaryError(GrpcCode.RESOURCE_EXHAUSTED, message), close);
        });
        context.aborted = true;
        return;
      }
      if (isLast && chunks === undefined) return onBody(new Uint8Array(chunk));
      (chunks ??= []).push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) onBody(Buffer.concat(chunks, received));
    }));
  };

  // ---- streams over HTTP ----

  const openStream = (kind: StreamKind, release: () => void): (() => void) => {
    metrics.streamOpened(kind);
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      openStreams.delete(close);
      metrics.streamClosed(kind);
      release();
    };
    openStreams.add(close);
    return close;
  };

  const handleHttpStream = (res: HttpResponse, route: Extract<Route, { kind: 'watch' | 'keepalive' }>, context: RequestContext): void => {
    let bridge: (StreamBridge & { pause(): void; resume(): void }) | undefined;
    const hooks: OutletHooks = {
      pause: () => bridge?.pause(),
      resume: () => bridge?.resume(),
      overflow: () => {
        metrics.slowStreamClosed();
        bridge?.close();
      },
    };
    const outlet = new ChunkedOutlet(res, writeOkHead, hooks, outletLimits);
    let inputStopped = false;
    let firstMessage = true;
    let readingPaused = false;
    const finish = openStream(route.kind, () => {
      // On gateway close: end the response if the client is still there.
      if (!context.aborted) outlet.end();
      bridge?.close();
    });
    const events = {
      closed: () => finish(),
      unblocked: () => {
        if (readingPaused && !context.aborted) {
          readingPaused = false;
          res.resume();
        }
      },
    };
    res.onAborted(() => {
      context.aborted = true;
      outlet.abandon();
      bridge?.close();
      finish();
    });
    bridge =
      route.kind === 'watch'
        ? new WatchBridge(api, context, outlet, events)
        : new KeepAliveBridge(api, context, outlet, events, gatewayLimits.keepAliveOutstandingMax);
    const splitter = new JsonStreamSplitter(gatewayLimits.streamMessageBytesMax);
    res.onData((chunk, isLast) => guarded(res, 'stream body', () => {
      if (inputStopped || context.aborted || bridge === undefined) return;
      splitter.push(new Uint8Array(chunk));
      for (;;) {
        const next = splitter.next(isLast);
        if (next.type === 'more') break;
        if (next.type === 'end') {
          inputStopped = true;
          bridge.inputEnded();
          break;
        }
        const outcome = next.type === 'error' ? { ok: false as const, message: next.message } : bridge.message(next.node);
        if (!outcome.ok) {
          // etcd: a first message that does not decode fails the call (HTTP 500, code 2); a later one only stops
          // the reading of the body, like a half-close.
          inputStopped = true;
          const message = outcome.message;
          if (firstMessage && outlet.pristine) {
            outlet.endWithResponse((r) => respondError(r, GrpcCode.UNKNOWN, message));
            bridge.close();
          } else bridge.inputEnded();
          break;
        }
        firstMessage = false;
        if (bridge.inputBlocked && !isLast) {
          readingPaused = true;
          res.pause();
          break;
        }
      }
    }));
  };

  const handleSnapshot = (res: HttpResponse, route: Extract<Route, { kind: 'snapshot' }>, context: RequestContext, body: Uint8Array): void => {
    try {
      decodeBody(body, decoders.empty);
    } catch (error) {
      if (error instanceof RequestDecodeError) return void res.cork(() => respondError(res, GrpcCode.INVALID_ARGUMENT, error.message));
      throw error;
    }
    let pump: SnapshotPump | undefined;
    const outlet = new ChunkedOutlet(res, writeOkHead, {
      pause: () => pump?.pause(),
      resume: () => pump?.resume(),
      overflow: () => {
        metrics.slowStreamClosed();
        pump?.stop();
      },
    }, outletLimits);
    pump = new SnapshotPump(outlet);
    const finish = openStream('snapshot', () => {
      pump?.stop();
      if (!context.aborted) outlet.end();
    });
    res.onAborted(() => {
      context.aborted = true;
      outlet.abandon();
      pump?.stop();
      finish();
    });
    let chunks;
    try {
      chunks = api.snapshot({}, context);
    } catch (error) {
      const etcdError = toEtcdError(error, route.name);
      finish();
      return void res.cork(() => respondError(res, etcdError.code, etcdError.message));
    }
    void pump.run(chunks, (error) => toEtcdError(error, route.name)).finally(finish);
  };

  // ---- plain endpoints ----

  const handleHealth = (res: HttpResponse, query: string, close: boolean): void => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    api.health(parseHealthQuery(query)).then(
      (health) => health,
      (error: unknown) => ({ health: false, reason: String(error) }),
    ).then((health) => {
      if (aborted) return;
      res.cork(() => {
        if (health.health) {
          res.writeStatus('200 OK');
          writeCors(res);
          res.writeHeader('Content-Type', 'text/plain; charset=utf-8');
          res.end('{"health":"true"}', close);
        } else respondText(res, 503, '{"health":"false"}', undefined, close);
      });
    });
  };

  const handleMetrics = (res: HttpResponse, close: boolean): void => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    void metrics.text().then((text) => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus('200 OK');
        writeCors(res);
        res.writeHeader('Content-Type', metrics.contentType());
        res.end(text, close);
      });
    });
  };

  // ---- dispatch ----

  /**
   * Runs a uWS callback so that a bug in it is logged and answered (code 2) instead of escaping into uWS, which
   * would take the whole member down. Writing to a response that already ended throws; that is swallowed here.
   */
  const guarded = (res: HttpResponse, what: string, run: () => void): void => {
    try {
      run();
    } catch (error) {
      log.error('gateway callback failed', { what, error });
      try {
        res.cork(() => respondError(res, GrpcCode.UNKNOWN, 'tetcd: internal error', 500));
      } catch {
        // the response was already ended or aborted
      }
    }
  };

  app.any('/*', (res: HttpResponse, req: HttpRequest) => guarded(res, 'request', () => dispatch(res, req)));

  /**
   * Answers a request whose body nobody reads (404, 405, a redirect, /version) once that body has arrived and been
   * dropped. Answering while the client is still uploading and then closing would show it a broken pipe instead of
   * the answer; past the same drain cap as a refused oversized body the answer goes out and the connection closes.
   */
  const answerAfterBody = (res: HttpResponse, req: HttpRequest, answer: (close: boolean) => void): void => {
    const declared = req.getHeader('content-length');
    if ((declared === '' || declared === '0') && req.getHeader('transfer-encoding') === '') return answer(false);
    /** Aborted by the client, or answered. */
    let done = false;
    let received = 0;
    res.onAborted(() => (done = true));
    res.onData((chunk, isLast) => guarded(res, 'dropped body', () => {
      if (done) return;
      received += chunk.byteLength;
      const close = !isLast && received > drainBytesMax;
      if (!isLast && !close) return;
      done = true;
      res.cork(() => answer(close));
    }));
  };

  const dispatch = (res: HttpResponse, req: HttpRequest): void => {
    const method = req.getMethod();
    let path = req.getUrl();
    if (method === 'options') {
      return answerAfterBody(res, req, (close) => {
        res.writeStatus('200 OK');
        writeCors(res);
        res.end(undefined, close);
      });
    }
    if (needsCleaning(path)) {
      const query = req.getQuery();
      const location = cleanPath(path) + (query ? '?' + query : '');
      const html = method === 'get' || method === 'head';
      return answerAfterBody(res, req, (close) => {
        res.writeStatus(statusLine(301));
        writeCors(res);
        res.writeHeader('Location', location);
        if (!html) return void res.end(undefined, close);
        res.writeHeader('Content-Type', 'text/html; charset=utf-8');
        res.end(`<a href="${location}">Moved Permanently</a>.\n\n`, close);
      });
    }
    if (path.startsWith('/v3beta/')) path = '/v3/' + path.slice(8);
    if (path.startsWith('/v3/')) {
      const route = routes.get(path);
      if (route === undefined) return answerAfterBody(res, req, (close) => respondText(res, 404, 'Not Found', undefined, close));
      if (method !== 'post') return answerAfterBody(res, req, (close) => respondText(res, 405, 'Method Not Allowed', undefined, close));
      const context = new RequestContext(req.getHeader('authorization') || undefined);
      switch (route.kind) {
        case 'unary':
          res.onAborted(() => (context.aborted = true));
          return readBody(res, context, (body) => handleUnary(res, route, context, body));
        case 'watch':
        case 'keepalive':
          return handleHttpStream(res, route, context);
        case 'snapshot':
          res.onAborted(() => (context.aborted = true));
          return readBody(res, context, (body) => handleSnapshot(res, route, context, body));
        default:
          return assertNever(route, 'route');
      }
    }
    switch (path) {
      case '/health':
        if (method !== 'get') return answerAfterBody(res, req, (close) => respondText(res, 405, 'Method Not Allowed', ['Allow', 'GET'], close));
        {
          const query = req.getQuery() ?? '';
          return answerAfterBody(res, req, (close) => handleHealth(res, query, close));
        }
      case '/version':
        if (method !== 'get') return answerAfterBody(res, req, (close) => respondText(res, 405, 'Method Not Allowed', ['Allow', 'GET'], close));
        return answerAfterBody(res, req, (close) => {
          res.writeStatus('200 OK');
          writeCors(res);
          res.writeHeader('Content-Type', 'application/json');
          res.end(encodeVersion(api.version()), close);
        });
      case '/metrics':
        return answerAfterBody(res, req, (close) => handleMetrics(res, close));
    }
    return answerAfterBody(res, req, (close) => respondText(res, 404, '404 page not found', undefined, close));
  };

  // ---- WebSocket on the stream paths ----

  const wsBehaviour = (kind: 'watch' | 'keepalive') => ({
    maxPayloadLength: gatewayLimits.streamMessageBytesMax,
    // Our own cap closes a slow socket with a reason before uWS would start dropping messages.
    maxBackpressure: outletLimits.capBytes + gatewayLimits.streamMessageBytesMax * 2,
    closeOnBackpressureLimit: 0,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res: HttpResponse, req: HttpRequest, socketContext: unknown) => {
      const data: SocketData = { route: kind, authToken: req.getHeader('authorization') || undefined, context: undefined, bridge: undefined, outlet: undefined };
      res.upgrade(
        data,
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        socketContext as Parameters<HttpResponse['upgrade']>[4],
      );
    },
    open: (ws: WebSocket<SocketData>) => {
      const data = ws.getUserData();
      const context = new RequestContext(data.authToken);
      let bridge: (StreamBridge & { pause(): void; resume(): void }) | undefined;
      const outlet = new WebSocketOutlet(ws, {
        pause: () => bridge?.pause(),
        resume: () => bridge?.resume(),
        overflow: () => {
          metrics.slowStreamClosed();
          bridge?.close();
        },
      }, outletLimits);
      const finish = openStream(kind, () => {
        if (!context.aborted) outlet.end([], 1001, 'server closing');
        bridge?.close();
      });
      const events = { closed: () => finish(), unblocked: () => undefined };
      bridge =
        kind === 'watch'
          ? new WatchBridge(api, context, outlet, events)
          : new KeepAliveBridge(api, context, outlet, events, gatewayLimits.keepAliveOutstandingMax);
      data.bridge = bridge;
      data.outlet = outlet;
      data.context = context;
    },
    message: (ws: WebSocket<SocketData>, message: ArrayBuffer) => {
      try {
        onSocketMessage(ws, message);
      } catch (error) {
        log.error('gateway websocket callback failed', { error });
        try {
          ws.end(1011, 'internal error');
        } catch {
          // already closed
        }
      }
    },
    drain: (ws: WebSocket<SocketData>) => ws.getUserData().outlet?.drained(),
    close: (ws: WebSocket<SocketData>) => {
      const data = ws.getUserData();
      if (data.context !== undefined) data.context.aborted = true;
      data.outlet?.abandon();
      data.bridge?.close();
    },
  });

  const onSocketMessage = (ws: WebSocket<SocketData>, message: ArrayBuffer): void => {
    const data = ws.getUserData();
    const bridge = data.bridge;
    if (bridge === undefined || data.outlet === undefined || data.outlet.closed) return;
    let outcome: { ok: true } | { ok: false; message: string };
    try {
      const { node } = readFirstValue(new Uint8Array(message));
      outcome = node === undefined ? { ok: true } : bridge.message(node);
    } catch (error) {
      outcome = { ok: false, message: (error as Error).message };
    }
    if (!outcome.ok) {
      const error = new EtcdError(GrpcCode.INVALID_ARGUMENT, outcome.message);
      data.outlet.end([streamErrorJson(error)], 1007, 'invalid request');
      bridge.close();
      return;
    }
    if (bridge.inputBlocked) {
      const error = new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, 'tetcd: too many keep-alive requests waiting for answers');
      data.outlet.end([streamErrorJson(error)], 1008, 'too many requests');
      bridge.close();
    }
  };
  // ---- WebSocket on the unary paths: one request per message in, one answer per message out, in request order ----
  // Each answer is the object the chunked streams carry: {"result":…} or {"error":{…}}. An error answers only that
  // request; the socket stays open. This is tetcd's fastest client path: no HTTP head per request.

  const unaryWsBehaviour = (route: UnaryRoute) => ({
    maxPayloadLength: gatewayLimits.streamMessageBytesMax,
    maxBackpressure: outletLimits.capBytes + gatewayLimits.streamMessageBytesMax * 2,
    closeOnBackpressureLimit: 0,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res: HttpResponse, req: HttpRequest, socketContext: unknown) => {
      const data: UnarySocketData = {
        context: new RequestContext(req.getHeader('authorization') || undefined),
        nextSeq: 0,
        flushSeq: 0,
        answers: new Map(),
        closed: false,
      };
      res.upgrade(
        data,
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        socketContext as Parameters<HttpResponse['upgrade']>[4],
      );
    },
    message: (ws: WebSocket<UnarySocketData>, message: ArrayBuffer) => {
      const data = ws.getUserData();
      if (data.closed) return;
      if (data.nextSeq - data.flushSeq >= gatewayLimits.wsUnaryOutstandingMax) {
        data.closed = true;
        ws.end(1008, 'too many requests waiting for answers');
        return;
      }
      const seq = data.nextSeq++;
      const started = performance.now();
      let pending: Promise<string>;
      try {
        // the decoders copy what they keep, so uWS's buffer may be read in place
        pending = route.prepare(new Uint8Array(message), grpcMax)(api, data.context);
      } catch (error) {
        pending = Promise.reject(error);
      }
      pending.then(
        (json) => {
          metrics.observe(route.name, 0, (performance.now() - started) / 1000);
          answerInOrder(ws, seq, '{"result":' + json + '}');
        },
        (error: unknown) => {
          const etcdError =
            error instanceof RequestDecodeError
              ? new EtcdError(GrpcCode.INVALID_ARGUMENT, error.message)
              : error instanceof MessageTooLargeError
                ? new EtcdError(GrpcCode.RESOURCE_EXHAUSTED, error.message)
                : toEtcdError(error, route.name);
          metrics.observe(route.name, etcdError.code, (performance.now() - started) / 1000);
          answerInOrder(ws, seq, streamErrorJson(etcdError));
        },
      );
    },
    close: (ws: WebSocket<UnarySocketData>) => {
      const data = ws.getUserData();
      data.closed = true;
      data.context.aborted = true;
      data.answers.clear();
    },
  });

  /** Answers go out in request order: an answer that is ready early waits for the ones before it. */
  const answerInOrder = (ws: WebSocket<UnarySocketData>, seq: number, text: string): void => {
    const data = ws.getUserData();
    if (data.closed) return;
    data.answers.set(seq, text);
    if (seq !== data.flushSeq) return;
    try {
      ws.cork(() => {
        for (let next = data.answers.get(data.flushSeq); next !== undefined; next = data.answers.get(data.flushSeq)) {
          data.answers.delete(data.flushSeq);
          data.flushSeq++;
          ws.send(next, false);
        }
      });
      if (ws.getBufferedAmount() > outletLimits.capBytes) {
        data.closed = true;
        metrics.slowStreamClosed();
        ws.end(1008, 'client too slow: answers backed up');
      }
    } catch {
      data.closed = true; // the socket went away meanwhile
    }
  };

  for (const prefix of ['/v3/', '/v3beta/']) {
    app.ws(prefix + 'watch', wsBehaviour('watch'));
    app.ws(prefix + 'lease/keepalive', wsBehaviour('keepalive'));
    for (const [path, route] of routes) {
      if (route.kind === 'unary') app.ws(prefix + path.slice('/v3/'.length), unaryWsBehaviour(route));
    }
  }

  return new Promise((resolve, reject) => {
    app.listen(options.host ?? '127.0.0.1', options.port ?? 0, (listenSocket: us_listen_socket | false) => {
      if (listenSocket === false) return reject(new Error(`gateway could not listen on ${options.host ?? '127.0.0.1'}:${options.port ?? 0}`));
      const port = uws.us_socket_local_port(listenSocket as never);
      let closed = false;
      resolve({
        port,
        metrics,
        close: () => {
          if (closed) return;
          closed = true;
          uws.us_listen_socket_close(listenSocket);
          for (const close of [...openStreams]) close();
          app.close();
        },
      });
    });
  });
}
