// Streams through the adapter against the fake Api: chunked HTTP watch and keep-alive (several messages per body,
// messages split across chunks, EOF rules, decode errors), the same over WebSocket, stream errors, and backpressure:
// a slow client pauses its session, and past the cap only its own stream is closed while others keep flowing.
import test from 'ava';
import net from 'node:net';
import WebSocket from 'ws';
import { Errors, etcdError } from '../../actors/api/errors.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../actors/gateway/http.js';
import { JsonStreamSplitter } from '../../actors/gateway/streams.js';
import { stringValue, type JsonNode } from '../../actors/gateway/json/reader.js';
import { silentLogger } from '../../runtime/log.js';
import { openStream, post } from './client.js';
import { FakeApi } from './fake-api.js';
import { startReaderProcess } from './reader-process.js';

async function withGateway(options: Partial<GatewayOptions>, run: (url: string, api: FakeApi, gateway: Gateway) => Promise<void>): Promise<void> {
  const api = (options.api as FakeApi | undefined) ?? new FakeApi();
  const gateway = await startGateway({ log: silentLogger, ...options, api });
  try {
    await run(`http://127.0.0.1:${gateway.port}`, api, gateway);
  } finally {
    gateway.close();
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const create = (key: string, extra: Record<string, unknown> = {}) => JSON.stringify({ create_request: { key: b64(key), ...extra } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

test('splitter: every split point of a multi-message body yields the same messages', (t) => {
  const body = Buffer.from(`${create('a')} \n${create('b', { prev_kv: true })}{"cancel_request":{"watch_id":"1"}}{"progress_request":{}} "str" 12 `);
  const reference = collect([body], true);
  t.is(reference.length, 6);
  for (let cut = 1; cut < body.length; cut++) {
    t.deepEqual(collect([body.subarray(0, cut), body.subarray(cut)], true), reference, `cut at ${cut}`);
  }
  // byte by byte
  t.deepEqual(collect([...body].map((b) => Buffer.from([b])), true), reference);
});

/** A node as plain data (string nodes by their text, not their offsets in the splitter's buffer). */
function plain(node: JsonNode): unknown {
  switch (node.kind) {
    case 'object':
      return Object.fromEntries([...node.fields].map(([k, v]) => [k, plain(v)]));
    case 'array':
      return node.items.map(plain);
    case 'string':
      return { string: stringValue(node) };
    case 'number':
      return { number: node.text };
    default:
      return node.kind;
  }
}

function collect(chunks: Buffer[], final: boolean): string[] {
  const splitter = new JsonStreamSplitter(1 << 20);
  const out: string[] = [];
  chunks.forEach((chunk, i) => {
    splitter.push(chunk);
    const last = final && i === chunks.length - 1;
    for (;;) {
      const next = splitter.next(last);
      if (next.type === 'value') out.push(JSON.stringify(plain(next.node)));
      else if (next.type === 'error') {
        out.push(`error: ${next.message}`);
        return;
      } else break;
    }
  });
  return out;
}

test('splitter: a syntax error is reported as soon as it is visible, and an unfinished message at EOF as Go does', (t) => {
  const splitter = new JsonStreamSplitter(1 << 20);
  splitter.push(Buffer.from('{"create_request":{x'));
  t.deepEqual(splitter.next(false), { type: 'error', message: "invalid character 'x' looking for beginning of object key string" });
  const eof = new JsonStreamSplitter(1 << 20);
  eof.push(Buffer.from('{"ID":7'));
  t.deepEqual(eof.next(false), { type: 'more' });
  t.deepEqual(eof.next(true), { type: 'error', message: 'unexpected EOF' });
  const big = new JsonStreamSplitter(64);
  big.push(Buffer.from('{"key":"' + 'A'.repeat(100)));
  t.is(big.next(false).type, 'error');
});

test('chunked watch: several requests in one body, messages split across writes, events and cancel', async (t) => {
  await withGateway({}, async (url, api) => {
    const stream = openStream(url, '/v3/watch');
    const body = create('foo') + create('bar', { prev_kv: true, start_revision: 1 }) + '{}';
    for (let i = 0; i < body.length; i += 7) {
      stream.write(body.slice(i, i + 7));
      await sleep(1);
    }
    await stream.waitForLines(2);
    t.is(await stream.status(), 200);
    t.is((await stream.headers())['content-type'], 'application/json');
    await post(url, '/v3/kv/put', JSON.stringify({ key: b64('foo'), value: b64('1') }));
    await post(url, '/v3/kv/put', JSON.stringify({ key: b64('bar'), value: b64('2') }));
    stream.write('{"cancel_request":{"watch_id":1}}{"progress_request":{}}');
    const lines = await stream.waitForLines(6);
    t.regex(lines[0]!, /^\{"result":\{"header":\{.*\},"created":true\}\}$/);
    t.regex(lines[1]!, /"watch_id":"1","created":true\}\}$/);
    t.regex(lines[2]!, /"events":\[\{"kv":\{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"MQ=="\}\}\]\}\}$/);
    t.regex(lines[3]!, /"watch_id":"1","events":\[\{"kv":\{"key":"YmFy"/);
    t.regex(lines[4]!, /"watch_id":"1","canceled":true\}\}$/);
    t.regex(lines[5]!, /"watch_id":"-1"\}\}$/);
    t.is(api.watchRequests.length, 4); // {} is not a request
    // the watch stays open after the client's body ends, as etcd's does
    stream.endInput();
    t.false(await stream.ended(200));
    stream.close();
    t.true(await until(() => api.closedWatchSessions === 1));
  });
});

