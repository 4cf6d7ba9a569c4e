// The WAL's record format: how one record is laid out, how a batch of records is encoded, and how a run of bytes is
// checked back into records.
//
// A record, always starting at an 8-byte aligned offset of its segment:
//
//   offset  size  field
//   0       4     payload length in bytes (u32, little-endian)
//   4       1     record type (RecordType; 0 is never a record, so zeroed space reads as "no record")
//   5       1     padding length, 1..8
//   6       2     reserved, zero
//   8       4     header CRC: CRC32C of bytes 0..8 alone
//   12      4     record CRC: CRC32C over bytes 0..8 and the payload, continuing from the previous record's CRC
//   16      n     payload
//   16+n    pad   padding bytes, each recordPadByte (non-zero), up to the next multiple of 8
//
// Why the padding is never empty and never zero: a complete record therefore always ends in a non-zero byte. After a
// crash, a record whose bytes turn into zeros before its own end (the segment was preallocated with zeros) was never
// completely written — a torn write — while a complete record that fails its checksum was damaged after it was
// written. The boot path treats the first as a crash to repair and the second as corruption to report.
//
// Why the header has a CRC of its own: deciding "torn" needs the record's length, and a length damaged by a bit flip
// could claim the record runs to the end of the file, making every later (acknowledged) record look like part of a
// torn write. A header that fails its own CRC is therefore always damage, never a tear.
//
// Chaining: the first record of every segment is a segment header, whose checksum starts from the previous segment's
// last checksum (which it also carries in its payload). Every later record continues from the record before it, so a
// missing, repeated or reordered record breaks the chain even when each record is intact on its own.
import type { ConfState, Entry, EntryType, HardState, NodeId } from '../raft/core/types.js';
import { assert, AssertionError } from '../../runtime/assert.js';
import { ByteReader, ByteWriter, FieldDecodeError, getU64, setU64 } from './bytes.js';
import { crc32c } from './crc32c.js';
import { walLimits } from './limits.js';

