// What tetcdctl does beyond etcdctl 3.4 (features of etcdctl 3.5 the task asks for), and tetcdctl over WebSocket:
// get --count-only, watch --progress-notify, and commands through a WebSocket gateway giving the same output as
// etcdctl gives against etcd directly.
import test from 'ava';
import { Client } from '../../client/client.js';
import { startEtcd, type Etcd } from '../client/helpers/etcd.js';
import { startWsGateway, type WsGateway } from '../client/helpers/ws-gateway.js';
import { run, runInProcess, same, start } from './helpers/diff.js';

let etcd: Etcd;
let gateway: WsGateway;

test.before(async () => {
  etcd = await startEtcd({ progressNotifyInterval: '300ms' });
  gateway = await startWsGateway(etcd.clientPort);
});

test.after.always(async () => {
  await gateway?.close();
  await etcd?.stop();
});

test.serial('get --count-only (etcdctl 3.5): fields output with the count, refused in other formats', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  for (let i = 0; i < 3; i++) await client.kv.put(`count/${i}`, 'v');
  client.close();
  const fields = await runInProcess(etcd.endpoint, ['get', 'count/', '--prefix', '--count-only', '-w', 'fields']);
  t.is(fields.code, 0);
  t.regex(fields.stdout, /^"ClusterID" : \d+\n"MemberID" : \d+\n"Revision" : \d+\n"RaftTerm" : \d+\n"More" : false\n"Count" : 3\n$/);
  const simple = await runInProcess(etcd.endpoint, ['get', 'count/', '--prefix', '--count-only']);
  t.is(simple.code, 128);
  t.is(simple.stderr, 'Error: --count-only is only for `--write-out=fields`\n');
});

test.serial('watch --progress-notify (etcdctl 3.5): prints the server\'s periodic progress', async (t) => {
  const running = start('tetcdctl', etcd.endpoint, ['watch', 'quiet', '--progress-notify'], { timeoutMs: 15_000 });
  const seen = await running.waitFor((out) => /^progress notify: \d+\n/m.test(out), 10_000);
  running.signal('SIGTERM');
  const result = await running.done;
  t.true(seen, result.stdout + result.stderr);
  t.regex(result.stdout, /^(progress notify: \d+\n)+$/);
});

test.serial('tetcdctl over WebSocket prints what etcdctl prints over gRPC', async (t) => {
  const ws = { TETCDCTL_TRANSPORT: 'ws' };
  const both = { etcd: etcd.endpoint, target: gateway.endpoint };
  const env = ws;
  const setup = async (c: Client) => {
    await c.kv.put('a', '1');
    await c.kv.put('b', '2');
    return (await c.lease.grant(100)).ID.toString(16);
  };
  for (const w of ['simple', 'json', 'fields']) {
    await same(t, both, { setup, args: ['get', '', '--prefix', '-w', w], env, exitCode: 0 });
    await same(t, both, { setup, args: ['put', 'a', 'x', '--prev-kv', '-w', w], env, exitCode: 0 });
    await same(t, both, { setup, args: (id) => ['lease', 'keep-alive', '--once', id, '-w', w], env, exitCode: 0 });
  }
  await same(t, both, { setup, args: ['put', '', 'x'], env, exitCode: 1 });
  await same(t, both, { setup, args: ['txn'], stdin: 'value("a") = "1"\n\nput a 2\n\nget b\n\n', env, exitCode: 0 });
  t.true((gateway.upgrades.get('/v3/kv/range') ?? 0) >= 1, 'unary calls went over WebSocket');
  t.true((gateway.upgrades.get('/v3/lease/keepalive') ?? 0) >= 1, 'keep-alives went over WebSocket');
});

test.serial('tetcdctl watch over WebSocket: the same events as etcdctl', async (t) => {
  const client = new Client({ endpoints: [etcd.endpoint] });
  const first = (await client.kv.put('ww', '1')).header.revision;
  await client.kv.put('ww', '2');
  await client.kv.delete('ww');
  client.close();
  const outputs: string[] = [];
  for (const [tool, endpoint, env] of [['etcdctl', etcd.endpoint, {}], ['tetcdctl', gateway.endpoint, { TETCDCTL_TRANSPORT: 'ws' }]] as const) {
    const running = start(tool, endpoint, ['watch', 'ww', `--rev=${first}`, '--prev-kv'], { timeoutMs: 15_000, env });
    await running.waitFor((out) => out.split('\n').length > 13, 10_000);
    running.signal('SIGTERM');
    outputs.push((await running.done).stdout);
  }
  t.is(outputs[1], outputs[0]);
  t.is(outputs[0], 'PUT\nww\n1\nPUT\nww\n1\nww\n2\nDELETE\nww\n2\nww\n\n');
  t.true((gateway.upgrades.get('/v3/watch') ?? 0) >= 1);
  // and the binary starts and answers with nothing but its own modules loaded for a get
  const r = await run('tetcdctl', gateway.endpoint, ['get', 'ww', '-w', 'json'], { env: { TETCDCTL_TRANSPORT: 'ws' } });
  t.is(r.code, 0);
});
