// watch: events in every format, ranges, --prev-kv, -- command, canceled watches, watch -i (with progress), and
// the argument errors; same output as etcdctl. Watches start at a fixed revision (--rev) after the writes were made,
// so both tools print the same events whatever their start-up time; each run ends once the expected output is there.
import test from 'ava';
import { Client } from '../../client/client.js';
import { mask, Renamer, reset, same, startSides, start, type Servers, type Sides, type Tool } from './helpers/diff.js';

let servers: Servers;
let s: Sides;

test.before(async () => {
  servers = await startSides();
  s = servers;
});

test.after.always(async () => {
  await servers?.stop();
});

/** Writes the scenario's history; returns the revision of its first write. */
async function history(endpoint: string): Promise<number> {
  await reset(endpoint);
  const client = new Client({ endpoints: [endpoint], transport: 'http' });
  try {
    const first = (await client.kv.put('w', '1')).header.revision;
    await client.kv.put('w', '2');
    await client.kv.put('wa', '3');
    await client.kv.txn().success({ requestPut: { key: Buffer.from('wb'), value: Buffer.from('4') } }, { requestPut: { key: Buffer.from('wc'), value: Buffer.from('5') } }).commit();
    await client.kv.delete('w');
    await client.kv.delete('wa', { prevKv: true });
    await client.kv.put('x', 'outside');
    return first;
  } finally {
    client.close();
  }
}

/**
 * Events of concurrent watches interleave differently run to run, and etcdctl prints each watch from its own
 * goroutine line by line, so even one event's lines can be split by another watch's: compare the lines as a multiset.
 */
function sortLines(text: string): string {
  return text.replace(/\n$/, '').split('\n').sort().join('\n');
}

interface WatchRun {
  args: (rev: number) => string[];
  /** Several watches print concurrently. */
  concurrent?: boolean;
  /** Output is complete once this many lines are on stdout. */
  lines: number;
  input?: (rev: number) => string;
  env?: Record<string, string>;
}

async function watchRun(tool: Tool, endpoint: string, w: WatchRun): Promise<{ stdout: string; stderr: string; code: number | null; complete: boolean }> {
  const rev = await history(endpoint);
  const options = w.env ? { timeoutMs: 20_000, env: w.env } : { timeoutMs: 20_000 };
  const running = start(tool, endpoint, w.args(rev), options);
  if (w.input) running.write(w.input(rev));
  const complete = await running.waitFor((out) => out.split('\n').length - 1 >= w.lines, 10_000);
  await new Promise((r) => setTimeout(r, 500)); // nothing more may come
  if (w.input) running.endInput();
  else running.signal('SIGTERM');
  const result = await running.done;
  const renamer = new Renamer();
  const revisions = (text: string) => text.replace(/progress notify: \d+/g, (m) => `progress notify: ${renamer.name('rev', m.slice(17))}`);
  const stdout = mask(revisions(result.stdout), renamer);
  return { stdout: w.concurrent ? sortLines(stdout) : stdout, stderr: mask(result.stderr, renamer), code: result.code, complete };
}

async function sameWatch(t: import('ava').ExecutionContext, w: WatchRun): Promise<void> {
  const expected = await watchRun('etcdctl', s.etcd, w);
  const actual = await watchRun('tetcdctl', s.target, w);
  t.true(expected.complete, 'etcdctl printed the expected output');
  t.is(actual.stdout, expected.stdout);
  t.is(actual.stderr, expected.stderr);
  t.is(actual.code, expected.code);
}

