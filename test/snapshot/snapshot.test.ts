// Snapshot files on real disk: streaming round trips far larger than any buffer, damage at every byte (cut or
// flipped) always found and located, the newest valid file loaded at boot with damaged ones set aside, pruning,
// crash leftovers, and receiving a file's raw bytes from a peer.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SnapshotStore } from '../../actors/snapshot/store.js';
import { SnapshotReader, verifySnapshotFile, type VerifiedSnapshot } from '../../actors/snapshot/file.js';
import { SnapshotCorruptError, SnapshotNotFoundError, SnapshotUsageError } from '../../actors/snapshot/errors.js';
import { frameHeadBytes, parseSnapshotFileName, snapshotFileName } from '../../actors/snapshot/format.js';
import { snapshotLimits } from '../../actors/snapshot/limits.js';
import { realDisk } from '../../runtime/disk.js';
import type { SnapshotMetadata } from '../../actors/raft/core/types.js';
import { SeededRandom } from '../../runtime/random.js';
import { captureLog, removeDir, tempDir } from '../wal/helpers.js';

const confState = { voters: ['8e9e05c52164694d', '91bc3c398fb3c146'], learners: ['fd422379fda50e48'], votersOutgoing: [] };
const meta = (term: number, index: number): SnapshotMetadata => ({ term, index, confState });

function chunkOf(seed: number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

function readAll(file: string): { reader: SnapshotReader; chunks: Uint8Array[] } {
  const reader = SnapshotReader.open(realDisk, file);
  const chunks: Uint8Array[] = [];
  for (let c = reader.next(); c !== undefined; c = reader.next()) chunks.push(c);
  reader.close();
  return { reader, chunks };
}

/** Byte-exact comparison (ava's deepEqual walks large buffers far too slowly). */
function sameChunks(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((c, i) => Buffer.from(c).equals(b[i]!));
}

function withStore(run: (store: SnapshotStore, dir: string, lines: ReturnType<typeof captureLog>['lines']) => void) {
  return () => {
    const dir = tempDir('tetcd-snap-');
    try {
      const captured = captureLog('snapshot');
      run(new SnapshotStore({ dir: path.join(dir, 'member', 'snap'), disk: realDisk, log: captured.log, keep: 3 }), dir, captured.lines);
    } finally {
      removeDir(dir);
    }
  };
}

function writeSnapshot(store: SnapshotStore, metadata: SnapshotMetadata, sizes: number[]): { info: VerifiedSnapshot; chunks: Uint8Array[] } {
  const writer = store.create(metadata);
  const chunks = sizes.map((size, i) => chunkOf(metadata.index * 1000 + i, size));
  for (const c of chunks) writer.write(c);
  return { info: writer.commit(), chunks };
}

test('round trip: chunks of every size come back exactly, under a term-index name', (t) => {
  withStore((store) => {
    const sizes = [1, 7, 8, 9, 100, 4096, snapshotLimits.readBufferBytes - 8, snapshotLimits.readBufferBytes + 1, 2 * 1024 * 1024 + 3, 17];
    const { info, chunks } = writeSnapshot(store, meta(2, 40), sizes);
    t.is(info.name, '0000000000000002-0000000000000028.snap');
    t.deepEqual(parseSnapshotFileName(info.name), { term: 2, index: 40 });
    t.is(info.chunks, sizes.length);
    t.is(info.imageBytes, sizes.reduce((a, b) => a + b, 0));
    t.is(info.bytes, fs.statSync(info.path).size);
    const { reader, chunks: back } = readAll(info.path);
    t.true(sameChunks(back, chunks));
    t.deepEqual(reader.metadata, meta(2, 40));
    t.true(reader.done);
    t.deepEqual(verifySnapshotFile(realDisk, info.path).metadata, meta(2, 40));
    t.deepEqual(store.list().map((f) => f.name), [info.name]);
    t.throws(() => store.open(2, 41), { instanceOf: SnapshotNotFoundError });
  })();
});

test('a snapshot far larger than any buffer streams through without being held in memory', (t) => {
  withStore((store) => {
    const chunkBytes = 1024 * 1024;
    const count = 128;
    const chunk = new Uint8Array(chunkBytes);
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    const sample = () => (peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline));
    const writer = store.create(meta(3, 1_000_000));
    for (let i = 0; i < count; i++) {
      // one reused buffer: the writer must not keep a reference to what it was given
      chunk.fill(i & 0xff);
      new DataView(chunk.buffer).setUint32(0, i, true);
      writer.write(chunk);
      if (i % 8 === 0) sample();
    }
    const info = writer.commit();
    t.is(info.imageBytes, count * chunkBytes);
    const reader = store.open(3, 1_000_000);
    let seen = 0;
    for (let c = reader.next(); c !== undefined; c = reader.next()) {
      const n = new DataView(c.buffer, c.byteOffset).getUint32(0, true);
      if (n !== seen || c[chunkBytes - 1] !== (seen & 0xff)) {
        t.fail(`chunk ${seen} came back as ${n}`);
        break;
      }
      seen++;
      if (seen % 8 === 0) sample();
    }
    reader.close();
    t.is(seen, count);
    t.log(`peak array buffer growth ${(peak / 1e6).toFixed(0)} MB`);
    t.true(peak < (count * chunkBytes) / 2, `peak array buffer growth ${(peak / 1e6).toFixed(0)} MB for a ${(count * chunkBytes) / 1e6} MB snapshot`);
  })();
});

