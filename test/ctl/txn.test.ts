// txn and txn -i: etcdctl's input syntax (compares, success and failure requests with their own flags) and output,
// byte for byte, including the parse errors people make.
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

async function some(client: Client): Promise<void> {
  await client.kv.put('a', '1');
  await client.kv.put('b', '2');
  await client.kv.put('tx', 'y');
  await client.kv.put('x y', 'a b');
}

const txnText = (compares: string[], success: string[], failure: string[]) =>
  [...compares, '', ...success, '', ...failure, '', ''].join('\n');

test.serial('txn: success and failure branches in every format, with and without -i', async (t) => {
  const inputs = [
    txnText(['value("tx") = "y"'], ['put a 10', 'get tx', 'del zz'], ['put b 20']),
    txnText(['value("tx") = "no"'], ['put a 10'], ['get a', 'get b --prefix', 'del a --prev-kv']),
    txnText(['mod("a") > "0"', 'version("a") = "1"', 'create("a") < "1000000"', 'val("b") != "x"', 'ver("b") = "1"', 'c("b") > "1"', 'm("b") > "1"'], ['get "x y" --print-value-only'], []),
    txnText([], ['put "q r" "s t"', 'get --prefix q', 'put k v --prev-kv', 'get a --limit=1 --sort-by=KEY'], []),
    txnText(['value("a")  = "1"', 'value("a") = "1" trailing'], ['put a "b\\"c"', 'put n "x\\ny"'], []),
    txnText([], [], []),
    txnText([], ['get a b c'], []),
  ];
  for (const stdin of inputs) {
    for (const w of ['simple', 'json', 'fields']) {
      await same(t, s, { setup: some, args: ['txn', '-w', w], stdin, exitCode: 0 });
    }
    const interactive = await same(t, s, { setup: some, args: ['txn', '-i'], stdin, exitCode: 0 });
    t.regex(interactive.stdout, /^compares:\nsuccess requests \(get, put, del\):\nfailure requests \(get, put, del\):\n(SUCCESS|FAILURE)\n/);
  }
  await same(t, s, { setup: some, args: ['txn', '-w', 'table'], stdin: inputs[0]!, exitCode: 4 });
  await same(t, s, { setup: some, args: ['txn'], stdin: inputs[0]!, process: true });
});

test.serial('txn: lease compares (hex lease ID, as etcdctl 3.5 reads them)', async (t) => {
  // etcdctl 3.4 crashes on lease("k") compares; only check tetcdctl does the sensible thing against the server
  const { runInProcess } = await import('./helpers/diff.js');
  const { Client } = await import('../../client/client.js');
  const client = new Client({ endpoints: [s.target], transport: 'http' });
  try {
    const lease = await client.lease.grant(60);
    await client.kv.put('leased', 'v', { lease: lease.ID });
    const hex = lease.ID.toString(16);
    const yes = await runInProcess(s.target, ['txn'], { stdin: txnText([`lease("leased") = "${hex}"`], ['get leased'], []) });
    t.is(yes.stdout, 'SUCCESS\n\nleased\nv\n');
    const no = await runInProcess(s.target, ['txn'], { stdin: txnText([`lease("leased") = "0"`], [], ['get leased --keys-only']) });
    t.is(no.stdout, 'FAILURE\n\nleased\n\n');
  } finally {
    client.close();
  }
});

test.serial('txn: malformed input is reported as etcdctl reports it', async (t) => {
  const bad = [
    txnText(['bogus'], [], []),
    txnText(['value(a) = "1"'], [], []),
    txnText(['value("a") = 1'], [], []),
    txnText(['value("a")="1"'], [], []),
    txnText(['value( "a" ) = "1"'], [], []),
    txnText(['value("a") ="1"'], [], []),
    txnText(['foo("a") = "1"'], [], []),
    txnText(['ver("a") = "x"'], [], []),
    txnText([], ['put'], []),
    txnText([], ['put a'], []),
    txnText([], ['foo a'], []),
    txnText([], ['put a 1 --lease=1'], []),
    txnText([], ['put a 1 --ignore-value'], []),
    txnText([], ['put q 1', 'del --prefix q'], []),
    'value("a") = "1"\n\n\n',
    'value("a") = "1"',
    '\n\nget a',
  ];
  for (const stdin of bad) {
    const r = await same(t, s, { setup: some, args: ['txn'], stdin });
    t.not(r.code, 0, JSON.stringify(stdin));
    t.regex(r.stderr, /Error: /);
  }
  await same(t, s, { setup: some, args: ['txn', 'extra'], stdin: txnText([], [], []), exitCode: 128 });
});
