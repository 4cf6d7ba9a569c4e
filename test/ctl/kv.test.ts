// put, get, del, compaction: tetcdctl's stdout, stderr and exit code equal etcdctl's, in every output format etcdctl
// has for them, for the flags and the error cases people hit.
import test from 'ava';
import type { Client } from '../../client/client.js';
import { same, startSides, type Servers, type Sides } from './helpers/diff.js';

let servers: Servers;
let s: Sides;

test.before(async () => {
  servers = await startSides();
  s = servers;
});

test.after.always(async () => {
  await servers?.stop();
});

const formats = ['simple', 'json', 'fields'];

async function some(client: Client): Promise<void> {
  for (const [k, v] of [['a', '1'], ['b', '2'], ['c', '3'], ['abc', 'x y'], ['d/1', 'one'], ['d/2', 'two']] as const) await client.kv.put(k, v);
  await client.kv.put('a', '11');
}

test.serial('put: OK, --prev-kv, --ignore-value, --ignore-lease, lease, value from stdin', async (t) => {
  for (const w of [...formats, 'table']) {
    await same(t, s, { args: ['put', 'k', 'v', '-w', w] });
    await same(t, s, { setup: some, args: ['put', 'a', 'new', '--prev-kv', '-w', w] });
  }
  await same(t, s, { setup: some, args: ['put', 'a', '--ignore-value'] });
  await same(t, s, { setup: some, args: ['put', 'missing', '--ignore-value'], exitCode: 1 });
  await same(t, s, { setup: some, args: ['put', 'a', 'v', 'extra', '--ignore-value'], exitCode: 128 });
  await same(t, s, { setup: some, args: ['put', 'a', 'v2', '--ignore-lease'] });
  await same(t, s, { setup: some, args: ['put', 'a', '--ignore-value', '--ignore-lease'] });
  await same(t, s, {
    setup: async (c) => (await c.lease.grant(100)).ID.toString(16),
    args: (lease) => ['put', 'leased', 'v', `--lease=${lease}`],
  });
  await same(t, s, { args: ['put', 'k', 'v', '--lease=123'], exitCode: 1 });
  await same(t, s, { args: ['put', 'k', 'v', '--lease=zz'], exitCode: 128 });
  await same(t, s, { args: ['put', 'k'], stdin: 'from stdin\n' });
  // the binary itself, once for each kind of outcome
  await same(t, s, { args: ['put', 'k'], stdin: 'from stdin\n', process: true });
  await same(t, s, { setup: some, args: ['get', '', '--prefix', '-w', 'json'], process: true });
  await same(t, s, { args: ['put', 'k', 'v', '--lease=123'], exitCode: 1, process: true });
  await same(t, s, { args: ['put'], exitCode: 128, process: true });
  await same(t, s, { args: ['put', 'k'], stdin: '', exitCode: 128 });
  await same(t, s, { args: ['put'], exitCode: 128 });
  await same(t, s, { args: ['put', '', 'v'], exitCode: 1 });
  await same(t, s, { args: ['put', '--', '-dash', 'v'] });
  await same(t, s, { args: ['put', 'k', 'v', 'extra'] });
});

test.serial('get: ranges, prefix, from-key, limit, sort, order, keys-only, value-only, rev, consistency', async (t) => {
  const cases: string[][] = [
    ['get', 'a'],
    ['get', 'nothing'],
    ['get', 'a', 'c'],
    ['get', 'a', '--prefix'],
    ['get', '', '--prefix'],
    ['get', 'b', '--from-key'],
    ['get', '', '--from-key', '--limit=2'],
    ['get', '', '--prefix', '--limit', '3'],
    ['get', 'd/', '--prefix', '--order=DESCEND'],
    ['get', '', '--prefix', '--sort-by=MODIFY', '--order=DESCEND'],
    ['get', '', '--prefix', '--sort-by=CREATE', '--order=ASCEND', '--keys-only'],
    ['get', '', '--prefix', '--sort-by=VALUE'],
    ['get', '', '--prefix', '--sort-by=VERSION', '--order=DESCEND'],
    ['get', '', '--prefix', '--sort-by=KEY', '--order=ASCEND'],
    ['get', '', '--prefix', '--keys-only'],
    ['get', '', '--prefix', '--print-value-only'],
    ['get', '', '--prefix', '--print-value-only', '--keys-only'],
    ['get', 'a', '--consistency=s'],
    ['get', '', '--prefix', '--limit=-1'],
  ];
  for (const args of cases) {
    for (const w of formats) {
      if (args.includes('--print-value-only') && w !== 'simple') continue;
      await same(t, s, { setup: some, args: [...args, '-w', w] });
    }
  }
  await same(t, s, { setup: some, args: ['get', 'a', '--hex'] });
  await same(t, s, { setup: some, args: ['get', 'a', '--hex', '-w', 'json'] });
  await same(t, s, { setup: some, args: ['get', 'a', '--hex', '-w', 'fields'] });
  // revisions: the state of the scenario's own history
  await same(t, s, {
    setup: async (c) => {
      const r = await c.kv.put('h', 'old');
      await c.kv.put('h', 'new');
      return r.header.revision;
    },
    args: (rev) => ['get', 'h', `--rev=${rev}`, '-w', 'json'],
  });
  await same(t, s, { setup: some, args: ['get', 'a', '--rev=999999'], exitCode: 1 });
});