interface Unit {
  start: number;
  end: number;
}

/** Byte ranges of the header, each frame and the trailer, read from the file itself. */
function units(bytes: Uint8Array): Unit[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  const metadataBytes = view.getUint32(12, true);
  const list: Unit[] = [{ start: 0, end: 16 + metadataBytes + 4 }];
  let at = list[0]!.end;
  for (;;) {
    const length = view.getUint32(at, true);
    if (length === 0) {
      list.push({ start: at, end: bytes.length });
      return list;
    }
    list.push({ start: at, end: at + frameHeadBytes + length });
    at += frameHeadBytes + length;
  }
}

test('a snapshot cut at every byte offset is always refused, with the file and the damaged part named', (t) => {
  withStore((store) => {
    const { info } = writeSnapshot(store, meta(4, 77), [300, 1, 700, 64, 513, 9]);
    const pristine = new Uint8Array(fs.readFileSync(info.path));
    const parts = units(pristine);
    const cutFile = path.join(path.dirname(info.path), 'cut.bin');
    let refused = 0;
    for (let cut = 0; cut < pristine.length; cut++) {
      fs.writeFileSync(cutFile, pristine.subarray(0, cut));
      try {
        verifySnapshotFile(realDisk, cutFile);
        t.fail(`a file cut at ${cut} of ${pristine.length} bytes verified`);
        return;
      } catch (error) {
        if (!(error instanceof SnapshotCorruptError)) throw error;
        const unit = parts.find((u) => cut >= u.start && cut < u.end)!;
        // the part the cut fell in is named — or, for a cut exactly between parts, the part that should follow
        if (error.file !== 'cut.bin' || (error.offset !== unit.start && error.offset !== cut)) {
          t.fail(`cut at ${cut}: reported ${error.file}:${error.offset} (${error.reason}), expected offset ${unit.start}`);
          return;
        }
        refused++;
      }
    }
    t.is(refused, pristine.length);
    t.is(verifySnapshotFile(realDisk, info.path).chunks, 6, 'the whole file still verifies');
  })();
});

test('a flipped bit at every byte offset is always refused, naming the header, chunk or trailer it is in', (t) => {
  withStore((store) => {
    const { info } = writeSnapshot(store, meta(4, 78), [300, 1, 700, 64, 513, 9]);
    const pristine = new Uint8Array(fs.readFileSync(info.path));
    const parts = units(pristine);
    let refused = 0;
    for (let at = 0; at < pristine.length; at++) {
      const bytes = new Uint8Array(pristine);
      bytes[at] = bytes[at]! ^ (1 << (at % 8));
      fs.writeFileSync(info.path, bytes);
      try {
        verifySnapshotFile(realDisk, info.path);
        t.fail(`a flipped bit at ${at} went unnoticed`);
        return;
      } catch (error) {
        if (!(error instanceof SnapshotCorruptError)) throw error;
        const unit = parts.find((u) => at >= u.start && at < u.end)!;
        if (error.file !== info.name || error.offset !== unit.start) {
          t.fail(`flip at ${at}: reported ${error.file}:${error.offset} (${error.reason}), expected ${info.name}:${unit.start}`);
          return;
        }
        refused++;
      }
    }
    t.is(refused, pristine.length);
  })();
});

