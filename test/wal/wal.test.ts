// The WAL as a plain class on real files: round trips, group commit, tail overwrite, rotation, release, contract checks.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Wal, walDir, type WalOptions } from '../../actors/wal/wal.js';
import { WalCorruptError, WalEntriesUnavailableError, WalNotFoundError, WalUsageError } from '../../actors/wal/errors.js';
import { parseSegmentFileName } from '../../actors/wal/segment.js';
import { walLimits } from '../../actors/wal/limits.js';
import { captureLog, entries, entry, metadata, options, removeDir, segmentFiles, tempDir } from './helpers.js';
import { realDisk, type Disk } from '../../runtime/disk.js';

const confState = { voters: ['8e9e05c52164694d'], learners: [], votersOutgoing: [] };

function withDir(run: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = tempDir();
    try {
      await run(dir);
    } finally {
      removeDir(dir);
    }
  };
}

test('a new wal boots empty, keeps what was flushed, and reports it after a reopen', async (t) => {
  await withDir((dir) => {
    const opts = options(dir, { segmentBytes: 64 * 1024 });
    t.false(Wal.exists(opts.disk, opts.dir));
    t.throws(() => Wal.open(opts), { instanceOf: WalNotFoundError });
    const first = Wal.openOrCreate(opts, { ...metadata, extra: new Uint8Array([1, 2, 3]) });
    t.true(first.created);
    t.deepEqual(first.state.entries, []);
    t.deepEqual(first.state.hardState, { term: 0, vote: '', commit: 0 });
    t.is(first.state.snapshot, undefined);
    first.wal.append(entries(1, 50, 1), { term: 1, vote: '8e9e05c52164694d', commit: 20 });
    first.wal.append(entries(51, 60, 2), { term: 2, vote: '', commit: 55 });
    t.is(first.wal.flush(true), 60);
    t.is(first.wal.durableIndex, 60);
    first.wal.close();

    const second = Wal.openOrCreate(opts, metadata);
    t.false(second.created, 'an existing wal is opened, not replaced');
    t.deepEqual(second.state.metadata, { ...metadata, extra: new Uint8Array([1, 2, 3]) });
    t.deepEqual(second.state.hardState, { term: 2, vote: '', commit: 55 });
    t.deepEqual(second.state.entries, [...entries(1, 50, 1), ...entries(51, 60, 2)]);
    t.is(second.state.tornBytesRepaired, 0);
    second.wal.close();
    t.is(walDir(dir), opts.dir);
  })();
});

test('group commit: many appends become one write and one fdatasync; an unsynced flush writes without syncing', async (t) => {
  await withDir((dir) => {
    const { wal } = Wal.openOrCreate(options(dir, { segmentBytes: 1024 * 1024 }), metadata);
    const before = wal.stats();
    for (let i = 1; i <= 100; i++) wal.append([entry(i, 1)]);
    wal.flush(true);
    const after = wal.stats();
    t.is(after.writes - before.writes, 1);
    t.is(after.fsyncs - before.fsyncs, 1);
    t.is(after.appends - before.appends, 100);
    wal.append([entry(101, 1)]);
    wal.flush(false);
    t.is(wal.stats().fsyncs, after.fsyncs, 'no fdatasync for a batch raft marked as not needing one');
    t.is(wal.stats().writes, after.writes + 1);
    t.is(wal.durableIndex, 100);
    wal.flush(true);
    t.is(wal.durableIndex, 101);
    t.is(wal.stats().fsyncs, after.fsyncs + 1);
    // nothing pending: no write and no sync
    wal.flush(true);
    t.is(wal.stats().fsyncs, after.fsyncs + 1);
    wal.close();
  })();
});

test('overwriting the uncommitted tail: boot returns the log as last written, also across segments', async (t) => {
  await withDir((dir) => {
    const opts = options(dir, { segmentBytes: 8192 });
    const { wal } = Wal.openOrCreate(opts, metadata);
    wal.append(entries(1, 100, 1), { term: 1, vote: '', commit: 10 });
    wal.flush(true);
    const segmentsBefore = wal.segmentNames().length;
    t.true(segmentsBefore > 2, 'the first 100 entries span several segments');
    // a new leader replaces 41..100 with 41..45 of term 2 (in a later segment than the old entries)
    wal.append(entries(41, 45, 2), { term: 2, vote: '', commit: 10 });
    wal.flush(true);
    t.is(wal.lastIndex, 45);
    // and again, inside the same batch: 44..46 of term 3 over the 44..45 just written
    wal.append(entries(44, 46, 3));
    wal.flush(true);
    wal.close();
    const { wal: reopened, state } = Wal.open(opts);
    t.deepEqual(state.entries, [...entries(1, 40, 1), ...entries(41, 43, 2), ...entries(44, 46, 3)]);
    // appends continue after the overwritten tail
    reopened.append(entries(47, 48, 3));
    reopened.flush(true);
    reopened.close();
    t.deepEqual(Wal.open(opts).state.entries.map((e) => e.index).slice(-3), [46, 47, 48]);
  })();
});

