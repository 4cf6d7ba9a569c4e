// lock and elect from the command line: same output as etcdctl, the two tools queue fairly behind each other (they
// share etcd's key layout), a killed holder loses the lock when its lease expires, interrupts behave as etcdctl's.
import test from 'ava';
import { Client } from '../../client/client.js';
import { Mutex } from '../../client/concurrency/mutex.js';
import { Session } from '../../client/concurrency/session.js';
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

/** Recipe keys hold the lease ID in hex without leading zeros: 12 to 16 digits. */
const keys = (text: string) => text.replace(/\b([a-z]+)\/[0-9a-f]{12,16}\b/g, '$1/<lease>');

const tools: Array<[Tool, () => string]> = [
  ['etcdctl', () => s.etcd],
  ['tetcdctl', () => s.target],
];

test.serial('lock without a command prints the key, holds until interrupted, then releases', async (t) => {
  const outputs: string[] = [];
  for (const [tool, endpoint] of tools) {
    await reset(endpoint());
    const running = start(tool, endpoint(), ['lock', 'job'], { timeoutMs: 20_000 });
    t.true(await running.waitFor((out) => out.endsWith('\n\n'), 10_000), `${tool} took the lock`);
    const client = new Client({ endpoints: [endpoint()], transport: 'http' });
    t.is((await client.kv.get('job/', { prefix: true })).count, 1, `${tool} holds a key`);
    running.signal('SIGINT');
    const result = await running.done;
    t.is(result.code, 0, `${tool} exits 0 on interrupt`);
    t.is((await client.kv.get('job/', { prefix: true })).count, 0, `${tool} released the lock`);
    client.close();
    outputs.push(mask(keys(result.stdout)) + '|' + mask(result.stderr));
  }
  t.is(outputs[1], outputs[0]);
  t.is(outputs[0], 'job/<lease>\n\n|');
});

test.serial('lock with a command: runs it holding the lock, with ETCD_LOCK_KEY and ETCD_LOCK_REV', async (t) => {
  const revs = (text: string) => keys(text).replace(/ETCD_LOCK_REV=\d+/g, 'ETCD_LOCK_REV=<rev>');
  await same(t, s, { args: ['lock', 'job', '--', 'sh', '-c', 'echo "ETCD_LOCK_KEY=$ETCD_LOCK_KEY ETCD_LOCK_REV=$ETCD_LOCK_REV"'], mask: revs, process: true, exitCode: 0 });
  await same(t, s, { args: ['lock', 'job', 'echo', 'hello'], process: true, exitCode: 0 });
  await same(t, s, { args: ['lock', 'job', '--', 'sh', '-c', 'exit 3'], process: true, exitCode: 1 });
  await same(t, s, { args: ['lock', 'job', '--', 'no-such-command-anywhere'], process: true, exitCode: 1 });
  await same(t, s, { args: ['lock'], exitCode: 128 });
  await same(t, s, { args: ['lock', '--ttl', '5', 'job', 'true'], process: true, exitCode: 0 });
});

