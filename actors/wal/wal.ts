// The write-ahead log as a plain synchronous class: the WAL actor is a thin shell over it, and tests and the crash
// fixture drive it directly. It owns the segment files of <data-dir>/member/wal and nothing else.
//
// What it promises: once flush(true) returns, every record appended before it is on disk (written and fdatasynced),
// and boot will return it — or refuse to start, naming the file and byte offset, if the disk damaged it. Nothing is
// dropped silently; the one thing boot repairs on its own is a record torn by a crash at the very end of the log,
// which by construction was never acknowledged (its batch's fdatasync had not returned).
//
// Life of the files:
// - create: the first segment is built in <wal>.tmp (zero-filled, header records written, fsynced), the directory is
//   fsynced, renamed to <wal>, and the parent directory fsynced. A crash at any point leaves either no WAL or a whole
//   one.
// - append: records are encoded into one buffer per turn; flush writes it with one write and, when asked, one
//   fdatasync (group commit). Entries whose index is not past the last one overwrite the tail logically: the new
//   records are appended and boot replays them over the old ones, as raft expects ("the log as last written").
// - rotate: when the next record would cross the segment size, the current segment is written, trimmed to its used
//   length and fsynced; the next segment (already zero-filled by background steps) gets its header records (segment
//   header, metadata, latest hard state and snapshot marker, so any segment can open a log on its own), is
//   fdatasynced, renamed from .tmp to its final name, and the directory fsynced. Only then do appends continue in it.
//   So every segment but the last is complete and exactly sized: damage in it is never mistaken for a crash.
// - release: segments whose entries all lie below (snapshot index - catch-up margin) are unlinked, oldest first.
//
// Why preallocate with real zeros rather than a sparse file: overwriting already-allocated blocks makes fdatasync
// cheaper (measured on the development machine: ~0.15 ms instead of ~0.24 ms median), and zeros after the last record
// are what tells the end of the log apart from damage.
import { performance } from 'node:perf_hooks';
import * as path from 'node:path';
import type { Disk } from '../../runtime/disk.js';
import type { Logger } from '../../runtime/log.js';
import { emptyHardState, type Entry, type HardState } from '../raft/core/types.js';
import { assert } from '../../runtime/assert.js';
import { FieldDecodeError } from './bytes.js';
import { WalCorruptError, WalEntriesUnavailableError, WalNotFoundError, WalUsageError } from './errors.js';
import { walLimits } from './limits.js';
import {
  decodeEntry,
  decodeHardState,
  decodeMetadata,
  decodeSegmentHeader,
  decodeSnapshotMarker,
  ByteArena,
  RecordBuffer,
  recordBytes,
  entryPayloadHeaderBytes,
  snapshotMarkerPayloadBytes,
  RecordType,
  scanRecords,
  type WalMetadata,
  type WalSnapshotMarker,
} from './record.js';
import {
  isTemporaryFileName,
  judgeTail,
  parseSegmentFileName,
  preparedFileName,
  segmentFileName,
  trailingZeroStart,
} from './segment.js';

export type { WalMetadata, WalSnapshotMarker } from './record.js';

export interface WalOptions {
  /** The WAL directory, normally walDir(dataDir) = <data-dir>/member/wal. */
  dir: string;
  disk: Disk;
  log: Logger;
  /** Nominal segment size; default walLimits.segmentBytesDefault (64 MiB). */
  segmentBytes?: number;
  /** Monotonic milliseconds, for fsync latency figures; default performance.now. */
  now?: () => number;
  /** How the next segment is preallocated: written with zeros (default; cheaper fdatasyncs later) or only sized
   * (sparse; cheaper to prepare, for tests and filesystems where zero-filling does not pay). */
  preallocation?: 'zeros' | 'sparse';
}

export interface WalBootOptions {
  /** Return the entries after this snapshot marker instead of after the newest one (when the newest snapshot file
   * turned out damaged and the member falls back to an older one). */
  from?: { term: number; index: number };
}

/** What boot found: everything raft needs to start from the log. */
export interface WalBootState {
  metadata: WalMetadata;
  hardState: HardState;
  /** The newest snapshot marker (or the one asked for with `from`); undefined when none was ever written. */
  snapshot: WalSnapshotMarker | undefined;
  /** Entries after the snapshot marker (all entries when there is none), contiguous, as last written. */
  entries: Entry[];
  /** Every snapshot marker still in the log, oldest first: the snapshot files the log can continue from. */
  markers: Array<{ term: number; index: number }>;
  /** Bytes of a torn record cut off the end of the log (0 when it ended cleanly). */
  tornBytesRepaired: number;
}

export interface WalStats {
  segments: number;
  /** Bytes holding records, over all segments (preallocated space not counted). */
  bytes: number;
  /** Index of the last entry appended (as last written, after any overwrite). */
  lastIndex: number;
  /** Last index covered by a completed fdatasync. */
  durableIndex: number;
  appends: number;
  entries: number;
  writes: number;
  bytesWritten: number;
  fsyncs: number;
  fsyncSecondsTotal: number;
  /** Over the most recent fsyncs (walLimits.syncLatencySamples). */
  fsyncMsP50: number;
  fsyncMsP99: number;
  /** Cumulative counts per upper bound of walLimits.syncHistogramBoundsSeconds (a Prometheus histogram). */
  fsyncHistogram: { boundsSeconds: readonly number[]; counts: number[] };
  rotations: number;
  /** Rotations that had to finish preparing the next segment on the append path. */
  preparationStalls: number;
  segmentsReleased: number;
  tornBytesRepaired: number;
}