test('segments rotate at the segment size, are named by sequence and first index, and every one but the last is trimmed', async (t) => {
  await withDir((dir) => {
    const segmentBytes = 8192;
    const opts = options(dir, { segmentBytes });
    const { wal } = Wal.openOrCreate(opts, metadata);
    for (let i = 1; i <= 400; i += 10) {
      wal.append(entries(i, i + 9, 1), { term: 1, vote: '', commit: i });
      wal.flush(true);
      while (wal.prepareStep()) {
        // background preparation, as the actor does between turns
      }
    }
    const stats = wal.stats();
    t.true(stats.rotations >= 5);
    t.is(stats.preparationStalls, 0, 'the next segment was always ready');
    t.is(stats.segments, stats.rotations + 1);
    wal.close();
    const names = segmentFiles(opts.dir);
    t.is(names.length, stats.segments);
    let previousFirst = 0;
    names.forEach((name, i) => {
      const parsed = parseSegmentFileName(name)!;
      t.is(parsed.sequence, i);
      t.true(parsed.firstIndex > previousFirst);
      previousFirst = parsed.firstIndex;
      const size = fs.statSync(path.join(opts.dir, name)).size;
      if (i < names.length - 1) t.true(size <= segmentBytes, `${name} holds ${size} bytes`);
      else t.is(size, segmentBytes, 'the last segment is preallocated to full size');
    });
    t.is(parseSegmentFileName(names[0]!)!.firstIndex, 1);
    const { state } = Wal.open(opts);
    t.deepEqual(state.entries, entries(1, 400, 1));
    t.deepEqual(state.hardState, { term: 1, vote: '', commit: 391 });
  })();
});

test('a record larger than a segment gets a segment of its own', async (t) => {
  await withDir((dir) => {
    const opts = options(dir, { segmentBytes: 4096 });
    const { wal } = Wal.openOrCreate(opts, metadata);
    const big = { term: 1, index: 2, type: 0 as const, data: new Uint8Array(10_000).fill(9) };
    wal.append([entry(1, 1), big, entry(3, 1)]);
    wal.flush(true);
    wal.close();
    t.deepEqual(Wal.open(opts).state.entries, [entry(1, 1), big, entry(3, 1)]);
  })();
});

test('release removes segments wholly below the snapshot minus the catch-up margin; boot starts after the marker', async (t) => {
  await withDir((dir) => {
    const opts = options(dir, { segmentBytes: 16 * 1024 });
    const { wal } = Wal.openOrCreate(opts, metadata);
    const total = walLimits.releaseCatchUpEntries + 3_000;
    for (let i = 1; i <= total; i += 500) {
      wal.append(entries(i, i + 499, 1, 40), { term: 1, vote: '', commit: i + 499 });
      wal.flush(true);
    }
    const snapshotIndex = total - 1_000;
    t.throws(() => wal.release(snapshotIndex), { instanceOf: WalUsageError }, 'no release without a snapshot marker');
    wal.snapshotMarker({ term: 1, index: snapshotIndex, confState });
    wal.flush(true);
    const before = wal.segmentNames();
    const released = wal.release(snapshotIndex);
    t.true(released > 0);
    const after = wal.segmentNames();
    t.deepEqual(after, before.slice(released));
    t.deepEqual(segmentFiles(opts.dir), after, 'released files are gone from the directory');
    // every entry from the margin on is still in the log
    const oldestFirst = parseSegmentFileName(after[0]!)!.firstIndex;
    t.true(oldestFirst <= snapshotIndex - walLimits.releaseCatchUpEntries + 1);
    const firstReleasedNext = parseSegmentFileName(after[0]!)!.firstIndex;
    t.true(firstReleasedNext <= snapshotIndex - walLimits.releaseCatchUpEntries, 'only segments wholly below the margin went');
    t.throws(() => wal.release(snapshotIndex + 1), { instanceOf: WalUsageError }, 'never past the newest snapshot');
    wal.append(entries(total + 1, total + 5, 1, 40));
    wal.close();

    const { state } = Wal.open(opts);
    t.deepEqual(state.snapshot, { term: 1, index: snapshotIndex, confState });
    t.deepEqual(state.entries, entries(snapshotIndex + 1, total + 5, 1, 40));
    t.is(state.metadata.memberId, metadata.memberId, 'metadata survives the release of the first segment');
    t.deepEqual(state.hardState, { term: 1, vote: '', commit: total });
  })();
});

