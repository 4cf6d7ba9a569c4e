// WAL benchmarks: durable append throughput with group commit through the WAL actor on its own worker thread (driven
// by an actor on another worker, as raft will), beside a raw write+fdatasync loop on the same disk, in the same run,
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
const walRunMs = Number(process.env.TETCD_BENCH_WAL_MS ?? 3_000);
const rawRunMs = Number(process.env.TETCD_BENCH_RAW_MS ?? 2_000);

interface RawResult {
  bytesPerSecond: number;
  fsyncsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

/** write(batchBytes) + fdatasync in a loop into a zero-filled preallocated file: the best this disk does. */
function rawLoop(dir: string, batchBytes: number, durationMs: number): RawResult {
  const file = path.join(dir, 'raw.dat');
  const fileBytes = 64 * 1024 * 1024;
  const fd = fs.openSync(file, 'w+');
  try {
    const zeros = Buffer.alloc(1024 * 1024);
    for (let at = 0; at < fileBytes; at += zeros.length) fs.writeSync(fd, zeros, 0, zeros.length, at);
    fs.fsyncSync(fd);
    const batch = Buffer.alloc(batchBytes, 0x5a);
    const latencies: number[] = [];
    let offset = 0;
    let bytes = 0;
    const started = performance.now();
    let now = started;
    while (now - started < durationMs) {
      if (offset + batchBytes > fileBytes) offset = 0;
      fs.writeSync(fd, batch, 0, batchBytes, offset);
      fs.fdatasyncSync(fd);
      offset += batchBytes;
      bytes += batchBytes;
      const after = performance.now();
      latencies.push((after - now) * 1000);
      now = after;
    }
    const seconds = (now - started) / 1000;
    return { bytesPerSecond: bytes / seconds, fsyncsPerSecond: latencies.length / seconds, p50Us: percentile(latencies, 50), p99Us: percentile(latencies, 99) };
  } finally {
    fs.closeSync(fd);
    fs.unlinkSync(file);
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

/** CPU cost of the append path without the disk sync: encode + check + write into the page cache. */
function encodeAndBootBench(dir: string): BenchResult[] {
  const walDirectory = path.join(dir, 'boot', 'member', 'wal');
  const options = { dir: walDirectory, disk: realDisk, log: silentLogger };
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
    system.add({ name: 'wal', module: new URL('../actors/wal/actor.js', import.meta.url), config: { dataDir: path.join(dir, 'actor'), metadata } satisfies WalActorConfig });
    system.add({ name: 'driver', module: new URL('./actors/wal-driver.js', import.meta.url) });
    await system.start();
    try {
      const wal = system.ref<WalProtocol>('wal');
      const driver = system.ref<DriverProtocol>('driver');
      await wal.ask({ type: 'boot' }, { timeoutMs: 60_000 });
      let nextIndex = 1;
      // warm-up: JIT, page cache, the first segment preparation
      nextIndex = (await driver.ask({ type: 'run', concurrency: 64, durationMs: 1_000, entryBytes, coalesce: false, firstIndex: nextIndex }, { timeoutMs: 60_000 })).nextIndex;
      const runs: Array<{ concurrency: number; coalesce: boolean }> = [
        ...concurrencyLevels.map((concurrency) => ({ concurrency, coalesce: false })),
        { concurrency: 64, coalesce: true },
        { concurrency: 256, coalesce: true },
      ];
      for (const { concurrency, coalesce } of runs) {
        const before = await wal.ask({ type: 'stats' });
        const run = await driver.ask({ type: 'run', concurrency, durationMs: walRunMs, entryBytes, coalesce, firstIndex: nextIndex }, { timeoutMs: 60_000 });
        const after = await wal.ask({ type: 'stats' });
        nextIndex = run.nextIndex;
        const fsyncs = after.fsyncs - before.fsyncs;
        const entriesPerFsync = run.entries / Math.max(1, fsyncs);
        const entriesPerSecond = run.entries / run.seconds;
        const raw = rawLoop(dir, Math.max(entryBytes, Math.round(entriesPerFsync) * entryBytes), rawRunMs);
        const ratio = (entriesPerSecond * entryBytes) / raw.bytesPerSecond;
        const label = `${concurrency} appenders${coalesce ? ', coalesced per turn' : ''}`;
        results.push(
          {
            name: `wal actor durable appends, ${label}`,
            value: entriesPerSecond,
            unit: 'entries/s',
            note: `${(fsyncs / run.seconds).toFixed(0)} fsyncs/s, ${entriesPerFsync.toFixed(1)} entries/fsync, p50 ${run.p50Us.toFixed(0)} us, p99 ${run.p99Us.toFixed(0)} us append-to-durable; wal fsync p50 ${after.fsyncMsP50.toFixed(3)} ms`,
          },
          {
            name: `raw write+fdatasync loop, ${Math.round(entriesPerFsync) * entryBytes} B per fsync`,
            value: raw.bytesPerSecond / entryBytes,
            unit: 'entries/s',
            note: `${(raw.bytesPerSecond / 1e6).toFixed(2)} MB/s, ${raw.fsyncsPerSecond.toFixed(0)} fsyncs/s, p50 ${raw.p50Us.toFixed(0)} us, p99 ${raw.p99Us.toFixed(0)} us`,
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
