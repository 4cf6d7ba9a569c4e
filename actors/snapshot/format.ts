// The snapshot file format and names. A snapshot file is written once, streamed, and never held whole in memory, so
// every part of it can be checked as it streams past:
//
//   header   magic "tetcdsnp" (8) | version u32 | metadata length u32 | metadata | CRC32C of all header bytes before it
//   frames   chunk length u32 (> 0) | CRC32C of the chunk u32 | chunk bytes            (one per chunk, in order)
//   trailer  0 u32 (no more chunks) | reserved u32 | chunk count u64 | image bytes u64 |
//            frames CRC u32 (CRC32C chained over every frame's 8-byte head, so no chunk can go missing, repeat or move) |
//            trailer CRC u32 (CRC32C of the trailer bytes before it, continuing from the header CRC) | magic "tetcdend"
//
// The metadata is term u64, index u64, then the membership (voters, learners, outgoing voters), each a u32 count of
// u16-length UTF-8 strings. The file ends exactly after the trailer. Names follow etcd: <term>-<index>.snap, each a
// 16-digit lowercase hex number.
import type { SnapshotMetadata } from '../raft/core/types.js';
import { ByteReader, ByteWriter, FieldDecodeError, getU64, setU64 } from '../wal/bytes.js';
import { crc32c } from '../wal/crc32c.js';
import { hex16 } from '../wal/segment.js';
import { snapshotLimits } from './limits.js';

export const headerMagic = new TextEncoder().encode('tetcdsnp');
export const trailerMagic = new TextEncoder().encode('tetcdend');
export const formatVersion = 1;
/** magic, version, metadata length. */
export const headerFixedBytes = 16;
export const frameHeadBytes = 8;
export const trailerBytes = 40;

export function snapshotFileName(term: number, index: number): string {
  return `${hex16(term)}-${hex16(index)}.snap`;
}

const namePattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

export function parseSnapshotFileName(name: string): { term: number; index: number } | undefined {
  const match = namePattern.exec(name);
  if (!match) return undefined;
  const term = parseInt(match[1]!, 16);
  const index = parseInt(match[2]!, 16);
  if (!Number.isSafeInteger(term) || !Number.isSafeInteger(index)) return undefined;
  return { term, index };
}

/** The whole header for `metadata`, and its CRC (which seeds the trailer CRC). */
export function encodeHeader(metadata: SnapshotMetadata): { bytes: Uint8Array; crc: number } {
  const body = new ByteWriter()
    .u64(metadata.term)
    .u64(metadata.index)
    .strings(metadata.confState.voters)
    .strings(metadata.confState.learners)
    .strings(metadata.confState.votersOutgoing)
    .finish();
  const bytes = new Uint8Array(headerFixedBytes + body.length + 4);
  const view = new DataView(bytes.buffer);
  bytes.set(headerMagic, 0);
  view.setUint32(8, formatVersion, true);
  view.setUint32(12, body.length, true);
  bytes.set(body, headerFixedBytes);
  const crc = crc32c(0, bytes, 0, headerFixedBytes + body.length);
  view.setUint32(headerFixedBytes + body.length, crc, true);
  return { bytes, crc };
}

/** Checks the fixed part of a header; returns the metadata length. Throws FieldDecodeError. */
export function decodeHeaderFixed(bytes: Uint8Array): number {
  for (let i = 0; i < headerMagic.length; i++) if (bytes[i] !== headerMagic[i]) throw new FieldDecodeError('not a tetcd snapshot file (wrong magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== formatVersion) throw new FieldDecodeError(`snapshot format version ${version} is not supported`);
  const length = view.getUint32(12, true);
  if (length > snapshotLimits.headerMetadataBytesMax) throw new FieldDecodeError(`snapshot metadata length ${length} is over the limit`);
  return length;
}

/** Verifies and decodes a whole header (fixed part, metadata, CRC). Throws FieldDecodeError. */
export function decodeHeader(bytes: Uint8Array): { metadata: SnapshotMetadata; crc: number } {
  const length = decodeHeaderFixed(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const crc = crc32c(0, bytes, 0, headerFixedBytes + length);
  if (crc !== view.getUint32(headerFixedBytes + length, true)) throw new FieldDecodeError('snapshot header checksum mismatch');
  const r = new ByteReader(bytes, headerFixedBytes, headerFixedBytes + length);
  const term = r.u64('term');
  const index = r.u64('index');
  const confState = { voters: r.strings('voters'), learners: r.strings('learners'), votersOutgoing: r.strings('outgoing voters') };
  r.done('snapshot metadata');
  return { metadata: { term, index, confState }, crc };
}

export interface TrailerFields {
  chunks: number;
  imageBytes: number;
  framesCrc: number;
}

export function encodeTrailer(fields: TrailerFields, headerCrc: number): Uint8Array {
  const bytes = new Uint8Array(trailerBytes);
  const view = new DataView(bytes.buffer);
  setU64(view, 8, fields.chunks);
  setU64(view, 16, fields.imageBytes);
  view.setUint32(24, fields.framesCrc, true);
  view.setUint32(28, crc32c(headerCrc, bytes, 0, 28), true);
  bytes.set(trailerMagic, 32);
  return bytes;
}

/** Verifies a trailer against what the reader counted. Throws FieldDecodeError. */
export function checkTrailer(bytes: Uint8Array, headerCrc: number, counted: TrailerFields): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(4, true) !== 0) throw new FieldDecodeError('snapshot trailer reserved field is not zero');
  if (crc32c(headerCrc, bytes, 0, 28) !== view.getUint32(28, true)) throw new FieldDecodeError('snapshot trailer checksum mismatch');
  for (let i = 0; i < trailerMagic.length; i++) if (bytes[32 + i] !== trailerMagic[i]) throw new FieldDecodeError('snapshot trailer magic is wrong');
  const chunks = getU64(view, 8);
  const imageBytes = getU64(view, 16);
  if (chunks !== counted.chunks) throw new FieldDecodeError(`trailer says ${chunks} chunks, the file holds ${counted.chunks}`);
  if (imageBytes !== counted.imageBytes) throw new FieldDecodeError(`trailer says ${imageBytes} image bytes, the file holds ${counted.imageBytes}`);
  if (view.getUint32(24, true) !== counted.framesCrc) throw new FieldDecodeError('chunk frames do not match the trailer (a chunk is missing, repeated or moved)');
}