test.serial('get: argument and flag errors', async (t) => {
  const cases: Array<[string[], number]> = [
    [['get'], 128],
    [['get', 'a', '--prefix', '--from-key'], 128],
    [['get', 'a', 'b', '--prefix'], 128],
    [['get', 'a', '--sort-by=bogus'], 4],
    [['get', 'a', '--order=bogus'], 4],
    [['get', 'a', '--consistency=x'], 4],
    [['get', 'a', '--print-value-only', '-w', 'json'], 128],
    [['get', 'a', '-w', 'table'], 4],
    [['get', 'a', '-w', 'bogus'], 4],
  ];
  for (const [args, code] of cases) await same(t, s, { setup: some, args, exitCode: code });
  // flag parse errors: the usage text on stdout is our own, so only stderr and the exit code are compared
  for (const args of [['get', 'a', '--bogus'], ['get', 'a', '--rev'], ['get', 'a', '--rev=abc'], ['get', 'a', '-w'], ['get', 'a', '--prefix=maybe'], ['put', 'k', '-1']]) {
    await same(t, s, { args, mask: (text) => (text.includes('Error:') ? text : ''), exitCode: 1 });
  }
});

test.serial('get: binary keys and values', async (t) => {
  const binary = Buffer.from([0x61, 0x01, 0xff, 0x22, 0x5c, 0x09, 0x62, 0x0a, 0xe2, 0x82, 0xac, 0xc2, 0xa0, 0x3c, 0x26, 0x3e, 0xed, 0xa0, 0x80]);
  for (const w of formats) {
    await same(t, s, { setup: async (c) => void (await c.kv.put(binary, binary)), args: ['get', '', '--prefix', '-w', w] });
  }
  await same(t, s, { setup: async (c) => void (await c.kv.put(binary, binary)), args: ['get', '', '--prefix', '--hex'] });
});

test.serial('del: single, range, prefix, from-key, prev-kv, errors', async (t) => {
  for (const w of [...formats, 'table']) {
    await same(t, s, { setup: some, args: ['del', 'a', '-w', w] });
    await same(t, s, { setup: some, args: ['del', 'd/', '--prefix', '--prev-kv', '-w', w] });
  }
  await same(t, s, { setup: some, args: ['del', 'nothing'] });
  await same(t, s, { setup: some, args: ['del', 'a', 'c', '--prev-kv'] });
  await same(t, s, { setup: some, args: ['del', 'b', '--from-key'] });
  await same(t, s, { setup: some, args: ['del', '', '--prefix'] });
  await same(t, s, { setup: some, args: ['del'], exitCode: 128 });
  await same(t, s, { setup: some, args: ['del', 'a', 'b', 'c'], exitCode: 128 });
  await same(t, s, { setup: some, args: ['del', 'a', '--prefix', '--from-key'], exitCode: 128 });
  await same(t, s, { setup: some, args: ['del', 'a', 'b', '--prefix'], exitCode: 128 });
});

test.serial('compaction: revision, --physical, compacted and future revisions, bad input', async (t) => {
  const history = async (c: Client) => {
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await c.kv.put('h', String(i))).header.revision;
    return last;
  };
  const revisionInText = (text: string) => text.replace(/compacted revision \d+/, 'compacted revision <n>');
  await same(t, s, { setup: history, args: (rev) => ['compaction', String(rev - 2)], mask: revisionInText });
  await same(t, s, { setup: history, args: (rev) => ['compaction', String(rev - 1), '--physical', '-w', 'json'], mask: revisionInText });
  await same(t, s, {
    setup: async (c) => {
      const rev = await history(c);
      await c.kv.compact(rev - 1);
      return rev;
    },
    args: (rev) => ['compaction', String(rev - 3)],
    exitCode: 1,
  });
  await same(t, s, { setup: history, args: ['compaction', '99999999'], exitCode: 1 });
  await same(t, s, { args: ['compaction'], exitCode: 128 });
  await same(t, s, { args: ['compaction', 'x'], exitCode: 1 });
  await same(t, s, {
    setup: async (c) => {
      const rev = await history(c);
      await c.kv.compact(rev - 1);
      return rev;
    },
    args: (rev) => ['get', 'h', `--rev=${rev - 3}`],
    exitCode: 1,
  });
});
