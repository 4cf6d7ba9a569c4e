// Frames between actors. Everything one actor sends to one other actor during one turn of its event loop is packed
// into one frame, encoded once with cbor-x (its record extension defines each repeated message shape once per frame),
// and its buffer is transferred to the receiving thread rather than copied.
//
// Frame layout (a flat CBOR array, to avoid one array per envelope):
//   [ackCount, kind, id, body, kind, id, body, ...]
// ackCount: how many tell/ask messages from the receiver this sender has handled since its last frame (credits).
// kind: see EnvelopeKind. id: correlation id for asks and replies, 0 for tells.
import { Decoder, Encoder } from 'cbor-x';
import { assert } from './assert.js';

export const enum EnvelopeKind {
  Tell = 0,
  Ask = 1,
  Reply = 2,
  ReplyError = 3,
}

export interface Envelope {
  kind: EnvelopeKind;
  id: number;
  body: unknown;
}

const encoder = new Encoder({ useRecords: true });
const decoder = new Decoder({ useRecords: true });

/** Encodes a frame into a buffer that owns its whole ArrayBuffer, so it can be transferred. */
export function encodeFrame(ackCount: number, envelopes: readonly Envelope[], start = 0, end = envelopes.length): Uint8Array {
  const flat: unknown[] = new Array(1 + (end - start) * 3);
  flat[0] = ackCount;
  let j = 1;
  for (let i = start; i < end; i++) {
    const e = envelopes[i]!;
    flat[j++] = e.kind;
    flat[j++] = e.id;
    flat[j++] = e.body;
  }
  const encoded = encoder.encode(flat);
  // cbor-x hands back a view into its reusable buffer; copy into an exact-size buffer we can give away.
  const owned = new Uint8Array(encoded.length);
  owned.set(encoded);
  return owned;
}

export interface DecodedFrame {
  ackCount: number;
  envelopes: Envelope[];
}

export function decodeFrame(frame: Uint8Array): DecodedFrame {
  const flat = decoder.decode(frame) as unknown[];
  assert(Array.isArray(flat) && flat.length % 3 === 1, 'malformed frame');
  const envelopes: Envelope[] = new Array((flat.length - 1) / 3);
  for (let i = 1, j = 0; i < flat.length; i += 3, j++) {
    envelopes[j] = { kind: flat[i] as EnvelopeKind, id: flat[i + 1] as number, body: flat[i + 2] };
  }
  return { ackCount: flat[0] as number, envelopes };
}

/** Encodes one value on its own (for CBOR payloads that are not frames: raft entry data, WAL records). */
export function encodeValue(value: unknown): Uint8Array {
  const encoded = encoder.encode(value);
  const owned = new Uint8Array(encoded.length);
  owned.set(encoded);
  return owned;
}

export function decodeValue<T>(bytes: Uint8Array): T {
  return decoder.decode(bytes) as T;
}