test('a snapshot past the end of the log restarts the log after it; an older marker can be booted from', async (t) => {
  await withDir((dir) => {
    const opts = options(dir);
    const { wal } = Wal.openOrCreate(opts, metadata);
    wal.append(entries(1, 20, 1), { term: 1, vote: '', commit: 15 });
    wal.snapshotMarker({ term: 1, index: 10, confState });
    wal.append(entries(21, 30, 1));
    // a snapshot installed from the leader, far past our log
    wal.snapshotMarker({ term: 4, index: 1000, confState });
    t.is(wal.lastIndex, 1000);
    t.throws(() => wal.append([entry(1002, 4)]), { instanceOf: WalUsageError });
    wal.append(entries(1001, 1003, 4), { term: 4, vote: '', commit: 1000 });
    wal.close();
    const { state } = Wal.open(opts);
    t.is(state.snapshot?.index, 1000);
    t.deepEqual(state.entries, entries(1001, 1003, 4));
    // the member fell back to the snapshot at 10: the log after it was replaced by the one at 1000
    t.throws(() => Wal.open(opts, { from: { term: 1, index: 10 } }), { instanceOf: WalEntriesUnavailableError });
    t.throws(() => Wal.open(opts, { from: { term: 9, index: 10 } }), { instanceOf: WalEntriesUnavailableError });
  })();
});

test('an installed snapshot inside the log voids the entries written before it', async (t) => {
  await withDir((dir) => {
    const opts = options(dir);
    const { wal } = Wal.openOrCreate(opts, metadata);
    // uncommitted entries 11..20 of term 1 that the new leader's log does not have
    wal.append(entries(1, 20, 1), { term: 1, vote: '', commit: 10 });
    wal.snapshotMarker({ term: 3, index: 15, confState, installed: true });
    t.is(wal.lastIndex, 15);
    wal.append(entries(16, 17, 3), { term: 3, vote: '', commit: 15 });
    wal.close();
    const { state } = Wal.open(opts);
    t.is(state.snapshot?.index, 15);
    t.true(state.snapshot?.installed);
    t.deepEqual(state.entries, entries(16, 17, 3), 'entries 16..20 of term 1 are gone');
    // a plain marker (a snapshot this member took of its own log) keeps the entries after it
    const { wal: again } = Wal.openOrCreate(opts, metadata);
    again.snapshotMarker({ term: 3, index: 16, confState });
    again.close();
    t.deepEqual(Wal.open(opts).state.entries, entries(17, 17, 3));
  })();
});

test('booting from an older snapshot marker returns the entries after it', async (t) => {
  await withDir((dir) => {
    const opts = options(dir);
    const { wal } = Wal.openOrCreate(opts, metadata);
    wal.append(entries(1, 30, 1), { term: 1, vote: '', commit: 30 });
    wal.snapshotMarker({ term: 1, index: 10, confState });
    wal.snapshotMarker({ term: 1, index: 20, confState });
    wal.close();
    t.deepEqual(Wal.open(opts).state.entries, entries(21, 30, 1));
    const older = Wal.open(opts, { from: { term: 1, index: 10 } }).state;
    t.is(older.snapshot?.index, 10);
    t.deepEqual(older.entries, entries(11, 30, 1));
  })();
});

