// Segment files: how they are named, and how the end of the last one is told apart from a crash and from damage.
//
// Names follow etcd's layout: <sequence>-<first index>.wal, each a 16-digit lowercase hex number, e.g.
// 0000000000000003-00000000000a1b2d.wal is the fourth segment, cut when the log's last index was 0xa1b2c. The next
// segment is preallocated ahead of need as <sequence>.wal.tmp; a name ending in .tmp is never part of the log.
import { assert } from '../../runtime/assert.js';
import type { ScanStop } from './record.js';
import { recordHeaderBytes } from './record.js';
import { walLimits } from './limits.js';

export interface SegmentName {
  sequence: number;
  firstIndex: number;
}

export function hex16(value: number): string {
  assert(Number.isSafeInteger(value) && value >= 0, `not a non-negative integer: ${value}`);
  return value.toString(16).padStart(16, '0');
}

export function segmentFileName(sequence: number, firstIndex: number): string {
  return `${hex16(sequence)}-${hex16(firstIndex)}.wal`;
}

const segmentNamePattern = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function parseSegmentFileName(name: string): SegmentName | undefined {
  const match = segmentNamePattern.exec(name);
  if (!match) return undefined;
  const sequence = parseInt(match[1]!, 16);
  const firstIndex = parseInt(match[2]!, 16);
  if (!Number.isSafeInteger(sequence) || !Number.isSafeInteger(firstIndex)) return undefined;
  return { sequence, firstIndex };
}

export function preparedFileName(sequence: number): string {
  return `${hex16(sequence)}.wal.tmp`;
}

export function isTemporaryFileName(name: string): boolean {
  return name.endsWith('.tmp');
}

const zeros = Buffer.alloc(walLimits.zeroCheckChunkBytes);

function allZero(bytes: Uint8Array, start: number, end: number): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).equals(zeros.subarray(0, end - start));
}

/** The smallest offset Z >= from such that bytes[Z, length) are all zero (length when the last byte is not zero). */
export function trailingZeroStart(bytes: Uint8Array, length: number, from: number): number {
  let end = length;
  while (end > from) {
    const start = Math.max(from, end - zeros.length);
    if (!allZero(bytes, start, end)) {
      let i = end - 1;
      while (bytes[i] === 0) i--;
      return i + 1;
    }
    end = start;
  }
  return from;
}

export type TailVerdict = 'end' | 'torn' | 'damaged';

/**
 * Decides what the first invalid position of the LAST segment means, given where its trailing zeros begin.
 * - 'end': nothing but zeros from there on (preallocated space never written).
 * - 'torn': the record there was being written when the process or machine stopped: its header is incomplete, or its
 *   header is whole and valid and its bytes turn into zeros (never written) before the end that header claims, so
 *   nothing follows it. Complete records always end in a non-zero padding byte, so a complete record cannot look
 *   like this, and a damaged header cannot claim a length that swallows the records after it.
 * - 'damaged': anything else — a complete record that fails its checksum, a damaged header, data after a hole.
 *   Boot refuses.
 *
 * What a crash can leave: a process killed mid-write leaves a prefix of the write (then zeros); a machine that loses
 * power may also persist the write's pages out of order, leaving zeros and then data within the last unsynced batch.
 * The second case is reported as damage too: refusing and naming the offset is safe, guessing is not.
 */
export function judgeTail(stop: ScanStop, zeroStart: number): TailVerdict {
  if (zeroStart <= stop.offset) return 'end';
  if (zeroStart < stop.offset + recordHeaderBytes) return 'torn';
  if (stop.claimedEnd !== undefined && zeroStart < stop.claimedEnd) return 'torn';
  return 'damaged';
}
