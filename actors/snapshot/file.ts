// Streaming access to one snapshot file: write it chunk by chunk, read it back chunk by chunk, or receive its raw bytes
// from a peer. None of these ever holds more than a buffer and one chunk in memory, however large the snapshot.
//
// Every new file is written to a temporary name, fsynced, renamed to its final name and the directory fsynced, so a
// crash leaves either the old set of snapshots or the new one, never a half-written file under a real name.
import * as path from 'node:path';
import type { Disk } from '../../runtime/disk.js';
import type { SnapshotMetadata } from '../raft/core/types.js';
import { assert } from '../../runtime/assert.js';
import { FieldDecodeError } from '../wal/bytes.js';
import { crc32c } from '../wal/crc32c.js';
import { SnapshotCorruptError, SnapshotUsageError } from './errors.js';
import {
  checkTrailer,
  decodeHeader,
  decodeHeaderFixed,
  encodeHeader,
  encodeTrailer,
  frameHeadBytes,
  headerFixedBytes,
  parseSnapshotFileName,
  snapshotFileName,
  trailerBytes,
} from './format.js';
import { snapshotLimits } from './limits.js';

export interface SnapshotFileInfo {
  /** File name, <term>-<index>.snap. */
  name: string;
  path: string;
  term: number;
  index: number;
  /** Size of the file. */
  bytes: number;
}

/** What a full read of a snapshot file found. */
export interface VerifiedSnapshot extends SnapshotFileInfo {
  metadata: SnapshotMetadata;
  chunks: number;
  /** Bytes of the state image (the chunks alone). */
  imageBytes: number;
}

let temporarySequence = 0;

/** A temporary name next to the final file; never matches the .snap pattern, removed at the store's next open. */
function temporaryPath(dir: string, stem: string): string {
  temporarySequence = (temporarySequence + 1) % 1_000_000;
  return path.join(dir, `${stem}.${process.pid}.${temporarySequence}.tmp`);
}

/** Appends to a file through a bounded buffer. */
class BufferedFileWriter {
  private readonly buffer = new Uint8Array(snapshotLimits.writeBufferBytes);
  private used = 0;
  /** Bytes handed to the file so far (the file's size once flushed). */
  offset = 0;

  constructor(
    private readonly disk: Disk,
    readonly fd: number,
  ) {}

  write(bytes: Uint8Array): void {
    if (this.used + bytes.length <= this.buffer.length) {
      this.buffer.set(bytes, this.used);
      this.used += bytes.length;
      return;
    }
    this.flush();
    if (bytes.length >= this.buffer.length) {
      this.disk.write(this.fd, bytes, this.offset);
      this.offset += bytes.length;
      return;
    }
    this.buffer.set(bytes, 0);
    this.used = bytes.length;
  }

  flush(): void {
    if (this.used === 0) return;
    this.disk.write(this.fd, this.buffer.subarray(0, this.used), this.offset);
    this.offset += this.used;
    this.used = 0;
  }

  get bytes(): number {
    return this.offset + this.used;
  }
}

/**
 * Writes a new snapshot file from a stream of chunks. Nothing is visible under the final name until commit() has
 * made the file durable.
 */
export class SnapshotWriter {
  readonly metadata: SnapshotMetadata;
  readonly name: string;
  private readonly temporary: string;
  private readonly out: BufferedFileWriter;
  private readonly headerCrc: number;
  private framesCrc = 0;
  private chunkCount = 0;
  private imageBytes = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';
  private readonly head = new Uint8Array(frameHeadBytes);
  private readonly headView = new DataView(this.head.buffer);