interface SegmentFile {
  sequence: number;
  firstIndex: number;
  name: string;
  path: string;
  /** Bytes holding records (for the current segment: up to the write position). */
  usedBytes: number;
}

interface PreparedSegment {
  sequence: number;
  path: string;
  fd: number;
  zeroedBytes: number;
  ready: boolean;
  /** A background step's sync is running on the descriptor. */
  syncing: boolean;
  /** Closed (discarded or the WAL closed) while a background sync still used it: close once that ends. */
  closeWhenSynced: boolean;
}

export function walDir(dataDir: string): string {
  return path.join(dataDir, 'member', 'wal');
}

function usage(condition: unknown, message: string): asserts condition {
  if (!condition) throw new WalUsageError(message);
}

/** Replays records in log order into the state boot returns. */
class Replay {
  metadata: WalMetadata | undefined;
  hardState: HardState = emptyHardState;
  marker: WalSnapshotMarker | undefined;
  readonly markers: WalSnapshotMarker[] = [];
  entries: Entry[] = [];
  /** Index of the last entry of the log as written so far (or the snapshot index after a marker reset the log). */
  lastIndex = 0;
  lastTerm = 0;

  entry(entry: Entry): string | undefined {
    if (entry.index < 1) return `entry index ${entry.index} is not positive`;
    if (entry.index > this.lastIndex + 1) return `entry ${entry.index} leaves a gap after ${this.lastIndex}`;
    if (entry.index <= this.lastIndex) {
      // raft overwrote its uncommitted tail from here: the later record wins
      const first = this.entries[0]?.index ?? entry.index;
      this.entries.length = Math.max(0, entry.index - first);
    }
    this.entries.push(entry);
    this.lastIndex = entry.index;
    this.lastTerm = entry.term;
    return undefined;
  }

  snapshotMarker(marker: WalSnapshotMarker): void {
    // every segment repeats the newest marker in its header records: count each marker once
    const previous = this.markers[this.markers.length - 1];
    if (!previous || previous.index !== marker.index || previous.term !== marker.term) this.markers.push(marker);
    this.marker = marker;
    if (marker.index > this.lastIndex || marker.installed) {
      // a snapshot installed from the leader (or one past the end of the log) restarts the log after it
      this.entries = [];
      this.lastIndex = marker.index;
      this.lastTerm = marker.term;
    }
  }
}

export class Wal {
  readonly dir: string;
  private readonly disk: Disk;
  private readonly log: Logger;
  private readonly segmentBytes: number;
  private readonly now: () => number;
  private readonly preallocation: 'zeros' | 'sparse';

  private segments: SegmentFile[];
  /** Descriptor of the last segment, where appends go. */
  private fd: number;
  /** Where the next write lands in the last segment (end of the written records). */
  private writeOffset: number;
  /** End of the last segment's header records: a segment is cut only once it holds more than these. */
  private headerEndOffset: number;
  private readonly pending: RecordBuffer;
  /** Checksum the pending buffer continues from (undefined when it opens with a segment header). */
  private pendingSeed: number | undefined;
  private pendingRecords = 0;
  private unsynced = false;
  /** A background sync failed: the WAL refuses all further work (a retried fdatasync can report success for data the
   * kernel already dropped). */
  private syncFailure: Error | undefined;
  private prepared: PreparedSegment | undefined;
  /** The prepared segment the last segment was made from (a background step's sync may still use its descriptor). */
  private liveFromPrepared: PreparedSegment | undefined;
  private closed = false;

  private metadata: WalMetadata;
  private hardState: HardState;
  private marker: WalSnapshotMarker | undefined;
  private lastIndexValue: number;
  private lastTerm: number;
  private writtenIndex: number;
  private durableIndexValue: number;

  private readonly counters = {
    appends: 0,
    entries: 0,
    writes: 0,
    bytesWritten: 0,
    fsyncs: 0,
    fsyncSecondsTotal: 0,
    rotations: 0,
    preparationStalls: 0,
    segmentsReleased: 0,
    tornBytesRepaired: 0,
  };
  private readonly syncSamplesMs: number[] = [];
  private syncSampleNext = 0;
  private readonly syncBuckets: number[] = walLimits.syncHistogramBoundsSeconds.map(() => 0);

  private constructor(
    options: WalOptions,
    state: {
      segments: SegmentFile[];
      fd: number;
      writeOffset: number;
      headerEndOffset: number;
      crc: number;
      metadata: WalMetadata;
      hardState: HardState;
      marker: WalSnapshotMarker | undefined;
      lastIndex: number;
      lastTerm: number;
    },
  ) {
    this.dir = options.dir;
    this.disk = options.disk;
    this.log = options.log;
    this.segmentBytes = options.segmentBytes ?? walLimits.segmentBytesDefault;
    this.now = options.now ?? (() => performance.now());
    this.preallocation = options.preallocation ?? 'zeros';
    this.segments = state.segments;
    this.fd = state.fd;
    this.writeOffset = state.writeOffset;
    this.headerEndOffset = state.headerEndOffset;
    this.pending = new RecordBuffer(state.crc);
    this.pendingSeed = state.crc;
    this.metadata = state.metadata;
    this.hardState = state.hardState;
    this.marker = state.marker;
    this.lastIndexValue = state.lastIndex;
    this.lastTerm = state.lastTerm;
    this.writtenIndex = state.lastIndex;
    this.durableIndexValue = state.lastIndex;
  }