test('boot loads the newest valid snapshot, moves damaged ones aside and reports them', (t) => {
  withStore((store, _dir, lines) => {
    writeSnapshot(store, meta(1, 10), [100, 200]);
    writeSnapshot(store, meta(1, 20), [100, 200]);
    const newest = writeSnapshot(store, meta(2, 30), [100, 200]);
    const bytes = new Uint8Array(fs.readFileSync(newest.info.path));
    bytes[bytes.length - 60] ^= 0x40;
    fs.writeFileSync(newest.info.path, bytes);
    const loaded = store.loadNewest();
    t.is(loaded.newest?.index, 20);
    t.deepEqual(loaded.newest?.metadata, meta(1, 20));
    t.is(loaded.damaged.length, 1);
    t.is(loaded.damaged[0]!.path, `${newest.info.path}.broken`);
    t.regex(loaded.damaged[0]!.error, /0000000000000002-000000000000001e\.snap is damaged at byte offset \d+/);
    t.true(fs.existsSync(`${newest.info.path}.broken`));
    t.deepEqual(store.list().map((f) => f.index), [20, 10], 'the damaged file is no longer listed');
    t.true(lines.some((l) => l.level === 'error' && /damaged/.test(l.msg)));
    // only a snapshot the WAL has a marker for
    t.is(store.loadNewest((m) => m.index === 10).newest?.index, 10);
    t.is(store.loadNewest((m) => m.index === 99).newest, undefined);
  })();
});

test('prune keeps the newest N; unfinished files are removed at open and on abort', (t) => {
  withStore((store, dir) => {
    for (let i = 1; i <= 6; i++) writeSnapshot(store, meta(1, i * 100), [10]);
    const removed = store.prune();
    t.is(removed.length, 3);
    t.deepEqual(store.list().map((f) => f.index), [600, 500, 400]);
    t.is(store.prune(1).length, 2);
    t.throws(() => store.prune(0), { instanceOf: SnapshotUsageError });

    const writer = store.create(meta(1, 700));
    writer.write(new Uint8Array(10));
    const snap = path.join(dir, 'member', 'snap');
    t.true(fs.readdirSync(snap).some((n) => n.endsWith('.tmp')), 'an unfinished write lives under a temporary name');
    t.deepEqual(store.list().map((f) => f.index), [600], 'and is not listed');
    writer.abort();
    t.false(fs.readdirSync(snap).some((n) => n.endsWith('.tmp')));
    t.throws(() => writer.write(new Uint8Array(1)), { instanceOf: SnapshotUsageError });
    t.throws(() => writer.commit(), { instanceOf: SnapshotUsageError });
    const empty = store.create(meta(1, 701));
    t.throws(() => empty.write(new Uint8Array(0)), { instanceOf: SnapshotUsageError });
    // a crash mid-write leaves a temporary file: the next open removes it
    fs.writeFileSync(path.join(snap, 'crashed.123.1.tmp'), 'partial');
    new SnapshotStore({ dir: snap, disk: realDisk, log: captureLog().log });
    t.false(fs.readdirSync(snap).some((n) => n.endsWith('.tmp')));
  })();
});

test('a snapshot received as raw bytes in pieces is verified before it is installed; a damaged one never is', (t) => {
  withStore((store, dir) => {
    const source = writeSnapshot(store, meta(3, 500), [5000, 1, 70_000, 123]);
    const raw = new Uint8Array(fs.readFileSync(source.info.path));
    fs.unlinkSync(source.info.path);
    const random = new SeededRandom(5);
    const send = (bytes: Uint8Array) => {
      const incoming = store.receive();
      for (let at = 0; at < bytes.length; ) {
        const n = Math.min(bytes.length - at, 1 + random.int(9000));
        incoming.write(bytes.subarray(at, at + n));
        at += n;
      }
      return incoming.finish();
    };
    const installed = send(raw);
    t.is(installed.name, source.info.name);
    t.deepEqual(installed.metadata, meta(3, 500));
    t.true(sameChunks(readAll(installed.path).chunks, source.chunks));

    fs.unlinkSync(installed.path);
    const damaged = new Uint8Array(raw);
    damaged[6000] ^= 1;
    t.throws(() => send(damaged), { instanceOf: SnapshotCorruptError });
    t.deepEqual(fs.readdirSync(path.join(dir, 'member', 'snap')), [], 'nothing installed and no temporary file left');
    t.throws(() => send(raw.subarray(0, raw.length - 1)), { instanceOf: SnapshotCorruptError });
  })();
});

test('a file whose header disagrees with its name is refused', (t) => {
  withStore((store) => {
    const { info } = writeSnapshot(store, meta(1, 10), [10]);
    const renamed = path.join(path.dirname(info.path), snapshotFileName(1, 11));
    fs.renameSync(info.path, renamed);
    const error = t.throws(() => verifySnapshotFile(realDisk, renamed), { instanceOf: SnapshotCorruptError });
    t.regex(error?.message ?? '', /unlike the file name/);
  })();
});
