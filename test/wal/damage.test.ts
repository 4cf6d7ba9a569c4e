// What boot does with a damaged log: a record torn at the very tail is cut off (at every byte offset it could have been
// torn at); anything else — a flipped byte anywhere in any record, a hole, a short middle segment — stops the boot with
// the file and byte offset named.
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Wal, type WalOptions } from '../../actors/wal/wal.js';
import { WalCorruptError } from '../../actors/wal/errors.js';
import { recordBytes, RecordType, scanRecords } from '../../actors/wal/record.js';
import type { Entry } from '../../actors/raft/core/types.js';
import { captureLog, entries, metadata, options, removeDir, segmentFiles, tempDir } from './helpers.js';

interface RecordSpan {
  type: number;
  offset: number;
  end: number;
}

interface Fixture {
  dir: string;
  opts: WalOptions;
  names: string[];
  log: Entry[];
  /** Pristine bytes of each segment, by name. */
  pristine: Map<string, Uint8Array>;
  records: Map<string, RecordSpan[]>;
}

function recordsOf(bytes: Uint8Array): RecordSpan[] {
  const spans: RecordSpan[] = [];
  scanRecords(bytes, bytes.length, undefined, (type, start, end, offset) => spans.push({ type, offset, end: offset + recordBytes(end - start) }));
  return spans;
}

/** A log over three or more small segments, whose last batch is three entries with no hard state after them. */
function build(): Fixture {
  const dir = tempDir();
  const opts = options(dir, { segmentBytes: 8192 });
  const { wal } = Wal.openOrCreate(opts, metadata);
  const log: Entry[] = [];
  let next = 1;
  while (wal.segmentNames().length < 3 || next < 60) {
    const batch = entries(next, next + 9, 1);
    wal.append(batch, { term: 1, vote: '', commit: next });
    wal.flush(true);
    log.push(...batch);
    next += 10;
  }
  const last = entries(next, next + 2, 1);
  wal.append(last);
  wal.flush(true);
  log.push(...last);
  wal.close();
  const names = segmentFiles(opts.dir);
  const pristine = new Map<string, Uint8Array>();
  const records = new Map<string, RecordSpan[]>();
  for (const name of names) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(opts.dir, name)));
    pristine.set(name, bytes);
    records.set(name, recordsOf(bytes));
  }
  return { dir, opts, names, log, pristine, records };
}

function restore(f: Fixture): void {
  for (const [name, bytes] of f.pristine) fs.writeFileSync(path.join(f.opts.dir, name), bytes);
}

const fixture = build();
test.after.always(() => removeDir(fixture.dir));

function lastName(f: Fixture): string {
  return f.names[f.names.length - 1]!;
}

function tornCases(f: Fixture, damage: (file: string, cut: number, pristine: Uint8Array) => void, t: import('ava').ExecutionContext): void {
  const name = lastName(f);
  const file = path.join(f.opts.dir, name);
  const spans = f.records.get(name)!;
  const lastThree = spans.slice(-3);
  t.true(lastThree.every((s) => s.type === RecordType.Entry), 'the last batch is three entry records');
  const from = lastThree[0]!.offset;
  const to = lastThree[2]!.end;
  let repairs = 0;
  for (let cut = from; cut <= to; cut++) {
    restore(f);
    damage(file, cut, f.pristine.get(name)!);
    const captured = captureLog();
    const { wal, state } = Wal.open({ ...f.opts, log: captured.log });
    const complete = lastThree.filter((s) => s.end <= cut).length;
    const expected = f.log.length - 3 + complete;
    const atBoundary = lastThree.some((s) => s.offset === cut) || cut === to;
    if (state.entries.length !== expected || state.entries[expected - 1]!.index !== f.log[expected - 1]!.index) {
      t.fail(`cut at ${cut}: boot returned ${state.entries.length} entries, expected ${expected}`);
      wal.close();
      return;
    }
    t.deepEqual(state.entries[expected - 1], f.log[expected - 1]);
    const warned = captured.lines.some((l) => l.level === 'warn' && /torn/.test(l.msg));
    if (warned !== !atBoundary) {
      t.fail(`cut at ${cut}: torn warning ${warned}, expected ${!atBoundary}`);
    }
    if (warned) repairs++;
    // the log continues cleanly after the repair: a new entry replaces the lost ones and survives a reboot
    if (cut % 7 === 0) {
      const replacement = entries(expected + 1, expected + 1, 2);
      wal.append(replacement);
      wal.flush(true);
      wal.close();
      const again = Wal.open(f.opts);
      t.deepEqual(again.state.entries.at(-1), replacement[0]);
      t.is(again.state.entries.length, expected + 1);
      again.wal.close();
    } else {
      wal.close();
    }
  }
  t.true(repairs > 500, `${repairs} torn cuts repaired`);
}