  // ---- opening ----

  /** True when `dir` holds a WAL (at least one segment). */
  /**
   * The member and cluster IDs of an existing WAL, read from the header records of its newest segment only (every
   * segment repeats them), so a member can learn who it is before its actors start. Undefined when there is no WAL.
   */
  static readMetadata(disk: Disk, dir: string): WalMetadata | undefined {
    if (!Wal.exists(disk, dir)) return undefined;
    const names = disk.readdir(dir).filter((name) => parseSegmentFileName(name));
    const newest = names.map((name) => ({ name, ...parseSegmentFileName(name)! })).sort((a, b) => b.sequence - a.sequence)[0];
    if (!newest) return undefined;
    const file = path.join(dir, newest.name);
    const size = Math.min(disk.size(file), 1024 * 1024);
    const buffer = new Uint8Array(size);
    readWhole(disk, file, buffer, size);
    let metadata: WalMetadata | undefined;
    scanRecords(buffer, size, undefined, (type, start, end) => {
      if (type === RecordType.Metadata && metadata === undefined) metadata = decodeMetadata(buffer, start, end);
    });
    if (!metadata) throw new WalCorruptError(newest.name, 0, 'no metadata record among the segment header records');
    return metadata;
  }

  static exists(disk: Disk, dir: string): boolean {
    return disk.exists(dir) && disk.readdir(dir).some((name) => parseSegmentFileName(name) !== undefined);
  }

  /** Opens the WAL in options.dir, creating it with `metadata` when there is none. */
  static openOrCreate(options: WalOptions, metadata: WalMetadata, bootOptions: WalBootOptions = {}): { wal: Wal; state: WalBootState; created: boolean } {
    if (Wal.exists(options.disk, options.dir)) return { ...Wal.open(options, bootOptions), created: false };
    Wal.create(options, metadata);
    return { ...Wal.open(options, bootOptions), created: true };
  }

  /**
   * Creates a new WAL: the first segment is built and synced in a temporary directory that is then renamed into
   * place, so a crash leaves either no WAL or a complete one.
   */
  static create(options: WalOptions, metadata: WalMetadata): void {
    const { disk, dir } = options;
    const segmentBytes = options.segmentBytes ?? walLimits.segmentBytesDefault;
    checkSegmentBytes(segmentBytes);
    usage(!Wal.exists(disk, dir), `a wal already exists in ${dir}`);
    checkMetadata(metadata);
    const parent = path.dirname(dir);
    disk.mkdirp(parent);
    const temporary = `${dir}.tmp`;
    disk.rmrf(temporary);
    disk.mkdirp(temporary);
    const firstIndex = 1;
    const fd = disk.open(path.join(temporary, segmentFileName(0, firstIndex)), 'truncate');
    try {
      if (options.preallocation === 'sparse') disk.preallocate(fd, segmentBytes);
      else zeroFill(disk, fd, 0, segmentBytes);
      const header = new RecordBuffer(0, 4096);
      header.segmentHeader({ sequence: 0, firstIndex, prevCrc: 0 });
      header.metadata(metadata);
      disk.write(fd, header.encoded(), 0);
      disk.fsync(fd);
    } finally {
      disk.close(fd);
    }
    disk.fsyncDir(temporary);
    // an empty directory left by an earlier attempt would block the rename
    if (disk.exists(dir)) disk.rmrf(dir);
    disk.rename(temporary, dir);
    disk.fsyncDir(parent);
    disk.fsyncDir(path.dirname(parent));
    options.log.info('created wal', { dir, memberId: metadata.memberId, clusterId: metadata.clusterId, segmentBytes });
  }