  constructor(
    private readonly disk: Disk,
    readonly dir: string,
    metadata: SnapshotMetadata,
  ) {
    assert(Number.isSafeInteger(metadata.term) && metadata.term >= 0 && Number.isSafeInteger(metadata.index) && metadata.index >= 0, 'snapshot term and index must be non-negative integers');
    this.metadata = metadata;
    this.name = snapshotFileName(metadata.term, metadata.index);
    this.temporary = temporaryPath(dir, this.name);
    const header = encodeHeader(metadata);
    this.headerCrc = header.crc;
    this.out = new BufferedFileWriter(disk, disk.open(this.temporary, 'truncate'));
    this.out.write(header.bytes);
  }

  /** Appends one chunk of the state image (1 .. chunkBytesMax bytes). The bytes are copied before this returns. */
  write(chunk: Uint8Array): void {
    if (this.state !== 'open') throw new SnapshotUsageError(`snapshot ${this.name} is already ${this.state}`);
    if (chunk.length === 0 || chunk.length > snapshotLimits.chunkBytesMax) throw new SnapshotUsageError(`a snapshot chunk must hold 1 to ${snapshotLimits.chunkBytesMax} bytes, not ${chunk.length}`);
    this.headView.setUint32(0, chunk.length, true);
    this.headView.setUint32(4, crc32c(0, chunk), true);
    this.framesCrc = crc32c(this.framesCrc, this.head);
    this.out.write(this.head);
    this.out.write(chunk);
    this.chunkCount++;
    this.imageBytes += chunk.length;
  }

  /** Bytes written so far (header and frames). */
  get bytes(): number {
    return this.out.bytes;
  }

  /** Chunks written so far. */
  get chunks(): number {
    return this.chunkCount;
  }

  /** Finishes the file: trailer, fsync, rename into place, directory fsync. */
  commit(): VerifiedSnapshot {
    if (this.state !== 'open') throw new SnapshotUsageError(`snapshot ${this.name} is already ${this.state}`);
    this.state = 'committed';
    const finalPath = path.join(this.dir, this.name);
    try {
      this.out.write(encodeTrailer({ chunks: this.chunkCount, imageBytes: this.imageBytes, framesCrc: this.framesCrc }, this.headerCrc));
      this.out.flush();
      this.disk.fsync(this.out.fd);
    } catch (error) {
      this.discard();
      throw error;
    }
    this.disk.close(this.out.fd);
    this.disk.rename(this.temporary, finalPath);
    this.disk.fsyncDir(this.dir);
    return {
      name: this.name,
      path: finalPath,
      term: this.metadata.term,
      index: this.metadata.index,
      bytes: this.out.offset,
      metadata: this.metadata,
      chunks: this.chunkCount,
      imageBytes: this.imageBytes,
    };
  }

  /** Drops the unfinished file. Safe to call more than once and after a failed commit. */
  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.discard();
  }

  private discard(): void {
    try {
      this.disk.close(this.out.fd);
    } catch {
      // already closed
    }
    if (this.disk.exists(this.temporary)) this.disk.unlink(this.temporary);
  }
}

/** Reads a file sequentially through a bounded buffer, with exact-length reads that fail at the end of the file. */
class BufferedFileReader {
  private buffer = new Uint8Array(snapshotLimits.readBufferBytes);
  private start = 0;
  private end = 0;
  /** File offset of buffer[start]. */
  offset = 0;
  private fileOffset = 0;

