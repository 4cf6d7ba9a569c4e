// A minimal HTTP/2 client for gRPC unary calls over a plain net socket: the gRPC twin of http1.ts. Node's http2
// module costs ~250 us of CPU per stream on this machine kind and grpc-js ~900 us per call, which made the generator
// the ceiling of every gRPC put run; this client frames requests itself and costs about what the HTTP/1.1 client does.
//
// What it does and does not do:
// - Requests: one HEADERS frame (a header block prebuilt per method path with HPACK's static table and literals,
//   never the dynamic table) and one DATA frame with END_STREAM carrying the 5-byte gRPC prefix and the message.
// - Answers: header blocks are never decoded. A call succeeded when the answer carried DATA before the trailers
//   ended the stream; a "trailers-only" answer (no DATA) is how gRPC servers send errors. The error's code and
//   message are in HPACK-encoded trailers (Huffman-coded by Go), so they are reported as unknown.
// - Flow control: our receive windows are opened wide at start (SETTINGS_INITIAL_WINDOW_SIZE and a connection
//   WINDOW_UPDATE) and the connection window is topped up as DATA arrives; our send side honours the server's
//   connection and stream windows, queueing calls that do not fit until WINDOW_UPDATE frames arrive.
// - PING is answered, SETTINGS acknowledged, GOAWAY and RST_STREAM fail the calls they concern.
import * as net from 'node:net';
import { assert } from '../../runtime/assert.js';
import { ConnectionError, ProtocolError, ServerError } from './errors.js';
import { limits } from './limits.js';

export const enum FrameType {
  Data = 0,
  Headers = 1,
  Priority = 2,
  RstStream = 3,
  Settings = 4,
  PushPromise = 5,
  Ping = 6,
  GoAway = 7,
  WindowUpdate = 8,
  Continuation = 9,
}

const flagEndStream = 0x1;
const flagAck = 0x1;
const flagEndHeaders = 0x4;
const flagPadded = 0x8;

const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const frameHeaderBytes = 9;
const defaultWindowBytes = 65_535;
/** Our receive window (per stream by SETTINGS, and for the connection by WINDOW_UPDATE). */
const receiveWindowBytes = 1 << 30;
const streamIdMax = 2 ** 31 - 1;