  /**
   * Reads every segment, verifies every record and returns the log's state. A torn record at the very end of the last
   * segment is cut off (with a warning); any other damage throws WalCorruptError naming the file and byte offset.
   */
  static open(options: WalOptions, bootOptions: WalBootOptions = {}): { wal: Wal; state: WalBootState } {
    const { disk, dir, log } = options;
    const segmentBytes = options.segmentBytes ?? walLimits.segmentBytesDefault;
    checkSegmentBytes(segmentBytes);
    if (!disk.exists(dir)) throw new WalNotFoundError(dir);
    const names = disk.readdir(dir);
    let removedTemporary = false;
    for (const name of names) {
      if (!isTemporaryFileName(name)) continue;
      disk.unlink(path.join(dir, name));
      removedTemporary = true;
    }
    if (removedTemporary) disk.fsyncDir(dir);
    const segments: SegmentFile[] = [];
    for (const name of names) {
      const parsed = parseSegmentFileName(name);
      if (parsed) segments.push({ ...parsed, name, path: path.join(dir, name), usedBytes: 0 });
    }
    if (segments.length === 0) throw new WalNotFoundError(dir);
    segments.sort((a, b) => a.sequence - b.sequence);
    for (let i = 1; i < segments.length; i++) {
      const expected = segments[0]!.sequence + i;
      if (segments[i]!.sequence !== expected) throw new WalCorruptError(segments[i]!.name, 0, `segment with sequence ${expected} is missing before it`);
    }

    const replay = new Replay();
    replay.lastIndex = segments[0]!.firstIndex - 1;
    const arena = new ByteArena();
    let buffer = new Uint8Array(0);
    let previousCrc: number | undefined;
    let tail = { endOffset: 0, crc: 0, headerEndOffset: 0, tornFrom: 0, tornTo: 0 };
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i]!;
      const isLast = i === segments.length - 1;
      const size = disk.size(segment.path);
      // one buffer for all segments: records are copied out of it as they are decoded
      if (buffer.length < size) buffer = new Uint8Array(size);
      readWhole(disk, segment.path, buffer, size);
      const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
      let headerEndOffset = 0;
      let inHeader = true;
      const result = scanRecords(buffer, size, undefined, (type, start, end, offset) => {
        try {
          if (inHeader && type !== RecordType.SegmentHeader && type !== RecordType.Metadata && type !== RecordType.HardState && type !== RecordType.SnapshotMarker) inHeader = false;
          if (inHeader) headerEndOffset = offset + recordBytes(end - start);
          switch (type) {
            case RecordType.SegmentHeader: {
              const header = decodeSegmentHeader(buffer, view, start, end);
              if (header.sequence !== segment.sequence || header.firstIndex !== segment.firstIndex) {
                throw new FieldDecodeError(`segment header says sequence ${header.sequence}, first index ${header.firstIndex}, unlike the file name`);
              }
              if (previousCrc !== undefined && header.prevCrc !== previousCrc) throw new FieldDecodeError('segment does not continue the checksum chain of the segment before it');
              return;
            }
            case RecordType.Metadata: {
              const metadata = decodeMetadata(buffer, start, end);
              if (replay.metadata === undefined) replay.metadata = metadata;
              else if (!sameMetadata(replay.metadata, metadata)) throw new FieldDecodeError('metadata differs from the metadata earlier in the log');
              return;
            }
            case RecordType.Entry: {
              const problem = replay.entry(decodeEntry(buffer, view, start, end, arena.copy));
              if (problem) throw new FieldDecodeError(problem);
              return;
            }
            case RecordType.HardState:
              replay.hardState = decodeHardState(buffer, view, start, end);
              return;
            case RecordType.SnapshotMarker:
              replay.snapshotMarker(decodeSnapshotMarker(buffer, start, end));
              return;
          }
        } catch (error) {
          if (error instanceof FieldDecodeError) throw new WalCorruptError(segment.name, offset, error.message);
          throw error;
        }
      });
      if (result.records === 0 || result.stop?.offset === 0) {
        throw new WalCorruptError(segment.name, 0, result.stop?.reason ?? 'segment holds no records');
      }
      let tornFrom = 0;
      let tornTo = 0;
      if (result.stop !== undefined) {
        if (!isLast) throw new WalCorruptError(segment.name, result.stop.offset, result.stop.reason);
        const zeroStart = trailingZeroStart(buffer, size, result.stop.offset);
        const verdict = judgeTail(result.stop, zeroStart);
        if (verdict === 'damaged') throw new WalCorruptError(segment.name, result.stop.offset, result.stop.reason);
        if (verdict === 'torn') {
          tornFrom = result.stop.offset;
          tornTo = zeroStart;
        }
      }
      segment.usedBytes = result.endOffset;
      previousCrc = result.lastCrc;
      tail = { endOffset: result.endOffset, crc: result.lastCrc, headerEndOffset, tornFrom, tornTo };
    }
    const metadata = replay.metadata;
    assert(metadata !== undefined, 'every segment opens with metadata');
    const state = bootState(replay, metadata, segments[0]!, bootOptions);

    const last = segments[segments.length - 1]!;
    const fd = disk.open(last.path, 'rw');
    try {
      if (tail.tornTo > tail.tornFrom) {
        // cut the torn record: zero its bytes so the space reads as never written again
        zeroFill(disk, fd, tail.tornFrom, tail.tornTo);
      }
      // What boot read may have been only in the page cache (the process died before its fdatasync). Raft is about
      // to act on it (vote, acknowledge entries), so make it durable first, names included.
      disk.fdatasync(fd);
      disk.fsyncDir(dir);
      if (tail.tornTo > tail.tornFrom) {
        log.warn('cut a torn record off the end of the wal (a crash interrupted its write; it was never acknowledged)', {
          file: last.name,
          offset: tail.tornFrom,
          bytes: tail.tornTo - tail.tornFrom,
        });
      }
    } catch (error) {
      disk.close(fd);
      throw error;
    }
    const wal = new Wal(options, {
      segments,
      fd,
      writeOffset: tail.endOffset,
      headerEndOffset: tail.headerEndOffset,
      crc: tail.crc,
      metadata,
      hardState: replay.hardState,
      marker: replay.marker,
      lastIndex: replay.lastIndex,
      lastTerm: replay.lastTerm,
    });
    wal.counters.tornBytesRepaired = tail.tornTo - tail.tornFrom;
    state.tornBytesRepaired = tail.tornTo - tail.tornFrom;
    log.info('opened wal', {
      dir,
      segments: segments.length,
      lastIndex: replay.lastIndex,
      entries: state.entries.length,
      snapshotIndex: state.snapshot?.index ?? 0,
    });
    return { wal, state };
  }

  // ---- appending ----

  get lastIndex(): number {
    return this.lastIndexValue;
  }

  /** Last index covered by a completed fdatasync. */
  get durableIndex(): number {
    return this.durableIndexValue;
  }

  /** Bytes handed to write() since the WAL was opened (records and segment headers). */
  get bytesWritten(): number {
    return this.counters.bytesWritten;
  }

  /** True when records were appended and not yet written, or written and not yet synced. */
  get dirty(): boolean {
    return this.pending.length > 0 || this.unsynced;
  }

  /**
   * Appends entries (and the hard state after them) to the pending batch. Entries must be contiguous; the first may
   * start at or below the last index (overwriting the uncommitted tail from there) but not past last index + 1, and
   * never at or below the committed index. The whole call is checked before anything is encoded: a refused append
   * (WalUsageError) leaves the WAL as it was.
   */
  append(entries: readonly Entry[], hardState?: HardState): void {
    this.checkOpen();
    if (entries.length > 0) this.checkEntries(entries);
    if (hardState) this.checkHardState(hardState);
    for (const entry of entries) {
      this.beforeRecord(entryPayloadHeaderBytes + entry.data.length);
      this.pending.entry(entry);
      this.pendingRecords++;
      // per entry, so a segment cut in the middle of the batch is named after the right index
      this.lastIndexValue = entry.index;
      this.lastTerm = entry.term;
    }
    this.counters.entries += entries.length;
    if (hardState) {
      this.beforeRecord(17 + hardState.vote.length);
      this.pending.hardState(hardState);
      this.pendingRecords++;
      this.hardState = { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
    }
    this.counters.appends++;
    if (this.pending.length >= walLimits.pendingBytesMax) this.writePending();
  }

  // checkEntries and checkHardState run on every append: each message is built only when its check fails.
  private checkEntries(entries: readonly Entry[]): void {
    const first = entries[0]!;
    if (!(Number.isSafeInteger(first.index) && first.index >= 1)) throw new WalUsageError(`entry index ${first.index} is not a positive integer`);
    if (first.index > this.lastIndexValue + 1) throw new WalUsageError(`entry ${first.index} would leave a gap after the last index ${this.lastIndexValue}`);
    if (first.index <= this.lastIndexValue) {
      if (first.index <= this.hardState.commit) throw new WalUsageError(`entry ${first.index} would overwrite a committed entry (commit ${this.hardState.commit})`);
      if (this.marker && first.index <= this.marker.index) throw new WalUsageError(`entry ${first.index} would overwrite the snapshot at ${this.marker.index}`);
    } else if (first.term < this.lastTerm) throw new WalUsageError(`entry ${first.index} has term ${first.term}, below the last term ${this.lastTerm}`);
    const dataBytesMax = walLimits.recordPayloadBytesMax - entryPayloadHeaderBytes;
    let previousTerm = first.term;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.index !== first.index + i) throw new WalUsageError(`entries are not contiguous at position ${i}`);
      if (!(Number.isSafeInteger(entry.term) && entry.term >= 0)) throw new WalUsageError(`entry ${entry.index} has an invalid term ${entry.term}`);
      if (entry.term < previousTerm) throw new WalUsageError(`entry ${entry.index} has a lower term than the entry before it`);
      if (entry.type !== 0 && entry.type !== 1) throw new WalUsageError(`entry ${entry.index} has an unknown type ${entry.type}`);
      if (entry.data.length > dataBytesMax) throw new WalUsageError(`entry ${entry.index} of ${entry.data.length} bytes is over the record limit`);
      previousTerm = entry.term;
    }
  }

  private checkHardState(state: HardState): void {
    if (!(Number.isSafeInteger(state.term) && Number.isSafeInteger(state.commit) && state.commit >= 0)) throw new WalUsageError(`hard state ${JSON.stringify(state)} is not valid`);
    if (state.term < this.hardState.term) throw new WalUsageError(`hard state term ${state.term} is below the last one (${this.hardState.term})`);
    if (state.commit < this.hardState.commit) throw new WalUsageError(`hard state commit ${state.commit} is below the last one (${this.hardState.commit})`);
    if (!(state.vote.length <= 255 && /^[\x20-\x7e]*$/.test(state.vote))) throw new WalUsageError(`hard state vote ${JSON.stringify(state.vote)} is not a short ASCII id`);
  }

  /** Records that raft saved a snapshot file at (term, index). Needs a sync (flush(true)) like any durable change. */
  snapshotMarker(marker: WalSnapshotMarker): void {
    this.checkOpen();
    usage(Number.isSafeInteger(marker.index) && marker.index >= 0, `snapshot index ${marker.index} is not valid`);
    if (this.marker) usage(marker.index >= this.marker.index, `snapshot marker ${marker.index} is older than the last one (${this.marker.index})`);
    this.beforeRecord(snapshotMarkerPayloadBytes(marker));
    this.pending.snapshotMarker(marker);
    this.pendingRecords++;
    this.marker = { term: marker.term, index: marker.index, confState: marker.confState };
    if (marker.index > this.lastIndexValue || marker.installed) {
      this.lastIndexValue = marker.index;
      this.lastTerm = marker.term;
    }
  }

  /**
   * Writes the pending records with one write and, when `sync`, makes everything written so far durable with one
   * fdatasync. Returns the last index now on disk.
   */
  flush(sync: boolean): number {
    this.checkOpen();
    this.writePending();
    if (sync && this.unsynced) this.syncFile();
    return this.lastIndexValue;
  }

  /** Before a record of `payloadBytes` is encoded: cut to a new segment when it would cross the segment size. */
  private beforeRecord(payloadBytes: number): void {
    const end = this.writeOffset + this.pending.length + recordBytes(payloadBytes);
    if (end > this.segmentBytes && this.writeOffset + this.pending.length > this.headerEndOffset) this.rotate();
  }

  private writePending(): void {
    const length = this.pending.length;
    if (length === 0) return;
    const bytes = this.pending.encoded();
    // check the batch's framing before it reaches the disk: every header whole and sane, padding intact, the count
    // and the last checksum what the encoder produced (payload checksums are recomputed on every read instead)
    const check = scanRecords(bytes, length, this.pendingSeed, undefined, false);
    assert(check.stop === undefined && check.records === this.pendingRecords && check.lastCrc === this.pending.crc, `wal batch failed its own check: ${check.stop?.reason ?? 'record count or checksum differs'}`);
    this.disk.write(this.fd, bytes, this.writeOffset);
    this.writeOffset += length;
    this.segments[this.segments.length - 1]!.usedBytes = this.writeOffset;
    this.counters.writes++;
    this.counters.bytesWritten += length;
    this.unsynced = true;
    this.writtenIndex = this.lastIndexValue;
    this.pending.reset(this.pending.crc);
    this.pendingSeed = this.pending.crc;
    this.pendingRecords = 0;
  }

  private syncFile(): void {
    const started = this.now();
    this.disk.fdatasync(this.fd);
    this.recordSync(this.now() - started);
    this.unsynced = false;
    this.durableIndexValue = this.writtenIndex;
  }

  private recordSync(elapsedMs: number): void {
    this.counters.fsyncs++;
    this.counters.fsyncSecondsTotal += elapsedMs / 1000;
    if (this.syncSamplesMs.length < walLimits.syncLatencySamples) this.syncSamplesMs.push(elapsedMs);
    else this.syncSamplesMs[this.syncSampleNext] = elapsedMs;
    this.syncSampleNext = (this.syncSampleNext + 1) % walLimits.syncLatencySamples;
    const bounds = walLimits.syncHistogramBoundsSeconds;
    for (let i = 0; i < bounds.length; i++) if (elapsedMs / 1000 <= bounds[i]!) this.syncBuckets[i]!++;
  }

  // ---- segments ----

  /**
   * Under load, one preparation step is due per this many bytes appended: half a segment's worth of appends prepares
   * the whole next segment, so it is ready when the current one is half full, and the zero-filling is spread evenly
   * between append turns instead of bunching up (256 KiB for 64 MiB segments).
   */
  get preparationPaceBytes(): number {
    const steps = this.preallocation === 'sparse' ? 1 : Math.ceil(this.segmentBytes / walLimits.preparationChunkBytes);
    return Math.max(1, Math.floor(this.segmentBytes / 2 / (steps + 1)));
  }

  /** True while the next segment is not yet fully preallocated. */
  get needsPreparation(): boolean {
    return !this.closed && (this.prepared === undefined || !this.prepared.ready);
  }

  /** True while a background preparation step's sync runs. */
  get preparing(): boolean {
    return this.prepared?.syncing === true;
  }

  /**
   * One step of preparing the next segment without holding up appends: the step's zeros are written on the calling
   * thread (into the page cache, quick) and their sync runs on the disk's thread pool, so the thread goes back to
   * appending while the disk works. Returns true when a sync started; `done` runs once it ends (an error is final:
   * the WAL refuses all further work). Returns false when the step finished at once (creating the file, or sizing a
   * sparse one) or there was nothing to do (ready, or a step's sync still running); `done` is not called then.
   */
  prepareStepInBackground(done: (error: Error | null) => void): boolean {
    this.checkOpen();
    const prepared = this.prepared;
    if (prepared === undefined || this.preallocation === 'sparse') {
      this.prepareStep();
      return false;
    }
    if (prepared.ready || prepared.syncing) return false;
    const end = Math.min(this.segmentBytes, prepared.zeroedBytes + walLimits.preparationChunkBytes);
    zeroFill(this.disk, prepared.fd, prepared.zeroedBytes, end);
    prepared.zeroedBytes = end;
    const last = end === this.segmentBytes;
    prepared.syncing = true;
    // the last step syncs the file's size too (metadata): a full fsync makes the preallocation itself durable
    this.disk.syncInBackground(prepared.fd, last, (error) => {
      prepared.syncing = false;
      if (prepared.closeWhenSynced) this.disk.close(prepared.fd);
      if (error) this.syncFailure = error;
      else if (last) prepared.ready = true;
      done(error);
    });
    return true;
  }

  /** Closes the last segment's descriptor: through closePrepared when it was a prepared segment (a background step's
   * sync may still use it). */
  private closeLiveFile(): void {
    if (this.liveFromPrepared !== undefined) this.closePrepared(this.liveFromPrepared);
    else this.disk.close(this.fd);
    this.liveFromPrepared = undefined;
  }

  /** Closes the prepared segment's descriptor now, or once a background step's sync has ended. */
  private closePrepared(prepared: PreparedSegment): void {
    if (prepared.syncing) prepared.closeWhenSynced = true;
    else this.disk.close(prepared.fd);
  }

  /**
   * One step of preparing the next segment: creates it, or zero-fills and fdatasyncs one more chunk of it. Meant for
   * background turns between appends. Returns true while more steps remain.
   */
  prepareStep(): boolean {
    if (this.closed) return false;
    if (this.prepared === undefined) {
      const sequence = this.segments[this.segments.length - 1]!.sequence + 1;
      const file = path.join(this.dir, preparedFileName(sequence));
      this.prepared = { sequence, path: file, fd: this.disk.open(file, 'truncate'), zeroedBytes: 0, ready: false, syncing: false, closeWhenSynced: false };
      return true;
    }
    const prepared = this.prepared;
    if (prepared.ready) return false;
    let end = this.segmentBytes;
    if (this.preallocation === 'sparse') {
      this.disk.preallocate(prepared.fd, end);
    } else {
      end = Math.min(this.segmentBytes, prepared.zeroedBytes + walLimits.preparationChunkBytes);
      zeroFill(this.disk, prepared.fd, prepared.zeroedBytes, end);
      this.disk.fdatasync(prepared.fd);
    }
    prepared.zeroedBytes = end;
    if (end === this.segmentBytes) {
      // the file's size is metadata: a full fsync makes the preallocation itself durable
      this.disk.fsync(prepared.fd);
      prepared.ready = true;
    }
    return !prepared.ready;
  }

  private rotate(): void {
    const current = this.segments[this.segments.length - 1]!;
    // 1. finish the current segment: everything written, trimmed to its records, fsynced (size and data)
    this.writePending();
    this.disk.truncate(this.fd, this.writeOffset);
    const started = this.now();
    this.disk.fsync(this.fd);
    this.recordSync(this.now() - started);
    this.unsynced = false;
    this.durableIndexValue = this.writtenIndex;
    this.closeLiveFile();

    // 2. the next segment: preallocated in the background, or now if the background steps fell behind
    if (this.prepared === undefined || !this.prepared.ready || this.prepared.sequence !== current.sequence + 1) {
      this.counters.preparationStalls++;
      this.log.info('wal segment preparation fell behind the appends; finishing it on the append path', { sequence: current.sequence + 1 });
      if (this.prepared && this.prepared.sequence !== current.sequence + 1) this.discardPrepared();
      while (this.prepareStep()) {
        // zero-fill the rest now
      }
    }
    const prepared = this.prepared!;
    this.prepared = undefined;
    this.liveFromPrepared = prepared;

    // 3. its header records, synced before the file gets its real name: a segment in place always opens validly
    const firstIndex = this.lastIndexValue + 1;
    const header = new RecordBuffer(0, 4096);
    header.segmentHeader({ sequence: prepared.sequence, firstIndex, prevCrc: this.pending.crc });
    header.metadata(this.metadata);
    if (this.hardState !== emptyHardState) header.hardState(this.hardState);
    if (this.marker) header.snapshotMarker(this.marker);
    const headerBytes = header.encoded();
    const check = scanRecords(headerBytes, header.length, undefined);
    assert(check.stop === undefined && check.lastCrc === header.crc, 'segment header records failed their own check');
    this.disk.write(prepared.fd, headerBytes, 0);
    this.disk.fdatasync(prepared.fd);
    const name = segmentFileName(prepared.sequence, firstIndex);
    const file = path.join(this.dir, name);
    this.disk.rename(prepared.path, file);
    this.disk.fsyncDir(this.dir);

    this.segments.push({ sequence: prepared.sequence, firstIndex, name, path: file, usedBytes: header.length });
    this.fd = prepared.fd;
    this.writeOffset = header.length;
    this.headerEndOffset = header.length;
    this.pending.reset(header.crc);
    this.pendingSeed = header.crc;
    this.counters.rotations++;
    this.counters.bytesWritten += header.length;
    this.counters.writes++;
    this.log.debug('cut wal segment', { file: name, firstIndex });
  }

  private discardPrepared(): void {
    const prepared = this.prepared;
    if (!prepared) return;
    this.prepared = undefined;
    this.closePrepared(prepared);
    this.disk.unlink(prepared.path);
  }

  /**
   * Releases segments whose entries all lie below `index` minus the catch-up margin. `index` must not be past the
   * newest snapshot marker (raft calls this after saving a snapshot). Returns the number of segments removed.
   */
  release(index: number): number {
    this.checkOpen();
    usage(this.marker !== undefined && index <= this.marker.index, `release at ${index} is past the newest snapshot (${this.marker?.index ?? 'none'})`);
    const below = index - walLimits.releaseCatchUpEntries;
    let released = 0;
    // segment k holds no entry at or above segment k+1's first index, so it goes when that index is <= below
    while (this.segments.length > 1 && this.segments[1]!.firstIndex <= below) {
      const segment = this.segments.shift()!;
      this.disk.unlink(segment.path);
      released++;
    }
    if (released > 0) {
      this.disk.fsyncDir(this.dir);
      this.counters.segmentsReleased += released;
      this.log.info('released wal segments', { released, below, oldest: this.segments[0]!.name });
    }
    return released;
  }

  stats(): WalStats {
    const sorted = [...this.syncSamplesMs].sort((a, b) => a - b);
    const pick = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!);
    let bytes = 0;
    for (const s of this.segments) bytes += s.usedBytes;
    return {
      segments: this.segments.length,
      bytes,
      lastIndex: this.lastIndexValue,
      durableIndex: this.durableIndexValue,
      ...this.counters,
      fsyncMsP50: pick(0.5),
      fsyncMsP99: pick(0.99),
      fsyncHistogram: { boundsSeconds: walLimits.syncHistogramBoundsSeconds, counts: [...this.syncBuckets] },
    };
  }

  /** Names of the segment files, oldest first (for tests and tools). */
  segmentNames(): string[] {
    return this.segments.map((s) => s.name);
  }

  /** Writes and syncs anything pending, then closes the files. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush(true);
    } finally {
      this.closed = true;
      this.closeLiveFile();
      if (this.prepared) {
        this.closePrepared(this.prepared);
        this.prepared = undefined;
      }
    }
  }

  private checkOpen(): void {
    if (this.syncFailure) throw this.syncFailure;
    if (this.closed) throw new WalUsageError('the wal is closed');
  }
}

function checkSegmentBytes(segmentBytes: number): void {
  usage(Number.isSafeInteger(segmentBytes) && segmentBytes % 8 === 0, `segment size ${segmentBytes} is not a multiple of 8`);
  usage(segmentBytes >= walLimits.segmentBytesMin, `segment size ${segmentBytes} is below ${walLimits.segmentBytesMin}`);
}

function checkMetadata(metadata: WalMetadata): void {
  usage(/^[0-9a-f]{16}$/.test(metadata.memberId), `member id ${JSON.stringify(metadata.memberId)} is not 16 hex digits`);
  usage(/^[0-9a-f]{16}$/.test(metadata.clusterId), `cluster id ${JSON.stringify(metadata.clusterId)} is not 16 hex digits`);
}

function sameMetadata(a: WalMetadata, b: WalMetadata): boolean {
  if (a.memberId !== b.memberId || a.clusterId !== b.clusterId) return false;
  if (a.extra === undefined || b.extra === undefined) return a.extra === b.extra;
  return Buffer.from(a.extra).equals(b.extra);
}

const zeroChunk = new Uint8Array(walLimits.preparationChunkBytes);

function zeroFill(disk: Disk, fd: number, from: number, to: number): void {
  for (let at = from; at < to; at += zeroChunk.length) {
    const n = Math.min(zeroChunk.length, to - at);
    disk.write(fd, n === zeroChunk.length ? zeroChunk : zeroChunk.subarray(0, n), at);
  }
}

function readWhole(disk: Disk, file: string, into: Uint8Array, size: number): void {
  const fd = disk.open(file, 'r');
  try {
    for (let at = 0; at < size; ) {
      const n = disk.read(fd, into.subarray(at), at, Math.min(walLimits.bootReadBytes, size - at));
      if (n === 0) throw new WalCorruptError(path.basename(file), at, 'file ended while it was being read');
      at += n;
    }
  } finally {
    disk.close(fd);
  }
}

function bootState(replay: Replay, metadata: WalMetadata, oldest: SegmentFile, options: WalBootOptions): WalBootState {
  let base: WalSnapshotMarker | undefined = replay.marker;
  if (options.from !== undefined) {
    const wanted = options.from;
    base = replay.markers.find((m) => m.index === wanted.index && m.term === wanted.term);
    if (!base) throw new WalEntriesUnavailableError(`no snapshot marker at term ${wanted.term}, index ${wanted.index} in the log`);
  }
  let entries = replay.entries;
  if (base !== undefined) {
    const after = base.index;
    const firstKept = entries.findIndex((e) => e.index > after);
    entries = firstKept < 0 ? [] : entries.slice(firstKept);
    if (entries.length > 0 && entries[0]!.index !== after + 1) {
      throw new WalEntriesUnavailableError(`entries after the snapshot at ${after} start at ${entries[0]!.index}; the ones between were released`);
    }
  } else if (entries.length > 0 && entries[0]!.index !== oldest.firstIndex) {
    throw new WalCorruptError(oldest.name, 0, `the log starts at entry ${entries[0]!.index} with no snapshot before it`);
  }
  const markers = replay.markers.map((m) => ({ term: m.term, index: m.index }));
  return { metadata, hardState: replay.hardState, snapshot: base, entries, markers, tornBytesRepaired: 0 };
}