  constructor(
    private readonly disk: Disk,
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** The next `n` bytes, or undefined when the file ends first. The view is valid until the next call. */
  take(n: number): Uint8Array | undefined {
    if (this.offset + n > this.size) return undefined;
    if (this.end - this.start < n) {
      if (n > this.buffer.length) {
        // a chunk larger than the buffer: read it whole into its own array
        const out = new Uint8Array(n);
        const buffered = this.end - this.start;
        out.set(this.buffer.subarray(this.start, this.end), 0);
        this.readInto(out, buffered, n - buffered);
        this.start = this.end = 0;
        this.offset += n;
        return out;
      }
      this.buffer.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      const want = Math.min(this.buffer.length - this.end, this.size - this.fileOffset);
      this.readInto(this.buffer, this.end, want);
      this.end += want;
    }
    const at = this.start;
    this.start += n;
    this.offset += n;
    return this.buffer.subarray(at, at + n);
  }

  private readInto(into: Uint8Array, at: number, n: number): void {
    let done = 0;
    while (done < n) {
      const got = this.disk.read(this.fd, into.subarray(at + done), this.fileOffset, n - done);
      if (got === 0) break;
      done += got;
      this.fileOffset += got;
    }
    assert(done === n, 'snapshot file shrank while it was being read');
  }
}

/**
 * Reads a snapshot file chunk by chunk, checking everything as it goes: the header when opened, each chunk's CRC as
 * it is returned, and at the end the trailer, the counts, the chain of frames and that the file ends there. A damaged
 * file throws SnapshotCorruptError with the file and byte offset.
 */
export class SnapshotReader {
  readonly metadata: SnapshotMetadata;
  readonly name: string;
  readonly fileBytes: number;
  private readonly fd: number;
  private readonly input: BufferedFileReader;
  private readonly headerCrc: number;
  private framesCrc = 0;
  private chunksRead = 0;
  private imageBytesRead = 0;
  private finished = false;
  private closed = false;

  private constructor(
    private readonly disk: Disk,
    readonly file: string,
  ) {
    this.name = path.basename(file);
    this.fileBytes = disk.size(file);
    this.fd = disk.open(file, 'r');
    try {
      this.input = new BufferedFileReader(disk, this.fd, this.fileBytes);
      const fixed = this.need(headerFixedBytes, 'the file ends inside the header', 0);
      const metadataBytes = this.decode(0, () => decodeHeaderFixed(fixed));
      const header = new Uint8Array(headerFixedBytes + metadataBytes + 4);
      header.set(fixed, 0);
      header.set(this.need(metadataBytes + 4, 'the file ends inside the header', 0), headerFixedBytes);
      const decoded = this.decode(0, () => decodeHeader(header));
      this.metadata = decoded.metadata;
      this.headerCrc = decoded.crc;
      const named = parseSnapshotFileName(this.name);
      if (named && (named.term !== this.metadata.term || named.index !== this.metadata.index)) {
        throw new SnapshotCorruptError(this.name, 0, `the header says term ${this.metadata.term}, index ${this.metadata.index}, unlike the file name`);
      }
    } catch (error) {
      disk.close(this.fd);
      throw error;
    }
  }

  static open(disk: Disk, file: string): SnapshotReader {
    return new SnapshotReader(disk, file);
  }

  /** The next chunk (a fresh array the caller owns), or undefined once the whole file has been read and verified. */
  next(): Uint8Array | undefined {
    if (this.finished) return undefined;
    assert(!this.closed, 'snapshot reader is closed');
    const frameOffset = this.input.offset;
    const head = this.need(frameHeadBytes, 'the file ends inside a chunk frame (truncated)', frameOffset);
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const length = view.getUint32(0, true);
    if (length === 0) {
      this.finishAt(frameOffset, head);
      return undefined;
    }
    const crc = view.getUint32(4, true);
    if (length > snapshotLimits.chunkBytesMax) throw new SnapshotCorruptError(this.name, frameOffset, `chunk length ${length} is over the limit`);
    this.framesCrc = crc32c(this.framesCrc, head);
    const bytes = this.need(length, 'the file ends inside a chunk (truncated)', frameOffset);
    if (crc32c(0, bytes) !== crc) throw new SnapshotCorruptError(this.name, frameOffset, 'chunk checksum mismatch');
    this.chunksRead++;
    this.imageBytesRead += length;
    return bytes.length > snapshotLimits.readBufferBytes ? bytes : bytes.slice();
  }

