// WAL benchmarks: durable append throughput with group commit through the WAL actor on a worker thread (driven by an
// actor on the same thread, as raft drives it in a member), beside a raw write+fdatasync loop on the same disk, in the same run,
// at the same batch size — the physical limit. Also: CRC32C speed, encode cost per entry, boot speed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ActorSystem } from '../runtime/system.js';
import { realDisk } from '../runtime/disk.js';
import { silentLogger } from '../runtime/log.js';
import { crc32c } from '../actors/wal/crc32c.js';
import { Wal } from '../actors/wal/wal.js';
import type { WalActorConfig, WalProtocol } from '../actors/wal/protocol.js';
import type { Entry } from '../actors/raft/core/types.js';
import type { DriverProtocol } from './actors/wal-driver.js';
import { percentile, report, type BenchResult } from './report.js';

const entryBytes = 256;
const metadata = { memberId: '8e9e05c52164694d', clusterId: 'cdf818194e3a8c32' };
const concurrencyLevels = [1, 8, 64, 256];
/** Each level alternates WAL and raw loop this many times, in slices of these lengths. */
const slices = 4;
const walSliceMs = 750;
const rawSliceMs = 500;
const rawFileBytes = 64 * 1024 * 1024;
let rawOffset = 0;

interface RawResult {
  bytes: number;
  seconds: number;
  fsyncs: number;
  p50Us: number;
  p99Us: number;
}