test('watch: a bad first message fails the call with 500; a bad later one stops reading but keeps the stream', async (t) => {
  await withGateway({}, async (url, api) => {
    const first = await post(url, '/v3/watch', '{"create_request":{"key":"!"}}');
    t.is(first.status, 500);
    t.is(first.text, '{"error":"illegal base64 data at input byte 0","message":"illegal base64 data at input byte 0","code":2}');
    t.true(await until(() => api.closedWatchSessions === 1));
    const stream = openStream(url, '/v3/watch', { body: create('k') + '{"create_request":{"key":5}}' + create('ignored') });
    await stream.waitForLines(1);
    await post(url, '/v3/kv/put', JSON.stringify({ key: b64('k'), value: b64('v') }));
    await stream.waitForLines(2);
    t.regex(stream.lines[1]!, /"events":/);
    t.is(api.watchRequests.length, 1);
    stream.close();
  });
});

test('keep-alive: answers every request, ends at request-body EOF only after the last answer', async (t) => {
  await withGateway({}, async (url, api) => {
    api.keepAliveDelayMs = 30;
    await post(url, '/v3/lease/grant', '{"TTL":60,"ID":777}');
    const stream = openStream(url, '/v3/lease/keepalive', { body: '{"ID":777}{"ID":"778"}' });
    stream.write('{"ID":7');
    await sleep(5);
    stream.write('77}');
    stream.endInput();
    t.true(await stream.ended(5_000));
    t.is(stream.lines.length, 3);
    t.regex(stream.lines[0]!, /"ID":"777","TTL":"60"\}\}$/);
    t.regex(stream.lines[1]!, /"ID":"778"\}\}$/);
    t.true(await until(() => api.closedKeepAliveSessions === 1));
    // a bad later message ends the input like EOF: earlier requests are still answered
    const bad = openStream(url, '/v3/lease/keepalive', { body: '{"ID":777}{"ID":true}' });
    t.true(await bad.ended(5_000));
    t.is(bad.lines.length, 1);
    const badFirst = await post(url, '/v3/lease/keepalive', '{"ID":true}');
    t.is(badFirst.status, 500);
    t.is(badFirst.text, '{"error":"json: cannot unmarshal bool into Go value of type int64","message":"json: cannot unmarshal bool into Go value of type int64","code":2}');
  });
});

test('a session that fails ends its stream with etcd stream error framing', async (t) => {
  await withGateway({}, async (url, api) => {
    const stream = openStream(url, '/v3/watch', { body: create('x') });
    await stream.waitForLines(1);
    api.failWatches(etcdError(Errors.noLeader));
    t.true(await stream.ended(2_000));
    t.is(stream.lines[1], '{"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}}');
  });
});