export const RecordType = {
  /** First record of every segment: format magic, sequence, first index, previous segment's last CRC. */
  SegmentHeader: 1,
  /** Member and cluster id, plus opaque bytes. Repeated at the start of every segment. */
  Metadata: 2,
  Entry: 3,
  HardState: 4,
  /** Raft saved a snapshot file at (term, index): entries up to index are no longer needed from the log. */
  SnapshotMarker: 5,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export const recordHeaderBytes = 16;
/** Padding fill; must be non-zero (see the file header). */
export const recordPadByte = 0xa5;
/** Entry payload: term u64, index u64, type u8, then the data. */
export const entryPayloadHeaderBytes = 17;

const segmentMagic = new TextEncoder().encode('tetcdwal');
export const segmentFormatVersion = 1;
/** magic 8, version u32, reserved u32, sequence u64, first index u64, previous CRC u32, reserved u32. */
const segmentHeaderPayloadBytes = 40;
const segmentHeaderPrevCrcOffset = 32;

export interface WalMetadata {
  memberId: NodeId;
  clusterId: NodeId;
  /** Opaque bytes for the member's own use (absent when none were given). */
  extra?: Uint8Array;
}

export interface WalSnapshotMarker {
  term: number;
  index: number;
  confState: ConfState;
  /** A snapshot installed from the leader replaces the whole log: entries written before it are void. */
  installed?: boolean;
}

export interface SegmentHeader {
  sequence: number;
  firstIndex: number;
  /** CRC of the last record of the previous segment (0 for the very first segment). */
  prevCrc: number;
}

/** Bytes a record of `payloadBytes` takes on disk, padding included (always at least one padding byte). */
export function recordBytes(payloadBytes: number): number {
  return (recordHeaderBytes + payloadBytes + 8) & ~7;
}

function isRecordType(value: number): value is RecordType {
  return value >= RecordType.SegmentHeader && value <= RecordType.SnapshotMarker;
}

/**
 * A batch of encoded records, growing as records are added, with the CRC chain carried along. The WAL encodes a whole
 * turn's appends here and hands the bytes to one write.
 */
export class RecordBuffer {
  private bytes: Uint8Array;
  private view: DataView;
  length = 0;
  /** CRC of the last record in the buffer (or the chain seed when empty). */
  crc: number;

  constructor(seedCrc: number, initialBytes = 64 * 1024) {
    this.bytes = new Uint8Array(initialBytes);
    this.view = new DataView(this.bytes.buffer);
    this.crc = seedCrc;
  }

  /** Starts over (after the bytes were written), continuing the chain from `seedCrc`. */
  reset(seedCrc: number): void {
    this.length = 0;
    this.crc = seedCrc;
  }

  /** The encoded bytes; valid until the next change to the buffer. */
  encoded(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(n: number): number {
    const at = this.length;
    if (at + n > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, at + n));
      grown.set(this.bytes.subarray(0, at));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length += n;
    return at;
  }

  /** Lays out a record's header and padding; returns the payload's offset for the caller to fill, then seal(). */
  private begin(type: RecordType, payloadBytes: number): number {
    if (!(payloadBytes >= 0 && payloadBytes <= walLimits.recordPayloadBytesMax)) throw new AssertionError(`record payload of ${payloadBytes} bytes is over the limit`);
    const size = recordBytes(payloadBytes);
    const at = this.reserve(size);
    const padBytes = size - recordHeaderBytes - payloadBytes;
    this.view.setUint32(at, payloadBytes, true);
    this.bytes[at + 4] = type;
    this.bytes[at + 5] = padBytes;
    this.bytes[at + 6] = 0;
    this.bytes[at + 7] = 0;
    this.bytes.fill(recordPadByte, at + recordHeaderBytes + payloadBytes, at + size);
    return at;
  }

  private seal(at: number, payloadBytes: number, seedCrc: number): void {
    this.view.setUint32(at + 8, crc32c(0, this.bytes, at, at + 8), true);
    let crc = crc32c(seedCrc, this.bytes, at, at + 8);
    crc = crc32c(crc, this.bytes, at + recordHeaderBytes, at + recordHeaderBytes + payloadBytes);
    this.view.setUint32(at + 12, crc, true);
    this.crc = crc;
  }

  entry(entry: Entry): void {
    const data = entry.data;
    const payloadBytes = entryPayloadHeaderBytes + data.length;
    const at = this.begin(RecordType.Entry, payloadBytes);
    const p = at + recordHeaderBytes;
    setU64(this.view, p, entry.term);
    setU64(this.view, p + 8, entry.index);
    if (entry.type !== 0 && entry.type !== 1) throw new AssertionError(`unknown entry type ${entry.type}`);
    this.bytes[p + 16] = entry.type;
    this.bytes.set(data, p + entryPayloadHeaderBytes);
    this.seal(at, payloadBytes, this.crc);
  }

  hardState(state: HardState): void {
    const vote = state.vote;
    assert(vote.length <= 255, 'vote id too long');
    const payloadBytes = 17 + vote.length;
    const at = this.begin(RecordType.HardState, payloadBytes);
    const p = at + recordHeaderBytes;
    setU64(this.view, p, state.term);
    setU64(this.view, p + 8, state.commit);
    this.bytes[p + 16] = vote.length;
    for (let i = 0; i < vote.length; i++) {
      const code = vote.charCodeAt(i);
      assert(code < 128, 'vote id must be ASCII');
      this.bytes[p + 17 + i] = code;
    }
    this.seal(at, payloadBytes, this.crc);
  }

  metadata(metadata: WalMetadata): void {
    this.raw(RecordType.Metadata, encodeMetadata(metadata));
  }

  snapshotMarker(marker: WalSnapshotMarker): void {
    this.raw(RecordType.SnapshotMarker, encodeSnapshotMarker(marker));
  }

  /** A segment header; its checksum starts from header.prevCrc, which restarts the chain for this segment. */
  segmentHeader(header: SegmentHeader): void {
    const payload = new Uint8Array(segmentHeaderPayloadBytes);
    const view = new DataView(payload.buffer);
    payload.set(segmentMagic, 0);
    view.setUint32(8, segmentFormatVersion, true);
    setU64(view, 16, header.sequence);
    setU64(view, 24, header.firstIndex);
    view.setUint32(segmentHeaderPrevCrcOffset, header.prevCrc, true);
    const at = this.begin(RecordType.SegmentHeader, payload.length);
    this.bytes.set(payload, at + recordHeaderBytes);
    this.seal(at, payload.length, header.prevCrc);
  }

  private raw(type: RecordType, payload: Uint8Array): void {
    const at = this.begin(type, payload.length);
    this.bytes.set(payload, at + recordHeaderBytes);
    this.seal(at, payload.length, this.crc);
  }
}

function encodeMetadata(metadata: WalMetadata): Uint8Array {
  const w = new ByteWriter().string(metadata.memberId).string(metadata.clusterId);
  if (metadata.extra === undefined) w.u8(0);
  else w.u8(1).blob(metadata.extra);
  return w.finish();
}

/** Payload size of a snapshot marker record, for deciding where a segment is cut before encoding it. */
export function snapshotMarkerPayloadBytes(marker: WalSnapshotMarker): number {
  let bytes = 16 + 12 + 1;
  const textBytes = (id: string) => 2 + Buffer.byteLength(id, 'utf8');
  for (const list of [marker.confState.voters, marker.confState.learners, marker.confState.votersOutgoing]) for (const id of list) bytes += textBytes(id);
  return bytes;
}

function encodeSnapshotMarker(marker: WalSnapshotMarker): Uint8Array {
  return new ByteWriter()
    .u64(marker.term)
    .u64(marker.index)
    .strings(marker.confState.voters)
    .strings(marker.confState.learners)
    .strings(marker.confState.votersOutgoing)
    .u8(marker.installed ? 1 : 0)
    .finish();
}

// ---- payload decoders: each reads bytes[start, end) and throws FieldDecodeError when the payload is malformed ----

/** Copies bytes[start, end) out of a (large, reused) read buffer. */
export type ByteCopier = (bytes: Uint8Array, start: number, end: number) => Uint8Array;

const sliceCopier: ByteCopier = (bytes, start, end) => bytes.slice(start, end);

/**
 * Hands out copies as views into shared 1 MiB blocks: boot decodes hundreds of thousands of entries, and one
 * ArrayBuffer per entry costs more in allocation and garbage collection than reading and checking them.
 */
export class ByteArena {
  private block = new Uint8Array(0);
  private used = 0;
  constructor(private readonly blockBytes = 1024 * 1024) {}
  readonly copy: ByteCopier = (bytes, start, end) => {
    const n = end - start;
    if (this.used + n > this.block.length) {
      this.block = new Uint8Array(Math.max(this.blockBytes, n));
      this.used = 0;
    }
    const at = this.used;
    this.block.set(bytes.subarray(start, end), at);
    this.used += n;
    return this.block.subarray(at, at + n);
  };
}

export function decodeEntry(bytes: Uint8Array, view: DataView, start: number, end: number, copy: ByteCopier = sliceCopier): Entry {
  if (end - start < entryPayloadHeaderBytes) throw new FieldDecodeError('entry payload shorter than its fixed fields');
  const term = getU64(view, start);
  const index = getU64(view, start + 8);
  const type = bytes[start + 16]!;
  if (term === undefined || index === undefined) throw new FieldDecodeError('entry term or index out of range');
  if (type !== 0 && type !== 1) throw new FieldDecodeError(`entry type ${type} is unknown`);
  return { term, index, type: type as EntryType, data: copy(bytes, start + entryPayloadHeaderBytes, end) };
}

export function decodeHardState(bytes: Uint8Array, view: DataView, start: number, end: number): HardState {
  if (end - start < 17) throw new FieldDecodeError('hard state payload shorter than its fixed fields');
  const term = getU64(view, start);
  const commit = getU64(view, start + 8);
  const voteBytes = bytes[start + 16]!;
  if (term === undefined || commit === undefined) throw new FieldDecodeError('hard state term or commit out of range');
  if (end - start !== 17 + voteBytes) throw new FieldDecodeError('hard state vote length does not match its payload');
  let vote = '';
  for (let i = 0; i < voteBytes; i++) vote += String.fromCharCode(bytes[start + 17 + i]!);
  return { term, vote, commit };
}

export function decodeMetadata(bytes: Uint8Array, start: number, end: number): WalMetadata {
  const r = new ByteReader(bytes, start, end);
  const memberId = r.string('member id');
  const clusterId = r.string('cluster id');
  const hasExtra = r.u8('extra flag');
  if (hasExtra > 1) throw new FieldDecodeError(`metadata extra flag ${hasExtra} is neither 0 nor 1`);
  const metadata: WalMetadata = hasExtra === 1 ? { memberId, clusterId, extra: r.blob('extra') } : { memberId, clusterId };
  r.done('metadata');
  return metadata;
}

export function decodeSnapshotMarker(bytes: Uint8Array, start: number, end: number): WalSnapshotMarker {
  const r = new ByteReader(bytes, start, end);
  const term = r.u64('term');
  const index = r.u64('index');
  const confState: ConfState = { voters: r.strings('voters'), learners: r.strings('learners'), votersOutgoing: r.strings('outgoing voters') };
  const installed = r.u8('installed');
  if (installed > 1) throw new FieldDecodeError(`snapshot marker installed flag is ${installed}`);
  r.done('snapshot marker');
  return installed === 1 ? { term, index, confState, installed: true } : { term, index, confState };
}

export function decodeSegmentHeader(bytes: Uint8Array, view: DataView, start: number, end: number): SegmentHeader {
  if (end - start !== segmentHeaderPayloadBytes) throw new FieldDecodeError(`segment header payload is ${end - start} bytes`);
  for (let i = 0; i < segmentMagic.length; i++) {
    if (bytes[start + i] !== segmentMagic[i]) throw new FieldDecodeError('segment header magic is wrong (not a tetcd wal segment)');
  }
  const version = view.getUint32(start + 8, true);
  if (version !== segmentFormatVersion) throw new FieldDecodeError(`segment format version ${version} is not supported`);
  const sequence = getU64(view, start + 16);
  const firstIndex = getU64(view, start + 24);
  if (sequence === undefined || firstIndex === undefined) throw new FieldDecodeError('segment sequence or first index out of range');
  return { sequence, firstIndex, prevCrc: view.getUint32(start + segmentHeaderPrevCrcOffset, true) };
}

// ---- scanning ----

/** Called for each valid record: its type, payload range in `bytes`, and the record's offset. */
export type RecordVisitor = (type: RecordType, payloadStart: number, payloadEnd: number, offset: number) => void;

/** Where and why a scan stopped before the end of the bytes. */
export interface ScanStop {
  offset: number;
  reason: string;
  /** End of the record at `offset` as its header claims, when the header is complete, passes its own CRC and is sane
   * (the end may lie past the end of the bytes). Undefined when the header itself is incomplete or damaged. */
  claimedEnd: number | undefined;
}

export interface ScanResult {
  /** Offset just past the last valid record. */
  endOffset: number;
  /** CRC of the last valid record (the seed when there was none). */
  lastCrc: number;
  records: number;
  /** Undefined when the valid records run exactly to `length`. */
  stop: ScanStop | undefined;
}

/**
 * Walks records in bytes[0, length) and verifies each: header sanity and CRC, padding, checksum chain (with
 * `checkPayloads` false, only the framing: used on a batch just encoded, whose chain the encoder tracked). With `seedCrc`
 * undefined the bytes are a whole segment and must open with a segment header; otherwise they continue a chain.
 * Stops at the first position that does not hold a complete valid record and says why; deciding whether that is the
 * end of the log, a torn write or damage is the caller's business, because it depends on where the bytes came from.
 */
export function scanRecords(bytes: Uint8Array, length: number, seedCrc: number | undefined, visit?: RecordVisitor, checkPayloads = true): ScanResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  let crc = seedCrc ?? 0;
  let records = 0;
  const stop = (reason: string, claimedEnd?: number): ScanResult => ({ endOffset: offset, lastCrc: crc, records, stop: { offset, reason, claimedEnd } });
  while (offset < length) {
    if (length - offset < recordHeaderBytes) return stop('incomplete record header');
    const payloadBytes = view.getUint32(offset, true);
    const type = bytes[offset + 4]!;
    const padBytes = bytes[offset + 5]!;
    const reserved = view.getUint16(offset + 6, true);
    if (type === 0 && payloadBytes === 0 && padBytes === 0 && reserved === 0 && view.getUint32(offset + 8, true) === 0) return stop('no record (zeroed space)');
    if (crc32c(0, bytes, offset, offset + 8) !== view.getUint32(offset + 8, true)) return stop('record header checksum mismatch');
    if (!isRecordType(type)) return stop(`unknown record type ${type}`);
    if (payloadBytes > walLimits.recordPayloadBytesMax) return stop(`record length ${payloadBytes} is over the limit`);
    const size = recordBytes(payloadBytes);
    if (padBytes !== size - recordHeaderBytes - payloadBytes || reserved !== 0) return stop('record header is malformed');
    const end = offset + size;
    if (end > length) return stop('record runs past the end of the file', end);
    const payloadStart = offset + recordHeaderBytes;
    const payloadEnd = payloadStart + payloadBytes;
    for (let i = payloadEnd; i < end; i++) if (bytes[i] !== recordPadByte) return stop('record padding is damaged', end);
    let seed = crc;
    if (type === RecordType.SegmentHeader) {
      if (offset !== 0 || seedCrc !== undefined) return stop('segment header in the middle of a segment', end);
      if (payloadBytes !== segmentHeaderPayloadBytes) return stop('segment header has the wrong length', end);
      seed = view.getUint32(payloadStart + segmentHeaderPrevCrcOffset, true);
    } else if (offset === 0 && seedCrc === undefined) {
      return stop('segment does not start with a segment header', end);
    }
    let actual = view.getUint32(offset + 12, true);
    if (checkPayloads) {
      actual = crc32c(crc32c(seed, bytes, offset, offset + 8), bytes, payloadStart, payloadEnd);
      if (actual !== view.getUint32(offset + 12, true)) return stop('checksum mismatch', end);
    }
    visit?.(type, payloadStart, payloadEnd, offset);
    crc = actual;
    records++;
    offset = end;
  }
  return { endOffset: offset, lastCrc: crc, records, stop: undefined };
}