test.serial('watch: a key, a prefix, a range, with --prev-kv, in every format', async (t) => {
  for (const w of ['simple', 'json', 'fields']) {
    const simple = w === 'simple';
    await sameWatch(t, { args: (rev) => ['watch', 'w', `--rev=${rev}`, '-w', w], lines: simple ? 9 : 1 });
    await sameWatch(t, { args: (rev) => ['watch', 'w', '--prefix', '--prev-kv', `--rev=${rev}`, '-w', w], lines: simple ? 27 : 1 });
  }
  await sameWatch(t, { args: (rev) => ['watch', 'w', '--prefix', `--rev=${rev}`], lines: 21 });
  await sameWatch(t, { args: (rev) => ['watch', 'wa', 'wz', `--rev=${rev}`], lines: 12 });
  await sameWatch(t, { args: (rev) => ['watch', '--prefix', 'w', `--rev=${rev}`, '--hex'], lines: 21 });
  await sameWatch(t, { args: (rev) => ['watch', 'w', 'wz', 'ignored', `--rev=${rev}`], lines: 9 });
  await sameWatch(t, { args: (rev) => ['watch', `--rev=${rev}`], env: { ETCDCTL_WATCH_KEY: 'w', ETCDCTL_WATCH_RANGE_END: 'wz' }, lines: 21 });
});

test.serial('watch -- command: runs once per event with the event in its environment', async (t) => {
  const command = ['sh', '-c', 'echo "cmd $ETCD_WATCH_REVISION $ETCD_WATCH_KEY $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_VALUE"'];
  const masked = (rev: number) => ['watch', 'w', '--prefix', `--rev=${rev}`, '--', ...command];
  const expected = await watchRun('etcdctl', s.etcd, { args: masked, lines: 28 });
  const actual = await watchRun('tetcdctl', s.target, { args: masked, lines: 28 });
  const revisions = (text: string) => text.replace(/^cmd \d+/gm, 'cmd <rev>');
  t.true(expected.complete);
  t.is(revisions(actual.stdout), revisions(expected.stdout));
  t.regex(expected.stdout, /cmd \d+ "wb" "PUT" "4"\ncmd \d+ "wc" "PUT" "5"/);
});

test.serial('watch: canceled by the server (compacted revision, empty range) exits 5', async (t) => {
  const compacted = async (tool: Tool, endpoint: string, format: string) => {
    const rev = await history(endpoint);
    const client = new Client({ endpoints: [endpoint], transport: 'http' });
    await client.kv.compact(rev + 3);
    client.close();
    return start(tool, endpoint, ['watch', 'w', `--rev=${rev}`, '-w', format], { timeoutMs: 20_000 }).done;
  };
  for (const format of ['simple', 'json']) {
    const expected = await compacted('etcdctl', s.etcd, format);
    const actual = await compacted('tetcdctl', s.target, format);
    t.is(expected.code, 5);
    t.is(mask(actual.stderr), mask(expected.stderr));
    t.is(mask(actual.stdout), mask(expected.stdout));
    t.is(actual.code, expected.code);
  }
  await same(t, s, { args: ['watch', 'w', 'b'], exitCode: 5, process: true });
});

test.serial('watch: argument errors', async (t) => {
  await same(t, s, { args: ['watch'], exitCode: 128 });
  await same(t, s, { args: ['watch', 'w', '--'], exitCode: 128 });
  await same(t, s, { args: ['watch', '--', 'echo', 'hi'], exitCode: 128 });
  await same(t, s, { args: ['watch', 'w', 'wz', '--prefix'], exitCode: 128 });
  await same(t, s, { args: ['watch', 'w'], env: { ETCDCTL_WATCH_KEY: 'w' }, exitCode: 128 });
  await same(t, s, { args: ['watch'], env: { ETCDCTL_WATCH_RANGE_END: 'w' }, exitCode: 128 });
});

test.serial('watch -i: watch lines with their own flags, progress, invalid lines, EOF', async (t) => {
  const input = (rev: number) =>
    [`watch w --rev=${rev}`, 'bogus x', '', 'watch', `watch wa --prev-kv --rev=${rev}`, `watch wb wz --prefix`].join('\n') + '\n';
  await sameWatch(t, { args: () => ['watch', '-i'], input, lines: 17, concurrent: true });
  // a line with a flag watch does not know ends the session
  await sameWatch(t, { args: () => ['watch', '-i'], input: (rev) => `watch w --rev=${rev} -w json\n`, lines: 0 });
  // a progress request answers with the current revision
  const progress = () => 'watch nothing\nprogress\n';
  await sameWatch(t, { args: () => ['watch', '-i'], input: progress, lines: 1 });
  await sameWatch(t, { args: () => ['watch', '-i', '-w', 'json'], input: progress, lines: 2 });
});