function openWs(url: string, path: string): Promise<{ ws: WebSocket; messages: string[]; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(url.replace('http', 'ws') + path);
  const messages: string[] = [];
  ws.on('message', (data: Buffer) => messages.push(data.toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

test('WebSocket watch: one request per message in, one {"result":…} per message out', async (t) => {
  await withGateway({}, async (url, api) => {
    const { ws, messages, closed } = await openWs(url, '/v3/watch');
    ws.send(create('ws'));
    ws.send(create('ws', { watch_id: 9 }));
    t.true(await until(() => messages.length === 2));
    await post(url, '/v3/kv/put', JSON.stringify({ key: b64('ws'), value: b64('v') }));
    t.true(await until(() => messages.length === 4));
    t.regex(messages[0]!, /^\{"result":\{"header":\{[^}]*\},"created":true\}\}$/);
    t.regex(messages[1]!, /"watch_id":"9","created":true\}\}$/);
    t.true(messages.slice(2).every((m) => m.includes('"events":[{"kv":{"key":"d3M="')));
    // a message that does not decode: a stream error, then close 1007
    ws.send('{"create_request":{"key":"@"}}');
    const { code } = await closed;
    t.is(code, 1007);
    t.is(messages.at(-1), '{"error":{"grpc_code":3,"http_code":400,"message":"illegal base64 data at input byte 0","http_status":"Bad Request"}}');
    t.true(await until(() => api.closedWatchSessions === 1));
  });
});

test('WebSocket watch fan-out: a delivery to thousands of watchers of one socket is one message per response, each whole', async (t) => {
  await withGateway({}, async (url) => {
    const { ws, messages } = await openWs(url, '/v3/watch');
    const watchers = 3_000;
    for (let i = 0; i < watchers; i++) ws.send(create('fan', { watch_id: i + 1 }));
    t.true(await until(() => messages.length === watchers, 20_000), `${messages.length} created`);
    // a value large enough that the delivery's bytes outgrow the encoder's first buffer several times
    await post(url, '/v3/kv/put', JSON.stringify({ key: b64('fan'), value: b64('v'.repeat(1_000)) }));
    t.true(await until(() => messages.length === 2 * watchers, 20_000), `${messages.length - watchers} of ${watchers} events`);
    const events = messages.slice(watchers).map((m) => JSON.parse(m) as { result: { watch_id: string; events: Array<{ kv: { key: string; value: string } }> } });
    t.deepEqual(events.map((e) => Number(e.result.watch_id)), Array.from({ length: watchers }, (_, i) => i + 1));
    t.true(events.every((e) => e.result.events[0]!.kv.key === b64('fan') && e.result.events[0]!.kv.value === b64('v'.repeat(1_000))));
    ws.close();
  });
});

