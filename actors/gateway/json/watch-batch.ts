// Watch responses of one delivery, encoded as stream messages straight into bytes.
//
// One event batch fans out to every watcher of a key: thousands of responses that differ only in watch_id. Built as
// strings, each would be a fresh string of a few hundred bytes that the socket write then flattens and converts to
// UTF-8: at 100,000 watchers that garbage, not the work, bounded the gateway. Here the bytes around watch_id are
// encoded once per (header, events, fragment) and each response is two copies and a few digits in a reused buffer.
// Any other response (created, canceled, watch_id 0, ...) goes through the string encoder, so the output is always
// byte for byte what `{"result":${encodeWatch(r)}}` gives.
import type { ResponseHeader, WatchResponse } from '../../api/types.js';
import { encodeEvents, encodeHeader, encodeWatch } from './encode.js';

/**
 * Messages laid out one after another in `bytes`, each followed by a newline; message i ends (newline excluded) at
 * ends[i]. The bytes live in a buffer the next encode reuses: read them before that, and copy what is kept.
 */
export interface EncodedMessages {
  readonly bytes: Uint8Array;
  readonly ends: readonly number[];
}

const NEWLINE = 0x0a;
const scratchBytesDefault = 64 * 1024;
/** A scratch buffer grown past this goes back to the default size after use. */
const scratchBytesKept = 8 * 1024 * 1024;

let scratch = Buffer.allocUnsafe(scratchBytesDefault);

/** The bytes before and after the watch_id digits of a plain event response. */
interface Template {
  header: ResponseHeader;
  events: WatchResponse['events'] | undefined;
  fragment: boolean;
  prefix: Buffer;
  suffix: Buffer;
}

/**
 * The last template built: a delivery's responses share one events array and one header, so one entry serves it.
 * The events array is matched by identity, as encodeEvents caches it; the header by value.
 */
const last: Template = { header: { clusterId: '', memberId: '', revision: -1, raftTerm: -1 }, events: undefined, fragment: false, prefix: Buffer.alloc(0), suffix: Buffer.alloc(0) };

function template(r: WatchResponse): Template {
  const fragment = r.fragment === true;
  const h = r.header;
  const seen = last.header;
  if (last.events !== r.events || last.fragment !== fragment || seen.revision !== h.revision || seen.raftTerm !== h.raftTerm || seen.memberId !== h.memberId || seen.clusterId !== h.clusterId) {
    last.header = { clusterId: h.clusterId, memberId: h.memberId, revision: h.revision, raftTerm: h.raftTerm };
    last.events = r.events;
    last.fragment = fragment;
    last.prefix = Buffer.from(`{"result":{"header":${encodeHeader(r.header)},"watch_id":"`, 'utf8');
    last.suffix = Buffer.from(`"${fragment ? ',"fragment":true' : ''},"events":${encodeEvents(r.events)}}}`, 'utf8');
  }
  return last;
}

/** True for a response that is only events for a watcher, the shape a fan-out repeats. */
function plain(r: WatchResponse): boolean {
  return (
    r.created !== true &&
    r.canceled !== true &&
    (r.compactRevision === undefined || r.compactRevision == 0) &&
    (r.cancelReason === undefined || r.cancelReason === '') &&
    r.events !== undefined &&
    r.events.length > 0 &&
    Number.isSafeInteger(r.watchId) &&
    r.watchId > 0
  );
}

function digitCount(n: number): number {
  let count = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) count++;
  return count;
}

/** Room for `bytes` in the scratch buffer; the `used` bytes already written move along when it grows. */
function ensure(bytes: number, used: number): void {
  if (scratch.length >= bytes) return;
  const grown = Buffer.allocUnsafe(Math.max(bytes, scratch.length * 2));
  scratch.copy(grown, 0, 0, used);
  scratch = grown;
}

/** Encodes each response as `{"result":…}`, in order. */
export function encodeWatchMessages(responses: readonly WatchResponse[]): EncodedMessages {
  if (scratch.length > scratchBytesKept) scratch = Buffer.allocUnsafe(scratchBytesDefault);
  const ends = new Array<number>(responses.length);
  let at = 0;
  for (let i = 0; i < responses.length; i++) {
    const r = responses[i]!;
    if (plain(r)) {
      const t = template(r);
      const digits = digitCount(r.watchId);
      ensure(at + t.prefix.length + digits + t.suffix.length + 1, at);
      scratch.set(t.prefix, at);
      at += t.prefix.length;
      for (let x = r.watchId, p = at + digits - 1; p >= at; p--, x = Math.floor(x / 10)) scratch[p] = 0x30 + (x % 10);
      at += digits;
      scratch.set(t.suffix, at);
      at += t.suffix.length;
    } else {
      const text = `{"result":${encodeWatch(r)}}`;
      ensure(at + Buffer.byteLength(text, 'utf8') + 1, at);
      at += scratch.write(text, at, 'utf8');
    }
    ends[i] = at;
    scratch[at++] = NEWLINE;
  }
  return { bytes: scratch.subarray(0, at), ends };
}