/** A 64 MiB zero-filled, synced file for the raw loop: the same kind of space the WAL writes into. */
function prepareRawFile(dir: string): string {
  const file = path.join(dir, 'raw.dat');
  const fd = fs.openSync(file, 'w+');
  try {
    const zeros = Buffer.alloc(1024 * 1024);
    for (let at = 0; at < rawFileBytes; at += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, at);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

/** write(batchBytes) + fdatasync in a loop into the zero-filled file: the best this disk does at that batch size. */
function rawLoop(file: string, batchBytes: number, durationMs: number): RawResult {
  const fd = fs.openSync(file, 'r+');
  try {
    const batch = Buffer.alloc(batchBytes, 0x5a);
    const latencies: number[] = [];
    let bytes = 0;
    const started = performance.now();
    let now = started;
    while (now - started < durationMs) {
      if (rawOffset + batchBytes > rawFileBytes) rawOffset = 0;
      fs.writeSync(fd, batch, 0, batchBytes, rawOffset);
      fs.fdatasyncSync(fd);
      rawOffset += batchBytes;
      bytes += batchBytes;
      const after = performance.now();
      latencies.push((after - now) * 1000);
      now = after;
    }
    return { bytes, seconds: (now - started) / 1000, fsyncs: latencies.length, p50Us: percentile(latencies, 50), p99Us: percentile(latencies, 99) };
  } finally {
    fs.closeSync(fd);
  }
}

function crcBench(): BenchResult {
  const bytes = new Uint8Array(16 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
  crc32c(0, bytes);
  const started = performance.now();
  let rounds = 0;
  while (performance.now() - started < 1_000) {
    crc32c(0, bytes);
    rounds++;
  }
  const seconds = (performance.now() - started) / 1000;
  return { name: 'crc32c (slicing-by-16, plain TypeScript)', value: (rounds * bytes.length) / seconds / 1e6, unit: 'MB/s' };
}

/**
 * CPU cost of the append path without the disk sync: encode + check + write into the page cache. Segments are sized
 * sparsely here: zero-filling the next one is disk work the WAL actor does in the background, and on this synchronous
 * path it would be most of the time measured.
 */
function encodeAndBootBench(dir: string): BenchResult[] {
  const walDirectory = path.join(dir, 'boot', 'member', 'wal');
  const options = { dir: walDirectory, disk: realDisk, log: silentLogger, preallocation: 'sparse' as const };
  const { wal } = Wal.openOrCreate(options, metadata);
  const data = new Uint8Array(entryBytes).fill(0x5a);
  const count = 400_000;
  const perBatch = 64;
  const started = performance.now();
  for (let i = 1; i <= count; i += perBatch) {
    const batch: Entry[] = [];
    for (let j = 0; j < perBatch; j++) batch.push({ term: 1, index: i + j, type: 0, data });
    wal.append(batch, { term: 1, vote: '', commit: i });
    wal.flush(false);
  }
  const appendSeconds = (performance.now() - started) / 1000;
  const stats = wal.stats();
  wal.close();
  const bootStarted = performance.now();
  const { wal: reopened, state } = Wal.open(options);
  const bootSeconds = (performance.now() - bootStarted) / 1000;
  reopened.close();
  return [
    { name: 'wal append path without fdatasync (encode, check, write; 64 entries/batch)', value: count / appendSeconds, unit: 'entries/s', note: `${((appendSeconds * 1e6) / count).toFixed(2)} us/entry` },
    {
      name: `wal boot: read, verify and decode ${state.entries.length.toLocaleString('en-US')} entries`,
      value: stats.bytes / bootSeconds / 1e6,
      unit: 'MB/s',
      note: `${(bootSeconds * 1000).toFixed(0)} ms for ${(stats.bytes / 1e6).toFixed(0)} MB in ${stats.segments} segments`,
    },
  ];
}

export async function walBenchmarks(): Promise<BenchResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tetcd-wal-bench-'));
  const results: BenchResult[] = [crcBench()];
  try {
    results.push(...encodeAndBootBench(dir));
    const system = new ActorSystem({ mode: 'threads', logLevel: 'error' });
    // the driver shares the WAL's thread, as raft does in a member (the "consensus" placement group)
    system.add({ name: 'wal', module: new URL('../actors/wal/actor.js', import.meta.url), config: { dataDir: path.join(dir, 'actor'), metadata } satisfies WalActorConfig, group: 'consensus', turnEnd: 'microtask' });
    system.add({ name: 'driver', module: new URL('./actors/wal-driver.js', import.meta.url), group: 'consensus' });
    await system.start();
    try {
      const wal = system.ref<WalProtocol>('wal');
      const driver = system.ref<DriverProtocol>('driver');
      await wal.ask({ type: 'boot' }, { timeoutMs: 60_000 });
      const rawFile = prepareRawFile(dir);
      let nextIndex = 1;
      // warm-up: JIT, page cache, the first segment preparation
      nextIndex = (await driver.ask({ type: 'run', concurrency: 64, durationMs: 1_000, entryBytes, coalesce: false, firstIndex: nextIndex }, { timeoutMs: 60_000 })).nextIndex;
      const runs: Array<{ concurrency: number; coalesce: boolean }> = [
        ...concurrencyLevels.map((concurrency) => ({ concurrency, coalesce: false })),
        { concurrency: 64, coalesce: true },
        { concurrency: 256, coalesce: true },
      ];
      for (const { concurrency, coalesce } of runs) {
        // The disk is shared with whatever else the machine runs, and its speed drifts: WAL and raw loop take turns in
        // short slices so both see the same conditions, and their totals are compared.
        const wal_ = { entries: 0, seconds: 0, fsyncs: 0, p50s: [] as number[], p99s: [] as number[], fsyncP50s: [] as number[], fsyncSeconds: 0 };
        const raw_ = { bytes: 0, seconds: 0, fsyncs: 0, p50s: [] as number[], p99s: [] as number[] };
        let batchEntries = 1;
        for (let slice = 0; slice < slices; slice++) {
          const before = await wal.ask({ type: 'stats' });
          const run = await driver.ask({ type: 'run', concurrency, durationMs: walSliceMs, entryBytes, coalesce, firstIndex: nextIndex }, { timeoutMs: 60_000 });
          const after = await wal.ask({ type: 'stats' });
          nextIndex = run.nextIndex;
          const fsyncs = after.fsyncs - before.fsyncs;
          wal_.entries += run.entries;
          wal_.seconds += run.seconds;
          wal_.fsyncs += fsyncs;
          wal_.p50s.push(run.p50Us);
          wal_.p99s.push(run.p99Us);
          wal_.fsyncP50s.push(after.fsyncMsP50);
          wal_.fsyncSeconds += after.fsyncSecondsTotal - before.fsyncSecondsTotal;
          batchEntries = Math.max(1, Math.round(wal_.entries / Math.max(1, wal_.fsyncs)));
          const raw = rawLoop(rawFile, batchEntries * entryBytes, rawSliceMs);
          raw_.bytes += raw.bytes;
          raw_.seconds += raw.seconds;
          raw_.fsyncs += raw.fsyncs;
          raw_.p50s.push(raw.p50Us);
          raw_.p99s.push(raw.p99Us);
        }
        const entriesPerSecond = wal_.entries / wal_.seconds;
        const rawBytesPerSecond = raw_.bytes / raw_.seconds;
        const ratio = (entriesPerSecond * entryBytes) / rawBytesPerSecond;
        const median = (values: number[]) => percentile(values, 50);
        const label = `${concurrency} appenders${coalesce ? ', coalesced per turn' : ''}`;
        results.push(
          {
            name: `wal actor durable appends, ${label}`,
            value: entriesPerSecond,
            unit: 'entries/s',
            note: `${(wal_.fsyncs / wal_.seconds).toFixed(0)} fsyncs/s, ${(wal_.entries / Math.max(1, wal_.fsyncs)).toFixed(1)} entries/fsync, append-to-durable p50 ${median(wal_.p50s).toFixed(0)} us, p99 ${median(wal_.p99s).toFixed(0)} us; fdatasync p50 ${median(wal_.fsyncP50s).toFixed(3)} ms, mean ${((wal_.fsyncSeconds * 1000) / Math.max(1, wal_.fsyncs)).toFixed(3)} ms, ${((100 * wal_.fsyncSeconds) / wal_.seconds).toFixed(0)}% of the time`,
          },
          {
            name: `raw write+fdatasync loop, ${batchEntries * entryBytes} B per fsync`,
            value: rawBytesPerSecond / entryBytes,
            unit: 'entries/s',
            note: `${(rawBytesPerSecond / 1e6).toFixed(2)} MB/s, ${(raw_.fsyncs / raw_.seconds).toFixed(0)} fsyncs/s, p50 ${median(raw_.p50s).toFixed(0)} us, p99 ${median(raw_.p99s).toFixed(0)} us`,
          },
          { name: `wal / raw bytes per second, ${label}`, value: ratio, unit: 'x', note: ratio >= 0.8 ? 'meets the 0.8x target' : 'below the 0.8x target' },
        );
      }
      const final = await wal.ask({ type: 'stats' });
      results.push({ name: 'wal segment preparation stalls (rotations that waited)', value: final.preparationStalls, unit: 'count', note: `of ${final.rotations} rotations` });
    } finally {
      await system.stop();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report('wal', await walBenchmarks());
}
