// lease grant, revoke, timetolive (--keys), list, keep-alive (--once and the loop): same output as etcdctl.
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

const formats = ['simple', 'json', 'fields'];
/** Remaining TTL depends on when the command ran. */
const remaining = (text: string) =>
  text.replace(/remaining\(\d+s\)/g, 'remaining(<n>s)').replace(/"ttl":\d+/g, '"ttl":<n>').replace(/^"TTL" : \d+$/gm, '"TTL" : <n>');

test.serial('lease grant in every format, and its errors', async (t) => {
  for (const w of [...formats, 'table']) await same(t, s, { args: ['lease', 'grant', '100', '-w', w] });
  await same(t, s, { args: ['lease', 'grant', '1'] });
  await same(t, s, { args: ['lease', 'grant'], exitCode: 128 });
  await same(t, s, { args: ['lease', 'grant', 'x'], exitCode: 128 });
  await same(t, s, { args: ['lease', 'grant', '9000000001'], exitCode: 1 });
});

test.serial('lease revoke, timetolive (--keys), list', async (t) => {
  const withKey = async (c: Client) => {
    const id = (await c.lease.grant(100)).ID;
    await c.kv.put('lk', 'v', { lease: id });
    return id.toString(16);
  };
  for (const w of [...formats, 'table']) {
    await same(t, s, { setup: withKey, args: (id) => ['lease', 'revoke', id, '-w', w] });
    await same(t, s, { setup: withKey, args: (id) => ['lease', 'timetolive', id, '-w', w], mask: remaining });
    await same(t, s, { setup: withKey, args: (id) => ['lease', 'timetolive', id, '--keys', '-w', w], mask: remaining });
    await same(t, s, { setup: withKey, args: ['lease', 'list', '-w', w] });
    await same(t, s, { args: ['lease', 'list', '-w', w] });
    await same(t, s, { args: ['lease', 'timetolive', '1234', '-w', w] });
  }
  const withoutKeys = async (c: Client) => (await c.lease.grant(100)).ID.toString(16);
  await same(t, s, { setup: withoutKeys, args: (id) => ['lease', 'timetolive', id, '--keys'], mask: remaining });
  await same(t, s, { setup: withoutKeys, args: (id) => ['lease', 'timetolive', id, '--keys', '-w', 'json'], mask: remaining });
  await same(t, s, { args: ['lease', 'revoke', '1234'], exitCode: 1 });
  await same(t, s, { args: ['lease', 'revoke'], exitCode: 128 });
  await same(t, s, { args: ['lease', 'revoke', 'zz'], exitCode: 128 });
  await same(t, s, { args: ['lease', 'timetolive'], exitCode: 128 });
  await same(t, s, { args: ['lease', 'timetolive', 'zz'], exitCode: 128 });
  // a lease whose keys were deleted with it
  await same(t, s, {
    setup: async (c) => {
      const id = await withKey(c);
      await c.lease.revoke(BigInt('0x' + id));
      return id;
    },
    args: (id) => ['lease', 'timetolive', id, '--keys'],
  });
});

test.serial('lease keep-alive --once, and errors', async (t) => {
  const lease = async (c: Client) => (await c.lease.grant(100)).ID.toString(16);
  for (const w of [...formats, 'table']) await same(t, s, { setup: lease, args: (id) => ['lease', 'keep-alive', '--once', id, '-w', w] });
  await same(t, s, { args: ['lease', 'keep-alive', '--once', '1234'], exitCode: 2 });
  await same(t, s, { args: ['lease', 'keep-alive'], exitCode: 128 });
  await same(t, s, { args: ['lease', 'keep-alive', '1234'], exitCode: 0 });
  await same(t, s, { args: ['lease', 'keep-alive', '1234'], exitCode: 0, process: true });
});

/** Runs `lease keep-alive` until its first renewal, revokes the lease, and returns what it printed. */
async function keepAliveUntilRevoked(tool: Tool, endpoint: string, format: string): Promise<{ out: string; code: number | null }> {
  await reset(endpoint);
  const client = new Client({ endpoints: [endpoint], transport: 'http' });
  try {
    const id = (await client.lease.grant(6)).ID;
    const running = start(tool, endpoint, ['lease', 'keep-alive', id.toString(16), '-w', format], { timeoutMs: 20_000 });
    const renewed = await running.waitFor((out) => out.length > 0, 10_000);
    await client.lease.revoke(id);
    const result = await running.done;
    if (!renewed) return { out: 'no renewal seen', code: result.code };
    // renewals every TTL/3 s: how many happened before the revoke depends on timing, so repeats are folded
    const lines = result.stdout.split('\n').filter((l, i, all) => i === 0 || l !== all[i - 1]);
    return { out: mask(lines.join('\n'), new Renamer()), code: result.code };
  } finally {
    client.close();
  }
}

test.serial('lease keep-alive renews until the lease is revoked, then says so', async (t) => {
  for (const format of ['simple', 'json']) {
    const expected = await keepAliveUntilRevoked('etcdctl', s.etcd, format);
    const actual = await keepAliveUntilRevoked('tetcdctl', s.target, format);
    t.is(actual.out, expected.out);
    t.is(actual.code, expected.code);
    t.regex(expected.out, format === 'simple' ? /keepalived with TTL\(6\)\nlease <id\d> expired or revoked\.\n/ : /"TTL":6/);
  }
});