test('the contract is enforced: no gaps, no overwriting committed entries, no going back in term or commit', async (t) => {
  await withDir((dir) => {
    const { wal } = Wal.openOrCreate(options(dir), metadata);
    wal.append(entries(1, 10, 2), { term: 2, vote: '', commit: 5 });
    t.throws(() => wal.append([entry(12, 2)]), { instanceOf: WalUsageError, message: /gap/ });
    t.throws(() => wal.append([entry(5, 3)]), { instanceOf: WalUsageError, message: /committed/ });
    t.throws(() => wal.append([entry(11, 1)]), { instanceOf: WalUsageError, message: /term/ });
    t.throws(() => wal.append([entry(11, 2), entry(13, 2)]), { instanceOf: WalUsageError, message: /contiguous/ });
    t.throws(() => wal.append([], { term: 1, vote: '', commit: 5 }), { instanceOf: WalUsageError, message: /term/ });
    t.throws(() => wal.append([], { term: 2, vote: '', commit: 4 }), { instanceOf: WalUsageError, message: /commit/ });
    // a batch refused part-way (its second entry is wrong) leaves nothing of itself behind
    t.throws(() => wal.append([entry(11, 2), entry(12, 1)]), { instanceOf: WalUsageError, message: /lower term/ });
    t.throws(() => wal.append([entry(11, 2)], { term: 2, vote: '', commit: 1 }), { instanceOf: WalUsageError, message: /commit/ });
    t.is(wal.lastIndex, 10);
    wal.append([entry(11, 2)]);
    wal.close();
    const reopened = Wal.open(options(dir));
    t.deepEqual(reopened.state.entries, [...entries(1, 10, 2), entry(11, 2)]);
    t.deepEqual(reopened.state.hardState, { term: 2, vote: '', commit: 5 });
    reopened.wal.close();
    t.throws(() => wal.append([entry(11, 2)]), { instanceOf: WalUsageError, message: /closed/ });
    const opts: WalOptions = options(dir);
    t.throws(() => Wal.create(opts, metadata), { instanceOf: WalUsageError, message: /already exists/ });
    t.throws(() => Wal.create(options(tempDirIn(dir)), { memberId: 'xyz', clusterId: metadata.clusterId }), { instanceOf: WalUsageError });
  })();
});

function tempDirIn(dir: string): string {
  const sub = path.join(dir, 'other');
  fs.mkdirSync(sub);
  return sub;
}

test('leftovers of a crash are cleaned up: an unfinished creation and preallocated segments', async (t) => {
  await withDir((dir) => {
    const opts = options(dir, { segmentBytes: 8192 });
    // a creation that crashed before its rename: the temporary directory is replaced
    fs.mkdirSync(`${opts.dir}.tmp`, { recursive: true });
    fs.writeFileSync(path.join(`${opts.dir}.tmp`, 'junk'), 'x');
    const { wal, created } = Wal.openOrCreate(opts, metadata);
    t.true(created);
    t.false(fs.existsSync(`${opts.dir}.tmp`));
    wal.append(entries(1, 5, 1));
    while (wal.prepareStep()) {
      // prepare the next segment, then "crash" (close without using it)
    }
    wal.close();
    t.true(fs.readdirSync(opts.dir).some((n) => n.endsWith('.tmp')));
    const captured = captureLog();
    const { wal: reopened, state } = Wal.open({ ...opts, log: captured.log });
    t.false(fs.readdirSync(opts.dir).some((n) => n.endsWith('.tmp')), 'preallocated files are not part of the log');
    t.deepEqual(state.entries, entries(1, 5, 1));
    reopened.close();
  })();
});

test('a missing segment in the middle stops the boot, naming the segment after the gap', async (t) => {
  await withDir((dir) => {
    const opts = options(dir, { segmentBytes: 4096 });
    const { wal } = Wal.openOrCreate(opts, metadata);
    wal.append(entries(1, 200, 1));
    wal.close();
    const names = segmentFiles(opts.dir);
    t.true(names.length >= 4);
    fs.unlinkSync(path.join(opts.dir, names[2]!));
    const error = t.throws(() => Wal.open(opts), { instanceOf: WalCorruptError });
    t.is(error?.file, names[3]);
    t.regex(error?.message ?? '', /sequence 2 is missing/);
    // a segment replaced by another of the same name from a different history breaks the checksum chain
  })();
});

test('a segment swapped for one from another log breaks the checksum chain', async (t) => {
  await withDir((dir) => {
    const a = options(path.join(dir, 'a'), { segmentBytes: 4096 });
    const b = options(path.join(dir, 'b'), { segmentBytes: 4096 });
    for (const opts of [a, b]) {
      const { wal } = Wal.openOrCreate(opts, metadata);
      const log = entries(1, 300, 1, 10);
      // the two logs differ in one byte of entry 5 only, so their segments split at the same places
      if (opts === b) log[4] = { ...log[4]!, data: log[4]!.data.map((x) => x ^ 1) };
      wal.append(log);
      wal.close();
    }
    const namesA = segmentFiles(a.dir);
    const namesB = segmentFiles(b.dir);
    t.is(namesA[1], namesB[1]);
    fs.copyFileSync(path.join(b.dir, namesB[1]!), path.join(a.dir, namesA[1]!));
    const error = t.throws(() => Wal.open(a), { instanceOf: WalCorruptError });
    t.is(error?.file, namesA[1]);
    t.is(error?.offset, 0);
    t.regex(error?.message ?? '', /checksum chain/);
  })();
});

