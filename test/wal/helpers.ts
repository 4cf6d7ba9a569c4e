// Shared helpers for the WAL tests: temporary directories, a logger that remembers what it said, deterministic entries.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger, type Logger } from '../../runtime/log.js';
import { realDisk } from '../../runtime/disk.js';
import type { Entry } from '../../actors/raft/core/types.js';
import type { WalMetadata, WalOptions } from '../../actors/wal/wal.js';

export function tempDir(prefix = 'tetcd-wal-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

export interface CapturedLog {
  log: Logger;
  lines: Array<{ level: string; msg: string; [key: string]: unknown }>;
}

export function captureLog(name = 'wal'): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  return { log: createLogger(name, 'debug', (line) => lines.push(JSON.parse(line))), lines };
}

export const metadata: WalMetadata = { memberId: '8e9e05c52164694d', clusterId: 'cdf818194e3a8c32' };

export function options(dir: string, extra: Partial<WalOptions> = {}): WalOptions {
  // small segments by default: tests exercise rotation, and a 64 MiB zero-fill per test would only cost time
  return { dir: path.join(dir, 'member', 'wal'), disk: realDisk, log: captureLog().log, segmentBytes: 256 * 1024, ...extra };
}

/** The data of entry (index, term): its length and bytes both depend on both, so a mix-up cannot go unnoticed. */
export function entryData(index: number, term: number, maxBytes = 300): Uint8Array {
  const length = (index * 31 + term * 7) % maxBytes;
  const data = new Uint8Array(length);
  let x = (index * 2654435761 + term * 40503) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

export function entry(index: number, term: number, maxBytes?: number): Entry {
  return { term, index, type: 0, data: entryData(index, term, maxBytes) };
}

export function entries(from: number, to: number, term: number, maxBytes?: number): Entry[] {
  const list: Entry[] = [];
  for (let i = from; i <= to; i++) list.push(entry(i, term, maxBytes));
  return list;
}

export function segmentFiles(walDirectory: string): string[] {
  return fs.readdirSync(walDirectory).filter((n) => n.endsWith('.wal')).sort();
}