test('WebSocket unary paths: answers in request order, an error answers only its request', async (t) => {
  await withGateway({}, async (url) => {
    const { ws, messages } = await openWs(url, '/v3/kv/put');
    for (let i = 0; i < 20; i++) ws.send(JSON.stringify({ key: b64(`u${i}`), value: b64(`v${i}`) }));
    ws.send('{"key":"@"}');
    ws.send(JSON.stringify({ key: b64('last'), value: b64('x') }));
    t.true(await until(() => messages.length === 22));
    t.true(messages.slice(0, 20).every((m) => /^\{"result":\{"header":\{/.test(m)));
    const revisions = messages.slice(0, 20).map((m) => Number(/"revision":"(\d+)"/.exec(m)![1]));
    t.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'answers in request order');
    t.is(messages[20], '{"error":{"grpc_code":3,"http_code":400,"message":"illegal base64 data at input byte 0","http_status":"Bad Request"}}');
    t.regex(messages[21]!, /^\{"result":/, 'the socket stays open after an error answer');
    ws.close();
    const range = await openWs(url, '/v3/kv/range');
    range.ws.send(JSON.stringify({ key: b64('u3') }));
    t.true(await until(() => range.messages.length === 1));
    t.regex(range.messages[0]!, /"kvs":\[\{"key":"dTM="/);
    range.ws.close();
  });
});

test('WebSocket keep-alive and /v3beta paths', async (t) => {
  await withGateway({}, async (url, api) => {
    await post(url, '/v3/lease/grant', '{"TTL":10,"ID":5}');
    const { ws, messages } = await openWs(url, '/v3beta/lease/keepalive');
    ws.send('{"ID":5}');
    ws.send('{"ID":6}');
    t.true(await until(() => messages.length === 2));
    t.regex(messages[0]!, /"ID":"5","TTL":"10"\}\}$/);
    t.regex(messages[1]!, /"ID":"6"\}\}$/);
    ws.close();
    t.true(await until(() => api.closedKeepAliveSessions === 1));
  });
});

/**
 * Puts `value` under `key` until `done()` holds (then 20 more), at most 3,000 times: the bytes a stalled client can
 * absorb depend on the kernel's socket buffers, so the flood adapts instead of guessing. Returns the number of puts.
 */
async function flood(url: string, key: string, value: string, done: () => boolean): Promise<number> {
  let puts = 0;
  let extra = -1;
  while (puts < 3_000 && extra !== 0) {
    await post(url, '/v3/kv/put', JSON.stringify({ key: b64(key), value }));
    puts++;
    if (extra > 0) extra--;
    else if (extra < 0 && done()) extra = 20;
  }
  return puts;
}

/** A raw HTTP client that sends a watch request and then does not read its socket until told. */
function stalledWatch(port: number, body: string): { socket: net.Socket; received: () => number; results: () => number; resume: () => void; text: () => string } {
  const socket = net.connect(port, '127.0.0.1');
  let received = 0;
  let results = 0;
  let carry = '';
  let text = '';
  socket.write(`POST /v3/watch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n`);
  socket.pause();
  socket.on('data', (d: Buffer) => {
    received += d.length;
    const window = carry + d.toString('latin1');
    results += window.split('"events":').length - 1;
    carry = window.slice(-8);
    if (text.length < 1 << 20) text += d.toString('latin1');
    else text = text.slice(-4096) + d.toString('latin1');
  });
  return { socket, received: () => received, results: () => results, resume: () => socket.resume(), text: () => text };
}

test.serial('slow consumer: a session that ignores pause is cut at the cap; another watcher of the same key gets everything', async (t) => {
  // The cap leaves room for the fast reader, which shares this process (and a busy machine) with the server.
  await withGateway({ streamPauseBytes: 64 * 1024, streamBufferedBytesMax: 8 * 1024 * 1024 }, async (url, api, gateway) => {
    api.ignorePause = true;
    const slow = stalledWatch(gateway.port, create('flood'));
    const fast = startReaderProcess('http', `${url}/v3/watch`, create('flood'));
    t.true(await until(() => api.watchers.size === 2 && fast.lines() === 1, 10_000));
    const value = Buffer.alloc(64 * 1024, 1).toString('base64');
    // Flood until the slow stream is cut (how much that takes depends on the kernel's socket buffers), then a bit more.
    const puts = await flood(url, 'flood', value, () => api.closedWatchSessions >= 1);
    const complete = await until(() => fast.lines() === 1 + puts, 30_000);
    t.true(complete, `the fast watcher got ${fast.lines()} of ${1 + puts} lines; sessions closed: ${api.closedWatchSessions}`);
    t.true(await until(() => api.closedWatchSessions === 1, 5_000), 'the slow stream was closed');
    t.true(api.pauses >= 1);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    t.regex(metrics, /tetcd_gateway_slow_streams_closed_total 1/);
    // the slow client, once it reads, finds the reason at the end of what it was sent
    slow.resume();
    t.true(await until(() => slow.text().includes('"grpc_code":8'), 10_000));
    t.regex(slow.text(), /stream closed because the client reads too slowly/);
    slow.socket.destroy();
    await fast.stop();
  });
});

test.serial('slow consumer: a session that honours pause is paused, then resumed once the client reads, and loses nothing', async (t) => {
  await withGateway({ streamPauseBytes: 64 * 1024, streamBufferedBytesMax: 64 * 1024 * 1024 }, async (url, api, gateway) => {
    const slow = stalledWatch(gateway.port, create('p'));
    t.true(await until(() => api.watchers.size === 1));
    const value = Buffer.alloc(32 * 1024, 2).toString('base64');
    const puts = await flood(url, 'p', value, () => api.pauses >= 1);
    t.true(await until(() => api.pauses >= 1), 'the session was paused');
    const session = api.watchSessions[0]!;
    t.true(session.held.length > 0, 'the session held responses while paused');
    slow.resume();
    t.true(await until(() => slow.results() >= puts, 20_000), `received ${slow.results()} of ${puts} events`);
    t.true(api.resumes >= 1);
    t.is(api.closedWatchSessions, 0);
    t.is(api.droppedWhilePaused, 0);
    slow.socket.destroy();
  });
});

test.serial('WebSocket slow consumer: cut at the cap with close 1008 while another socket flows', async (t) => {
  await withGateway({ streamPauseBytes: 64 * 1024, streamBufferedBytesMax: 8 * 1024 * 1024 }, async (url, api) => {
    api.ignorePause = true;
    const slow = await openWs(url, '/v3/watch');
    slow.ws.send(create('wsf'));
    const fast = startReaderProcess('ws', `${url.replace('http', 'ws')}/v3/watch`, create('wsf'));
    t.true(await until(() => slow.messages.length === 1 && fast.lines() === 1, 10_000));
    slow.ws.pause();
    const value = Buffer.alloc(64 * 1024, 3).toString('base64');
    const puts = await flood(url, 'wsf', value, () => api.closedWatchSessions >= 1);
    t.true(await until(() => fast.lines() === 1 + puts, 30_000), `the fast socket got ${fast.lines()} of ${1 + puts}`);
    t.true(await until(() => api.closedWatchSessions === 1, 5_000));
    slow.ws.resume();
    const { code } = await slow.closed;
    t.is(code, 1008);
    t.regex(slow.messages.at(-1)!, /"grpc_code":8,"http_code":429,"message":"tetcd: stream closed because the client reads too slowly/);
    await fast.stop();
  });
});

test.serial('snapshot: chunks are pulled only as fast as the client reads', async (t) => {
  await withGateway({ streamPauseBytes: 256 * 1024 }, async (_url, api, gateway) => {
    api.snapshotChunks = 400;
    api.snapshotChunkBytes = 64 * 1024; // ~35 MB of JSON
    const socket = net.connect(gateway.port, '127.0.0.1');
    socket.write('POST /v3/maintenance/snapshot HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    socket.pause();
    await sleep(500);
    const pulledWhileStalled = api.snapshotPulled;
    t.true(pulledWhileStalled < 400, `pulled ${pulledWhileStalled} chunks while the client read nothing`);
    let text = '';
    socket.on('data', (d: Buffer) => (text = (text + d.toString('latin1')).slice(-200)));
    socket.resume();
    t.true(await until(() => text.endsWith('0\r\n\r\n'), 20_000), 'the stream ended');
    t.is(api.snapshotPulled, 400);
    socket.destroy();
  });
});

test('closing the gateway ends open streams and releases their sessions', async (t) => {
  const api = new FakeApi();
  const gateway = await startGateway({ api, log: silentLogger });
  const url = `http://127.0.0.1:${gateway.port}`;
  const stream = openStream(url, '/v3/watch', { body: create('z') });
  await stream.waitForLines(1);
  const { closed } = await openWs(url, '/v3/watch');
  gateway.close();
  t.true(await stream.ended(2_000));
  await closed;
  t.true(await until(() => api.closedWatchSessions === 2));
});

test('a keep-alive client with too many unanswered requests is read no further until answers catch up', async (t) => {
  await withGateway({}, async (url, api) => {
    api.keepAliveDelayMs = 20;
    const count = 3_000; // above the outstanding limit
    const body = '{"ID":1}'.repeat(count);
    const stream = openStream(url, '/v3/lease/keepalive', { body });
    stream.endInput();
    t.true(await stream.ended(20_000));
    t.is(stream.lines.length, count);
    t.true(api.calls.some((c) => c.method === 'leaseKeepAlive'));
  });
});
