// Reading etcd's JSON stream messages ({"result":{...}} per line or per WebSocket message) without JSON.parse: a
// fan-out run delivers hundreds of thousands of messages per second, and the generator only needs to know whether a
// message is an error, a `created` answer, or events (and each event's value, for the timestamp). The layout of
// etcd's output (proto field names, base64 bytes, `"kv":{` per event) makes targeted searches reliable; a prev_kv
// reads `"prev_kv":{`, which the search for `"kv":{` (with its opening quote) does not match.
import { ServerError } from '../errors.js';
import { readStampBase64 } from '../stamp.js';
import type { KeepAliveSink, WatchSink } from './types.js';

const errorPrefix = Buffer.from('{"error"');
const created = Buffer.from('"created":true');
const canceled = Buffer.from('"canceled":true');
const kvOpen = Buffer.from('"kv":{');
const valueOpen = Buffer.from('"value":"');
const idOpen = Buffer.from('"ID":"');
const ttlOpen = Buffer.from('"TTL":"');

function startsWith(buf: Buffer, start: number, prefix: Buffer): boolean {
  if (buf.length - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}

function find(buf: Buffer, needle: Buffer, from: number, end: number): number {
  const at = buf.indexOf(needle, from);
  return at < 0 || at + needle.length > end ? -1 : at;
}

/** An {"error":…} message as a ServerError (grpc_code / code when present). */
export function streamError(buf: Buffer, start: number, end: number): ServerError {
  const text = buf.toString('utf8', start, end);
  try {
    const parsed = JSON.parse(text) as { error?: { grpc_code?: number; message?: string } | string; code?: number; message?: string };
    if (typeof parsed.error === 'object' && parsed.error !== null) return new ServerError(parsed.error.grpc_code ?? 2, parsed.error.message ?? text);
    return new ServerError(parsed.code ?? 2, parsed.message ?? text);
  } catch {
    return new ServerError(2, text);
  }
}

export function isErrorMessage(buf: Buffer, start: number): boolean {
  return startsWith(buf, start, errorPrefix);
}

/** Reports one watch stream message to the sink. */
export function scanWatchMessage(buf: Buffer, start: number, end: number, sink: WatchSink): void {
  if (isErrorMessage(buf, start)) {
    sink.failed(streamError(buf, start, end));
    return;
  }
  let kv = find(buf, kvOpen, start, end);
  if (kv < 0) {
    if (find(buf, created, start, end) >= 0) sink.created();
    else if (find(buf, canceled, start, end) >= 0) sink.failed(new ServerError(1, `watch canceled: ${buf.toString('utf8', start, Math.min(end, start + 300))}`));
    return; // progress notifications and anything else carry no events
  }
  while (kv >= 0) {
    const next = find(buf, kvOpen, kv + kvOpen.length, end);
    const limit = next < 0 ? end : next;
    const value = find(buf, valueOpen, kv, limit);
    if (value < 0) sink.event(Number.NaN);
    else {
      const from = value + valueOpen.length;
      const to = buf.indexOf(34, from); // closing quote
      sink.event(readStampBase64(buf, from, to < 0 || to > limit ? limit : to));
    }
    kv = next;
  }
}

function quotedDecimal(buf: Buffer, open: Buffer, start: number, end: number): string | undefined {
  const at = find(buf, open, start, end);
  if (at < 0) return undefined;
  const from = at + open.length;
  const to = buf.indexOf(34, from);
  return to < 0 || to > end ? undefined : buf.toString('latin1', from, to);
}

/** Reports one keep-alive stream message to the sink. */
export function scanKeepAliveMessage(buf: Buffer, start: number, end: number, sink: KeepAliveSink): void {
  if (isErrorMessage(buf, start)) {
    sink.failed(streamError(buf, start, end));
    return;
  }
  const id = quotedDecimal(buf, idOpen, start, end);
  const ttl = quotedDecimal(buf, ttlOpen, start, end);
  sink.answered(id ?? '0', ttl === undefined ? 0 : Number(ttl));
}
