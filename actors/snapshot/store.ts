// The snapshot files of one member, in <data-dir>/member/snap: listing, creating, loading the newest valid one at boot,
// receiving one from a peer, and pruning old ones. A plain synchronous class: the snapshot actor is a thin shell over
// it, and a pipeline worker can use it (or SnapshotReader and IncomingSnapshot directly) to stream a file over HTTP.
import * as path from 'node:path';
import type { Disk } from '../../runtime/disk.js';
import type { Logger } from '../../runtime/log.js';
import type { SnapshotMetadata } from '../raft/core/types.js';
import { SnapshotCorruptError, SnapshotNotFoundError, SnapshotUsageError } from './errors.js';
import { IncomingSnapshot, SnapshotReader, SnapshotWriter, verifySnapshotFile, type SnapshotFileInfo, type VerifiedSnapshot } from './file.js';
import { parseSnapshotFileName, snapshotFileName } from './format.js';
import { snapshotLimits } from './limits.js';

export interface SnapshotStoreOptions {
  /** The snapshot directory, normally snapDir(dataDir) = <data-dir>/member/snap. */
  dir: string;
  disk: Disk;
  log: Logger;
  /** Snapshot files kept by prune(); default snapshotLimits.keptDefault. */
  keep?: number;
}

export interface DamagedSnapshot {
  /** Where the damaged file was moved (its name with .broken appended), so it is kept for inspection but never loaded. */
  path: string;
  error: string;
}

export interface LoadedSnapshots {
  /** The newest snapshot that verified (and was accepted), or undefined when there is none. */
  newest: VerifiedSnapshot | undefined;
  /** Files skipped because they were damaged, newest first. */
  damaged: DamagedSnapshot[];
}

export function snapDir(dataDir: string): string {
  return path.join(dataDir, 'member', 'snap');
}

export class SnapshotStore {
  readonly dir: string;
  private readonly disk: Disk;
  private readonly log: Logger;
  readonly keep: number;

  /** Creates the directory if needed and removes temporary files left by a crash. */
  constructor(options: SnapshotStoreOptions) {
    this.dir = options.dir;
    this.disk = options.disk;
    this.log = options.log;
    this.keep = options.keep ?? snapshotLimits.keptDefault;
    if (!Number.isInteger(this.keep) || this.keep < 1) throw new SnapshotUsageError(`keep must be a positive integer, not ${this.keep}`);
    if (!this.disk.exists(this.dir)) {
      this.disk.mkdirp(this.dir);
      this.disk.fsyncDir(path.dirname(this.dir));
    }
    let removed = 0;
    for (const name of this.disk.readdir(this.dir)) {
      if (!name.endsWith('.tmp')) continue;
      this.disk.unlink(path.join(this.dir, name));
      removed++;
    }
    if (removed > 0) {
      this.disk.fsyncDir(this.dir);
      this.log.info('removed unfinished snapshot files', { dir: this.dir, removed });
    }
  }

  /** Snapshot files, newest first (by index, then term). Their contents are not checked. */
  list(): SnapshotFileInfo[] {
    const files: SnapshotFileInfo[] = [];
    for (const name of this.disk.readdir(this.dir)) {
      const parsed = parseSnapshotFileName(name);
      if (!parsed) continue;
      const file = path.join(this.dir, name);
      files.push({ name, path: file, term: parsed.term, index: parsed.index, bytes: this.disk.size(file) });
    }
    return files.sort((a, b) => b.index - a.index || b.term - a.term);
  }

  /** Starts a new snapshot file; write its chunks, then commit() (or abort()). */
  create(metadata: SnapshotMetadata): SnapshotWriter {
    return new SnapshotWriter(this.disk, this.dir, metadata);
  }

  /** Starts receiving a snapshot file's raw bytes from a peer; finish() verifies and installs it. */
  receive(): IncomingSnapshot {
    return new IncomingSnapshot(this.disk, this.dir);
  }

  /** The path of the snapshot at (term, index). */
  pathOf(term: number, index: number): string {
    const file = path.join(this.dir, snapshotFileName(term, index));
    if (!this.disk.exists(file)) throw new SnapshotNotFoundError(term, index);
    return file;
  }

  /** Opens the snapshot at (term, index) for streaming its chunks. */
  open(term: number, index: number): SnapshotReader {
    return SnapshotReader.open(this.disk, this.pathOf(term, index));
  }

  /**
   * Finds the newest snapshot that verifies completely (and that `accept` takes, e.g. one the WAL has a marker for).
   * Damaged files on the way are renamed to .broken and reported; they are never loaded and never silently skipped.
   */
  loadNewest(accept: (metadata: SnapshotMetadata) => boolean = () => true): LoadedSnapshots {
    const damaged: DamagedSnapshot[] = [];
    for (const file of this.list()) {
      let verified: VerifiedSnapshot;
      try {
        verified = verifySnapshotFile(this.disk, file.path);
      } catch (error) {
        if (!(error instanceof SnapshotCorruptError)) throw error;
        const broken = `${file.path}.broken`;
        this.disk.rename(file.path, broken);
        this.disk.fsyncDir(this.dir);
        this.log.error('snapshot file is damaged; skipped it and moved it aside', { file: file.name, offset: error.offset, reason: error.reason, movedTo: path.basename(broken) });
        damaged.push({ path: broken, error: error.message });
        continue;
      }
      if (!accept(verified.metadata)) continue;
      return { newest: verified, damaged };
    }
    return { newest: undefined, damaged };
  }

  /** Deletes all but the newest `keep` snapshot files; returns the paths removed. */
  prune(keep = this.keep): string[] {
    if (!Number.isInteger(keep) || keep < 1) throw new SnapshotUsageError(`keep must be a positive integer, not ${keep}`);
    const removed: string[] = [];
    for (const file of this.list().slice(keep)) {
      this.disk.unlink(file.path);
      removed.push(file.path);
    }
    if (removed.length > 0) this.disk.fsyncDir(this.dir);
    return removed;
  }
}