export function frame(type: FrameType, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(frameHeaderBytes + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(streamId, 5);
  out.set(payload, frameHeaderBytes);
  return out;
}

/** HPACK integer with an N-bit prefix, the first byte's high bits given in `firstByteHigh`. */
function hpackInteger(value: number, prefixBits: number, firstByteHigh: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByteHigh | value];
  const out = [firstByteHigh | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

function hpackString(text: string): number[] {
  const bytes = Buffer.from(text, 'latin1');
  return [...hpackInteger(bytes.length, 7, 0x00), ...bytes]; // H = 0: not Huffman-coded
}

/**
 * The request header block of a gRPC call to `path`: :method POST and :scheme http from the static table (indexed),
 * :path, :authority and content-type as literals without indexing with static names, te: trailers as a literal
 * with a new name. Exported for tests.
 */
export function grpcHeaderBlock(path: string, authority: string): Buffer {
  const bytes = [
    0x83, // :method: POST (static 3)
    0x86, // :scheme: http (static 6)
    ...hpackInteger(4, 4, 0x00), ...hpackString(path), // :path (static name 4)
    ...hpackInteger(1, 4, 0x00), ...hpackString(authority), // :authority (static name 1)
    ...hpackInteger(31, 4, 0x00), ...hpackString('application/grpc'), // content-type (static name 31)
    0x00, ...hpackString('te'), ...hpackString('trailers'),
  ];
  return Buffer.from(bytes);
}

/** A call's outcome: undefined when it succeeded. */
export type UnaryDone = (error: Error | undefined) => void;

interface Call {
  done: UnaryDone;
  sawData: boolean;
  /** END_STREAM arrived on a HEADERS frame whose block continues in CONTINUATION frames. */
  endingWithHeaders: boolean;
}

interface Pending {
  headerBlock: Buffer;
  data: Buffer;
  done: UnaryDone;
}

/** Reads frames from a byte stream; the payload view is valid only during the callback. Exported for tests. */
export class FrameReader {
  private carry: Buffer | undefined;

  constructor(private readonly onFrame: (type: number, flags: number, streamId: number, payload: Buffer) => void, private readonly frameBytesMax = 1 << 24) {}

  push(data: Buffer): void {
    let buf = data;
    if (this.carry !== undefined) {
      buf = Buffer.concat([this.carry, data]);
      this.carry = undefined;
    }
    let pos = 0;
    while (buf.length - pos >= frameHeaderBytes) {
      const length = buf.readUIntBE(pos, 3);
      if (length > this.frameBytesMax) throw new ProtocolError(`HTTP/2 frame of ${length} bytes`);
      if (buf.length - pos < frameHeaderBytes + length) break;
      const type = buf[pos + 3]!;
      const flags = buf[pos + 4]!;
      const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      this.onFrame(type, flags, streamId, buf.subarray(pos + frameHeaderBytes, pos + frameHeaderBytes + length));
      pos += frameHeaderBytes + length;
    }
    if (pos < buf.length) this.carry = Buffer.from(buf.subarray(pos));
  }
}

/** One HTTP/2 connection carrying gRPC unary calls. */
export class Http2UnaryConnection {
  private readonly reader: FrameReader;
  private readonly calls = new Map<number, Call>();
  private readonly queue: Pending[] = [];
  private nextStreamId = 1;
  private sendWindowBytes = defaultWindowBytes;
  private peerInitialWindowBytes = defaultWindowBytes;
  private peerConcurrentStreamsMax = Number.POSITIVE_INFINITY;
  private receivedSinceUpdateBytes = 0;
  private failure: Error | undefined;
  private corked = false;
  private readonly headerBlocks = new Map<string, Buffer>();

  private constructor(private readonly socket: net.Socket, private readonly authority: string) {
    this.reader = new FrameReader((type, flags, streamId, payload) => this.onFrame(type, flags, streamId, payload));
    socket.on('data', (data: Buffer) => {
      try {
        this.reader.push(data);
      } catch (error) {
        this.fail(error instanceof Error ? error : new ProtocolError(String(error)));
      }
    });
    socket.on('error', (error) => this.fail(new ConnectionError(`HTTP/2 connection to ${authority} failed: ${error.message}`, { cause: error })));
    socket.on('close', () => this.fail(new ConnectionError(`HTTP/2 connection to ${authority} closed`)));
  }

  static connect(host: string, port: number, timeoutMs = limits.connectTimeoutMs): Promise<Http2UnaryConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionError(`HTTP/2 connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(new ConnectionError(`HTTP/2 connect to ${host}:${port} failed: ${error.message}`, { cause: error }));
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        const c = new Http2UnaryConnection(socket, `${host}:${port}`);
        c.start();
        resolve(c);
      });
    });
  }

  get outstanding(): number {
    return this.calls.size + this.queue.length;
  }

  private start(): void {
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(0x2, 0); // ENABLE_PUSH
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(0x4, 6); // INITIAL_WINDOW_SIZE
    settings.writeUInt32BE(receiveWindowBytes, 8);
    const windowUpdate = Buffer.alloc(4);
    windowUpdate.writeUInt32BE(receiveWindowBytes - defaultWindowBytes, 0);
    this.socket.write(Buffer.concat([preface, frame(FrameType.Settings, 0, 0, settings), frame(FrameType.WindowUpdate, 0, 0, windowUpdate)]));
  }

  /** Starts a call: `message` is the serialized request (without the gRPC prefix). */
  call(path: string, message: Buffer, done: UnaryDone): void {
    if (this.failure !== undefined) return done(this.failure);
    let headerBlock = this.headerBlocks.get(path);
    if (headerBlock === undefined) {
      headerBlock = grpcHeaderBlock(path, this.authority);
      this.headerBlocks.set(path, headerBlock);
    }
    const data = Buffer.allocUnsafe(5 + message.length);
    data[0] = 0;
    data.writeUInt32BE(message.length, 1);
    message.copy(data, 5);
    if (this.queue.length > 0 || !this.trySend(headerBlock, data, done)) {
      if (this.queue.length >= limits.httpPipelineDepthMax * 4) return done(new ConnectionError(`HTTP/2 send queue of ${this.authority} is full`));
      this.queue.push({ headerBlock, data, done });
    }
  }

  private trySend(headerBlock: Buffer, data: Buffer, done: UnaryDone): boolean {
    if (data.length > this.sendWindowBytes || data.length > this.peerInitialWindowBytes || this.calls.size >= this.peerConcurrentStreamsMax) return false;
    if (this.nextStreamId > streamIdMax) {
      done(new ConnectionError('HTTP/2 stream ids exhausted on this connection'));
      return true;
    }
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    this.sendWindowBytes -= data.length;
    this.calls.set(id, { done, sawData: false, endingWithHeaders: false });
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.socket.write(frame(FrameType.Headers, flagEndHeaders, id, headerBlock));
    this.socket.write(frame(FrameType.Data, flagEndStream, id, data));
    return true;
  }

  private drainQueue(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (!this.trySend(next.headerBlock, next.data, next.done)) return;
      this.queue.shift();
    }
  }

  private finish(streamId: number, call: Call): void {
    this.calls.delete(streamId);
    call.done(call.sawData ? undefined : new ServerError(2, 'gRPC call failed (trailers-only answer; status not decoded)'));
    if (this.queue.length > 0) this.drainQueue();
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case FrameType.Data: {
        this.receivedSinceUpdateBytes += payload.length;
        if (this.receivedSinceUpdateBytes >= receiveWindowBytes / 2) {
          const increment = Buffer.alloc(4);
          increment.writeUInt32BE(this.receivedSinceUpdateBytes, 0);
          this.socket.write(frame(FrameType.WindowUpdate, 0, 0, increment));
          this.receivedSinceUpdateBytes = 0;
        }
        const call = this.calls.get(streamId);
        if (call === undefined) return;
        const padding = flags & flagPadded ? payload[0]! + 1 : 0;
        if (payload.length > padding) call.sawData = true;
        if (flags & flagEndStream) this.finish(streamId, call);
        return;
      }
      case FrameType.Headers: {
        const call = this.calls.get(streamId);
        if (call === undefined) return;
        // the header block (and any priority fields before it) is never decoded
        if (flags & flagEndStream) {
          if (flags & flagEndHeaders) this.finish(streamId, call);
          else call.endingWithHeaders = true;
        }
        return;
      }
      case FrameType.Continuation: {
        const call = this.calls.get(streamId);
        if (call !== undefined && call.endingWithHeaders && flags & flagEndHeaders) this.finish(streamId, call);
        return;
      }
      case FrameType.RstStream: {
        const call = this.calls.get(streamId);
        if (call === undefined) return;
        this.calls.delete(streamId);
        call.done(new ServerError(payload.length >= 4 ? payload.readUInt32BE(0) : 2, `HTTP/2 stream reset (code ${payload.length >= 4 ? payload.readUInt32BE(0) : '?'})`));
        this.drainQueue();
        return;
      }
      case FrameType.Settings: {
        if (flags & flagAck) return;
        for (let i = 0; i + 6 <= payload.length; i += 6) {
          const id = payload.readUInt16BE(i);
          const value = payload.readUInt32BE(i + 2);
          if (id === 0x3) this.peerConcurrentStreamsMax = value;
          else if (id === 0x4) {
            // the change applies to the send window of every open stream; ours carry one small DATA frame each, so
            // only new streams matter
            this.peerInitialWindowBytes = value;
          }
        }
        this.socket.write(frame(FrameType.Settings, flagAck, 0, Buffer.alloc(0)));
        this.drainQueue();
        return;
      }
      case FrameType.Ping:
        if (!(flags & flagAck)) this.socket.write(frame(FrameType.Ping, flagAck, 0, payload));
        return;
      case FrameType.GoAway:
        this.fail(new ConnectionError(`HTTP/2 GOAWAY from ${this.authority} (code ${payload.length >= 8 ? payload.readUInt32BE(4) : '?'})`));
        this.socket.destroy();
        return;
      case FrameType.WindowUpdate:
        if (streamId === 0 && payload.length >= 4) {
          this.sendWindowBytes += payload.readUInt32BE(0) & 0x7fffffff;
          this.drainQueue();
        }
        return;
      default:
        return; // PRIORITY, PUSH_PROMISE (disabled), unknown types: ignored as the protocol allows
    }
  }

  private fail(error: Error): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    const calls = [...this.calls.values()];
    this.calls.clear();
    const queued = this.queue.splice(0);
    for (const c of calls) c.done(error);
    for (const q of queued) q.done(error);
  }

  close(): void {
    this.fail(new ConnectionError('closed'));
    this.socket.destroy();
  }
}

assert(receiveWindowBytes <= 2 ** 31 - 1, 'HTTP/2 windows are 31-bit');