test.serial('a tail cut at every byte offset of the last batch (file truncated): boot keeps every whole record before it', (t) => {
  tornCases(fixture, (file, cut) => fs.truncateSync(file, cut), t);
});

test.serial('a tail torn at every byte offset of the last batch in preallocated space (zeros after): boot repairs it', (t) => {
  tornCases(
    fixture,
    (file, cut, pristine) => {
      const bytes = new Uint8Array(pristine);
      bytes.fill(0, cut, bytes.length);
      fs.writeFileSync(file, bytes);
    },
    t,
  );
});

function flipEveryByte(f: Fixture, name: string, span: RecordSpan, t: import('ava').ExecutionContext): void {
  const file = path.join(f.opts.dir, name);
  let refused = 0;
  for (let at = span.offset; at < span.end; at++) {
    restore(f);
    const bytes = new Uint8Array(f.pristine.get(name)!);
    bytes[at] = bytes[at]! ^ (1 << (at % 8));
    fs.writeFileSync(file, bytes);
    try {
      const { wal } = Wal.open(f.opts);
      wal.close();
      t.fail(`a flipped bit at ${name}:${at} was not noticed`);
      return;
    } catch (error) {
      if (!(error instanceof WalCorruptError)) throw error;
      if (error.file !== name || error.offset !== span.offset) {
        t.fail(`flip at ${at}: reported ${error.file}:${error.offset}, expected ${name}:${span.offset}`);
        return;
      }
      t.true(error.message.includes(name) && error.message.includes(`offset ${span.offset}`));
      refused++;
    }
  }
  t.is(refused, span.end - span.offset);
}

test.serial('a flipped bit anywhere in a record in the middle of an older segment stops the boot, naming file and offset', (t) => {
  const name = fixture.names[1]!;
  const spans = fixture.records.get(name)!;
  flipEveryByte(fixture, name, spans[Math.floor(spans.length / 2)]!, t);
  // and in its segment header
  flipEveryByte(fixture, name, spans[0]!, t);
});

test.serial('a flipped bit anywhere in a record in the middle of the last segment stops the boot, naming file and offset', (t) => {
  const name = lastName(fixture);
  const spans = fixture.records.get(name)!;
  t.true(spans.length >= 6);
  flipEveryByte(fixture, name, spans[Math.floor(spans.length / 2)]!, t);
  // the record just before the last batch is followed by whole records: damage there is not a torn tail either
  flipEveryByte(fixture, name, spans[spans.length - 4]!, t);
});

test.serial('a hole of zeros inside the last segment, or stray bytes after its end, stop the boot', (t) => {
  const name = lastName(fixture);
  const file = path.join(fixture.opts.dir, name);
  const spans = fixture.records.get(name)!;
  const middle = spans[Math.floor(spans.length / 2)]!;
  restore(fixture);
  const holed = new Uint8Array(fixture.pristine.get(name)!);
  holed.fill(0, middle.offset, middle.end);
  fs.writeFileSync(file, holed);
  const hole = t.throws(() => Wal.open(fixture.opts), { instanceOf: WalCorruptError });
  t.is(hole?.offset, middle.offset);

  restore(fixture);
  const stray = new Uint8Array(fixture.pristine.get(name)!);
  const end = spans.at(-1)!.end;
  stray[end + 1000] = 1;
  fs.writeFileSync(file, stray);
  const after = t.throws(() => Wal.open(fixture.opts), { instanceOf: WalCorruptError });
  t.is(after?.offset, end);
  restore(fixture);
});

test.serial('an older segment cut short stops the boot: only the last segment can end in a torn write', (t) => {
  const name = fixture.names[1]!;
  const spans = fixture.records.get(name)!;
  const last = spans.at(-1)!;
  restore(fixture);
  fs.truncateSync(path.join(fixture.opts.dir, name), last.end - 3);
  const error = t.throws(() => Wal.open(fixture.opts), { instanceOf: WalCorruptError });
  t.is(error?.file, name);
  t.is(error?.offset, last.offset);
  restore(fixture);
  const { state, wal } = Wal.open(fixture.opts);
  t.is(state.entries.length, fixture.log.length, 'the pristine log boots whole');
  wal.close();
});