/** The real disk, with background syncs held until the test lets them finish (or fail), and closes recorded. */
function heldSyncDisk() {
  const held: Array<{ fd: number; full: boolean; done: (error: Error | null) => void }> = [];
  const closed: number[] = [];
  const disk: Disk = Object.assign(Object.create(realDisk) as Disk, {
    syncInBackground(fd: number, full: boolean, done: (error: Error | null) => void) {
      held.push({ fd, full, done });
    },
    close(fd: number) {
      closed.push(fd);
      realDisk.close(fd);
    },
  });
  const release = (error: Error | null = null) => {
    const sync = held.shift();
    if (!sync) throw new Error('no background sync is held');
    if (!error && sync.full) realDisk.fsync(sync.fd);
    else if (!error) realDisk.fdatasync(sync.fd);
    sync.done(error);
    return sync;
  };
  return { disk, held, closed, release };
}

test('background preparation: zeros are written at once, one sync at a time runs off the thread, the last one a full fsync', async (t) => {
  await withDir((dir) => {
    const segmentBytes = 3 * walLimits.preparationChunkBytes;
    const { disk, held, release } = heldSyncDisk();
    const { wal } = Wal.openOrCreate(options(dir, { disk, segmentBytes }), metadata);
    const dones: Array<Error | null> = [];
    const step = () => wal.prepareStepInBackground((error) => dones.push(error));
    t.false(step(), 'creating the file is a quick step of its own');
    t.true(wal.needsPreparation);
    t.true(step());
    t.true(wal.preparing);
    t.false(step(), 'no second step while one sync runs');
    t.is(held.length, 1);
    t.false(held[0]!.full);
    release();
    t.deepEqual(dones, [null]);
    t.false(wal.preparing);
    t.true(step());
    release();
    t.true(step());
    t.true(held[0]!.full, 'the last step syncs the size as well');
    t.true(wal.needsPreparation, 'not ready before its last sync ended');
    release();
    t.false(wal.needsPreparation);
    t.false(step(), 'nothing left to do');
    const prepared = fs.readdirSync(walDir(dir)).find((name) => name.endsWith('.tmp'))!;
    const bytes = fs.readFileSync(path.join(walDir(dir), prepared));
    t.is(bytes.length, segmentBytes);
    t.true(bytes.every((byte) => byte === 0));
    // the appends that fill the segment rotate into the prepared one without finishing it on the append path
    let index = 1;
    while (wal.stats().rotations === 0) {
      wal.append([entry(index, 1)]);
      wal.flush(true);
      index++;
    }
    t.is(wal.stats().preparationStalls, 0);
    wal.close();
    const reopened = Wal.open(options(dir, { segmentBytes }));
    t.is(reopened.state.entries.length, index - 1);
    reopened.wal.close();
  })();
});

test('a failed background sync is final: the WAL refuses every later call with that error', async (t) => {
  await withDir((dir) => {
    const { disk, release } = heldSyncDisk();
    const { wal } = Wal.openOrCreate(options(dir, { disk, segmentBytes: 2 * walLimits.preparationChunkBytes }), metadata);
    wal.append([entry(1, 1)]);
    wal.flush(true);
    const seen: Array<Error | null> = [];
    wal.prepareStepInBackground(() => undefined);
    t.true(wal.prepareStepInBackground((error) => seen.push(error)));
    release(new Error('EIO: the disk went away'));
    t.is(seen[0]?.message, 'EIO: the disk went away');
    t.throws(() => wal.append([entry(2, 1)]), { message: 'EIO: the disk went away' });
    t.throws(() => wal.flush(true), { message: 'EIO: the disk went away' });
  })();
});

test('closing while a background step syncs closes its descriptor only once the sync ended', async (t) => {
  await withDir((dir) => {
    const { disk, held, closed, release } = heldSyncDisk();
    const { wal } = Wal.openOrCreate(options(dir, { disk, segmentBytes: 2 * walLimits.preparationChunkBytes }), metadata);
    wal.prepareStepInBackground(() => undefined);
    t.true(wal.prepareStepInBackground(() => undefined));
    const fd = held[0]!.fd;
    wal.close();
    t.false(closed.includes(fd), 'still in use by the running sync');
    release();
    t.true(closed.includes(fd));
  })();
});