  private finishAt(offset: number, head: Uint8Array): void {
    const trailer = new Uint8Array(trailerBytes);
    trailer.set(head, 0);
    trailer.set(this.need(trailerBytes - frameHeadBytes, 'the file ends inside the trailer (truncated)', offset), frameHeadBytes);
    this.decode(offset, () => checkTrailer(trailer, this.headerCrc, { chunks: this.chunksRead, imageBytes: this.imageBytesRead, framesCrc: this.framesCrc }));
    if (this.input.offset !== this.fileBytes) throw new SnapshotCorruptError(this.name, this.input.offset, `${this.fileBytes - this.input.offset} unexpected bytes after the trailer`);
    this.finished = true;
  }

  /** Chunks and image bytes returned so far. */
  get progress(): { chunks: number; imageBytes: number } {
    return { chunks: this.chunksRead, imageBytes: this.imageBytesRead };
  }

  get done(): boolean {
    return this.finished;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.disk.close(this.fd);
  }

  /** The next n bytes; when the file ends first, reports damage at `unitOffset` (the start of the header, frame or
   * trailer being read), where an operator should look. */
  private need(n: number, reason: string, unitOffset: number): Uint8Array {
    const bytes = this.input.take(n);
    if (bytes === undefined) throw new SnapshotCorruptError(this.name, unitOffset, reason);
    return bytes;
  }

  private decode<T>(offset: number, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof FieldDecodeError) throw new SnapshotCorruptError(this.name, offset, error.message);
      throw error;
    }
  }
}

/** Reads a whole snapshot file, checking everything; returns what it holds. Throws SnapshotCorruptError. */
export function verifySnapshotFile(disk: Disk, file: string): VerifiedSnapshot {
  const reader = SnapshotReader.open(disk, file);
  try {
    while (reader.next() !== undefined) {
      // each chunk is checked as it is read; nothing is kept
    }
    return {
      name: reader.name,
      path: file,
      term: reader.metadata.term,
      index: reader.metadata.index,
      bytes: reader.fileBytes,
      metadata: reader.metadata,
      ...reader.progress,
    };
  } finally {
    reader.close();
  }
}

/**
 * Receives a snapshot file's raw bytes (as a peer streams them over HTTP) into a temporary file; finish() makes it
 * durable, verifies the whole file, and only then installs it under its real name. A file that fails verification is
 * removed and the error thrown.
 */
export class IncomingSnapshot {
  private readonly temporary: string;
  private readonly out: BufferedFileWriter;
  private state: 'open' | 'finished' | 'aborted' = 'open';

  constructor(
    private readonly disk: Disk,
    readonly dir: string,
  ) {
    this.temporary = temporaryPath(dir, 'incoming');
    this.out = new BufferedFileWriter(disk, disk.open(this.temporary, 'truncate'));
  }

  write(bytes: Uint8Array): void {
    if (this.state !== 'open') throw new SnapshotUsageError(`incoming snapshot is already ${this.state}`);
    this.out.write(bytes);
  }

  get bytes(): number {
    return this.out.bytes;
  }

  finish(): VerifiedSnapshot {
    if (this.state !== 'open') throw new SnapshotUsageError(`incoming snapshot is already ${this.state}`);
    this.state = 'finished';
    let verified: VerifiedSnapshot;
    try {
      this.out.flush();
      this.disk.fsync(this.out.fd);
      this.disk.close(this.out.fd);
      verified = verifySnapshotFile(this.disk, this.temporary);
    } catch (error) {
      this.discard();
      throw error;
    }
    const name = snapshotFileName(verified.term, verified.index);
    const finalPath = path.join(this.dir, name);
    this.disk.rename(this.temporary, finalPath);
    this.disk.fsyncDir(this.dir);
    return { ...verified, name, path: finalPath };
  }

  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    this.discard();
  }

  private discard(): void {
    try {
      this.disk.close(this.out.fd);
    } catch {
      // already closed
    }
    if (this.disk.exists(this.temporary)) this.disk.unlink(this.temporary);
  }
}