test.serial('lock waits behind a holder of the other tool, in order, and an interrupted waiter withdraws', async (t) => {
  // etcdctl speaks gRPC, which tetcd does not serve: on two servers, tetcdctl queues behind tetcdctl on the target
  const shared = s.etcd === s.target;
  const other: Tool = shared ? 'etcdctl' : 'tetcdctl';
  const server = s.target;
  await reset(server);
  const first = start(other, server, ['lock', 'q'], { timeoutMs: 30_000 });
  t.true(await first.waitFor((out) => out.length > 0, 10_000));
  const second = start('tetcdctl', server, ['lock', 'q', '--', 'echo', 'second'], { timeoutMs: 30_000 });
  const client = new Client({ endpoints: [server], transport: 'http' });
  // the second has queued its key
  const deadline = Date.now() + 10_000;
  while ((await client.kv.get('q/', { prefix: true })).count < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const third = start(other, server, ['lock', 'q', '--', 'echo', 'third'], { timeoutMs: 30_000 });
  while ((await client.kv.get('q/', { prefix: true })).count < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  t.is(second.stdout(), '', `tetcdctl waits while ${other} holds the lock`);
  t.is(third.stdout(), '');
  first.signal('SIGINT');
  const [r2, r3] = await Promise.all([second.done, third.done]);
  t.is(r2.stdout, 'second\n');
  t.is(r3.stdout, 'third\n');
  t.is(r2.code, 0);
  client.close();

  // a waiter interrupted before it gets the lock: "context canceled", exit 1, and its key withdrawn
  for (const [tool, endpoint] of tools) {
    const on = new Client({ endpoints: [endpoint()], transport: 'http' });
    await reset(endpoint());
    const holder = await Session.create(on, { ttlSeconds: 10 });
    const mutex = new Mutex(holder, 'w');
    await mutex.lock();
    const waiter = start(tool, endpoint(), ['lock', 'w'], { timeoutMs: 20_000 });
    while ((await on.kv.get('w/', { prefix: true })).count < 2 && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 50));
    waiter.signal('SIGINT');
    const result = await waiter.done;
    t.is(result.code, 1, tool);
    // etcdctl may first log a client-side retry warning, depending on timing: only the error line is compared
    const errorLines = mask(result.stderr).split('\n').filter((line) => line !== '<log>').join('\n');
    t.is(errorLines, 'Error: context canceled\n', tool);
    t.is((await on.kv.get('w/', { prefix: true })).count, 1, `${tool} withdrew its key`);
    await mutex.unlock();
    await holder.close();
    on.close();
  }
});

test.serial('a lock holder that is killed loses the lock once its lease expires', async (t) => {
  await reset(s.target);
  const holder = start('tetcdctl', s.target, ['lock', '--ttl', '2', 'dead'], { timeoutMs: 20_000 });
  t.true(await holder.waitFor((out) => out.length > 0, 10_000));
  const client = new Client({ endpoints: [s.target], transport: 'http' });
  const session = await Session.create(client, { ttlSeconds: 10 });
  const mutex = new Mutex(session, 'dead');
  holder.signal('SIGKILL');
  await holder.done;
  const started = Date.now();
  await mutex.lock();
  const waitedMs = Date.now() - started;
  t.true(waitedMs >= 500, `the lock stayed held until the lease expired (waited ${waitedMs} ms)`);
  t.true(waitedMs < 10_000, `and was free soon after (waited ${waitedMs} ms)`);
  await mutex.unlock();
  await session.close();
  client.close();
});

test.serial('elect: campaign prints the leader once elected; -l prints every leader; interrupt resigns', async (t) => {
  const outputs: string[] = [];
  for (const [tool, endpoint] of tools) {
    await reset(endpoint());
    const observer = start(tool, endpoint(), ['elect', '-l', 'e'], { timeoutMs: 30_000 });
    const a = start(tool, endpoint(), ['elect', 'e', 'alpha'], { timeoutMs: 30_000 });
    t.true(await a.waitFor((out) => out.includes('alpha\n'), 10_000), `${tool}: alpha elected`);
    t.true(await observer.waitFor((out) => out.includes('alpha\n'), 10_000), `${tool}: observer saw alpha`);
    const b = start(tool, endpoint(), ['elect', 'e', 'beta'], { timeoutMs: 30_000 });
    const client = new Client({ endpoints: [endpoint()], transport: 'http' });
    const deadline = Date.now() + 10_000;
    while ((await client.kv.get('e/', { prefix: true })).count < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    client.close();
    t.is(b.stdout(), '', `${tool}: beta waits`);
    a.signal('SIGINT');
    t.true(await b.waitFor((out) => out.includes('beta\n'), 10_000), `${tool}: beta elected after alpha resigned`);
    t.true(await observer.waitFor((out) => out.includes('beta\n'), 10_000), `${tool}: observer saw beta`);
    b.signal('SIGINT');
    observer.signal('SIGINT');
    const [ra, rb, ro] = await Promise.all([a.done, b.done, observer.done]);
    t.deepEqual([ra.code, rb.code, ro.code], [0, 0, 0], tool);
    const renamer = new Renamer();
    outputs.push([ra, rb, ro].map((r) => mask(keys(r.stdout), renamer) + '|' + mask(r.stderr, renamer)).join('\n--\n'));
  }
  t.is(outputs[1], outputs[0]);
  await same(t, s, { args: ['elect'], exitCode: 128 });
  await same(t, s, { args: ['elect', 'e'], exitCode: 128 });
  await same(t, s, { args: ['elect', 'e', 'a', 'b'], exitCode: 128 });
  await same(t, s, { args: ['elect', '-l', 'e', 'a', 'b'], exitCode: 128 });
});

test.serial('elect -l in json prints each leader as a range response', async (t) => {
  const outputs: string[] = [];
  for (const [tool, endpoint] of tools) {
    await reset(endpoint());
    const client = new Client({ endpoints: [endpoint()], transport: 'http' });
    const session = await Session.create(client, { ttlSeconds: 10 });
    const { Election } = await import('../../client/concurrency/election.js');
    const election = new Election(session, 'j');
    await election.campaign('v1');
    const observer = start(tool, endpoint(), ['elect', '-l', 'j', '-w', 'json'], { timeoutMs: 20_000 });
    t.true(await observer.waitFor((out) => out.includes('\n'), 10_000));
    observer.signal('SIGINT');
    const r = await observer.done;
    await election.resign();
    await session.close();
    client.close();
    // the key holds the lease ID, in base64 here
    outputs.push(mask(r.stdout).replace(/"key":"[^"]+"/g, '"key":<key>') + '|' + r.code);
  }
  t.is(outputs[1], outputs[0]);
  t.regex(outputs[0]!, /"kvs":\[\{"key":<key>,"create_revision":<rev1>,"mod_revision":<rev1>,"version":1,"value":"djE=","lease":<id3>\}\]\}\n\|0$/);
});
