// Disk access for actors. Actors on worker threads use synchronous calls: blocking their own thread is the cheapest
// way to do ordered I/O, and no other actor waits on it. Tests can substitute an implementation that injects faults.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Disk {
  mkdirp(dir: string): void;
  exists(file: string): boolean;
  readdir(dir: string): string[];
  size(file: string): number;
  /** Opens for reading and writing, creating when asked. Returns a file descriptor. */
  open(file: string, mode: 'r' | 'rw' | 'create' | 'truncate'): number;
  close(fd: number): void;
  /** Writes all of `bytes` at `position`. */
  write(fd: number, bytes: Uint8Array, position: number): void;
  /** Reads up to `length` bytes at `position` into `into` (offset 0); returns how many were read. */
  read(fd: number, into: Uint8Array, position: number, length?: number): number;
  readFile(file: string): Uint8Array;
  fdatasync(fd: number): void;
  fsync(fd: number): void;
  /**
   * fdatasync (or, when `full`, fsync) on libuv's thread pool: the calling thread keeps running while the disk works,
   * and `done` runs on a later turn of its event loop (under the deterministic scheduler: a later scheduled step). The
   * descriptor must stay open until `done` has run.
   */
  syncInBackground(fd: number, full: boolean, done: (error: Error | null) => void): void;
  /** Makes a directory's entries (creates, renames, deletes) durable. */
  fsyncDir(dir: string): void;
  truncate(fd: number, length: number): void;
  /** Reserves `length` bytes for the file so later writes need no metadata update; best effort. */
  preallocate(fd: number, length: number): void;
  rename(from: string, to: string): void;
  unlink(file: string): void;
  rmrf(dir: string): void;
}

export class RealDisk implements Disk {
  mkdirp(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
  }
  exists(file: string): boolean {
    return fs.existsSync(file);
  }
  readdir(dir: string): string[] {
    return fs.readdirSync(dir).sort();
  }
  size(file: string): number {
    return fs.statSync(file).size;
  }
  open(file: string, mode: 'r' | 'rw' | 'create' | 'truncate'): number {
    const flags = { r: 'r', rw: 'r+', create: fs.constants.O_RDWR | fs.constants.O_CREAT, truncate: 'w+' }[mode];
    return fs.openSync(file, flags, 0o600);
  }
  close(fd: number): void {
    fs.closeSync(fd);
  }
  write(fd: number, bytes: Uint8Array, position: number): void {
    let done = 0;
    while (done < bytes.length) {
      done += fs.writeSync(fd, bytes, done, bytes.length - done, position + done);
    }
  }
  read(fd: number, into: Uint8Array, position: number, length = into.length): number {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(fd, into, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }
  readFile(file: string): Uint8Array {
    return fs.readFileSync(file);
  }
  fdatasync(fd: number): void {
    fs.fdatasyncSync(fd);
  }
  fsync(fd: number): void {
    fs.fsyncSync(fd);
  }
  syncInBackground(fd: number, full: boolean, done: (error: Error | null) => void): void {
    if (full) fs.fsync(fd, done);
    else fs.fdatasync(fd, done);
  }
  fsyncDir(dir: string): void {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  truncate(fd: number, length: number): void {
    fs.ftruncateSync(fd, length);
  }
  preallocate(fd: number, length: number): void {
    // Node has no fallocate; extending the file with ftruncate reserves the size (sparse on most filesystems), and the
    // WAL zero-fills ahead of itself where it matters. Only grow, never shrink.
    if (fs.fstatSync(fd).size < length) fs.ftruncateSync(fd, length);
  }
  rename(from: string, to: string): void {
    fs.renameSync(from, to);
  }
  unlink(file: string): void {
    fs.unlinkSync(file);
  }
  rmrf(dir: string): void {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const realDisk = new RealDisk();

/**
 * For the deterministic scheduler: background syncs run at once and report through `defer`, so when they complete is
 * decided by the scheduler's order, not by the thread pool.
 */
export function withDeferredSyncs(disk: Disk, defer: (callback: () => void) => void): Disk {
  return Object.assign(Object.create(disk) as Disk, {
    syncInBackground(fd: number, full: boolean, done: (error: Error | null) => void): void {
      let failure: Error | null = null;
      try {
        if (full) disk.fsync(fd);
        else disk.fdatasync(fd);
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
      defer(() => done(failure));
    },
  });
}

export function join(...parts: string[]): string {
  return path.join(...parts);
}
