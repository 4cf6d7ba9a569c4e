// The HTTP adapter over real sockets against the fake Api: every route, error statuses, body limits, chunked bodies,
// the auth header, /health, /version and /metrics.
import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import { EtcdError, GrpcCode } from '../../actors/api/errors.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../actors/gateway/http.js';
import { routes } from '../../actors/gateway/routes.js';
import type { CallContext } from '../../actors/gateway/api.js';
import { silentLogger } from '../../runtime/log.js';
import { post, request } from './client.js';
import { FakeApi } from './fake-api.js';

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
const HEADER = '{"cluster_id":"324951294757130375","member_id":"3319961728105342784","revision":"2","raft_term":"2"}';

test('every unary route answers through the Api with etcd JSON', async (t) => {
  await withGateway({}, async (url, api) => {
    const put = await post(url, '/v3/kv/put', JSON.stringify({ key: b64('foo'), value: b64('bar') }));
    t.is(put.status, 200);
    t.is(put.text, `{"header":${HEADER}}`);
    t.is(put.headers['content-type'], 'application/json');
    t.is(put.headers['grpc-metadata-content-type'], 'application/grpc');
    const range = await post(url, '/v3/kv/range', JSON.stringify({ key: b64('foo') }));
    t.is(range.text, `{"header":${HEADER},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"}`);
    const answers: Array<[string, string, RegExp]> = [
      ['/v3/kv/deleterange', JSON.stringify({ key: b64('foo'), prev_kv: true }), /"deleted":"1","prev_kvs":\[/],
      ['/v3/kv/txn', JSON.stringify({ success: [{ request_put: { key: b64('a'), value: b64('b') } }] }), /"succeeded":true,"responses":\[\{"response_put":\{"header":\{"revision":"4"\}\}\}\]/],
      ['/v3/kv/compaction', '{"revision":2}', /^\{"header":/],
      ['/v3/lease/grant', '{"TTL":30,"ID":55}', /"ID":"55","TTL":"30"/],
      ['/v3/lease/timetolive', '{"ID":55}', /"ID":"55","TTL":"29","grantedTTL":"30"/],
      ['/v3/kv/lease/timetolive', '{"ID":"56"}', /"ID":"56","TTL":"-1"\}$/],
      ['/v3/lease/leases', '', /"leases":\[\{"ID":"55"\}\]/],
      ['/v3/kv/lease/leases', '{}', /"leases":\[\{"ID":"55"\}\]/],
      ['/v3/lease/revoke', '{"ID":55}', /^\{"header":/],
      ['/v3/cluster/member/list', '', /"members":\[\{"ID":"3319961728105342784","name":"default"/],
      ['/v3/cluster/member/add', '{"peerURLs":["http://127.0.0.1:9"],"isLearner":true}', /"member":\{"ID":"586002086069729487","peerURLs":\["http:\/\/127.0.0.1:9"\],"isLearner":true\}/],
      ['/v3/cluster/member/update', '{"ID":"3319961728105342784","peerURLs":["http://x:1"]}', /"peerURLs":\["http:\/\/x:1"\]/],
      ['/v3/maintenance/status', '', /"version":"3.4.23","dbSize":"20480","leader":"3319961728105342784"/],
      ['/v3/maintenance/hash', '{"revision":3}', /"hash":3282267906\}$/],
      ['/v3/maintenance/defragment', '', /^\{\}$/],
      ['/v3/maintenance/alarm', '{"action":"GET"}', /^\{\}$/],
      ['/v3/maintenance/transfer-leadership', '{"targetID":"3319961728105342784"}', /^\{"header":/],
      ['/v3beta/kv/range', JSON.stringify({ key: b64('a') }), /"kvs":\[\{"key":"YQ=="/],
    ];
    for (const [path, body, expected] of answers) {
      const reply = await post(url, path, body);
      t.is(reply.status, 200, `${path}: ${reply.text}`);
      t.regex(reply.text, expected, path);
    }
    // the decoded request reached the Api in the API's shapes
    const memberUpdate = api.calls.find((c) => c.method === 'memberUpdate');
    t.deepEqual(memberUpdate?.request, { ID: '2e12df9a0f9c6740', peerURLs: ['http://x:1'] });
    const grant = api.calls.find((c) => c.method === 'leaseGrant');
    t.deepEqual(grant?.request, { TTL: 30, ID: 55n });
    const hash = api.calls.find((c) => c.method === 'hash');
    t.deepEqual(hash?.request, {});
    // every unary route of the table was exercised
    const unary = [...routes.entries()].filter(([, r]) => r.kind === 'unary').map(([p]) => p);
    const hit = new Set(['/v3/kv/put', '/v3/kv/range', ...answers.map(([p]) => p), '/v3/lease/revoke']);
    for (const path of unary) if (!hit.has(path)) {
      const reply = await post(url, path, path.includes('member') ? '{"ID":"3319961728105342784"}' : '{"ID":1}');
      t.true(reply.status === 200 || reply.status >= 400, path);
      hit.add(path);
    }
    t.is(unary.filter((p) => !hit.has(p)).length, 0);
  });
});

test('Api errors become etcd error bodies with etcd statuses; other failures are code 2', async (t) => {
  await withGateway({}, async (url, api) => {
    const expected: Array<[number, number]> = [[1, 408], [2, 500], [3, 400], [5, 404], [7, 403], [8, 429], [9, 412], [11, 400], [14, 503], [16, 401]];
    for (const [code, status] of expected) {
      api.failNext = new EtcdError(code as GrpcCode, `etcdserver: failure ${code} <&>`);
      const reply = await post(url, '/v3/kv/range', JSON.stringify({ key: b64('a') }));
      t.is(reply.status, status, `code ${code}`);
      const msg = `"etcdserver: failure ${code} \\u003c\\u0026\\u003e"`;
      t.is(reply.text, `{"error":${msg},"message":${msg},"code":${code}}`);
    }
    api.failNext = new TypeError('boom');
    const unknown = await post(url, '/v3/kv/put', JSON.stringify({ key: b64('a') }));
    t.is(unknown.status, 500);
    t.is(unknown.text, '{"error":"boom","message":"boom","code":2}');
    const empty = await post(url, '/v3/kv/put', '');
    t.is(empty.status, 400);
    t.is(empty.text, '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}');
  });
});

test('bad bodies never reach the Api', async (t) => {
  await withGateway({}, async (url, api) => {
    for (const body of ['{"key":"Zm9v!"}', '{', '[]', '{"key":"Zm9v","limit":1.5}', '{"key":"Zm9v","sort_order":"X"}']) {
      const reply = await post(url, '/v3/kv/range', body);
      t.is(reply.status, 400, body);
      t.regex(reply.text, /"code":3\}$/);
    }
    t.is(api.calls.length, 0);
  });
});

test('an oversized body is read to its end and answered 429 code 8; past the drain limit the connection closes', async (t) => {
  await withGateway({ maxRequestBytes: 64 * 1024 }, async (url) => {
    // just under the gRPC limit decodes and is checked exactly as etcd checks it
    const limit = 64 * 1024 + 512 * 1024;
    const justOver = JSON.stringify({ key: b64('k'), value: Buffer.alloc(limit).toString('base64') });
    const over = await post(url, '/v3/kv/put', justOver);
    t.is(over.status, 429);
    t.is(over.text, `{"error":"grpc: received message larger than max (${limit + 7} vs. ${limit})","message":"grpc: received message larger than max (${limit + 7} vs. ${limit})","code":8}`);
    // far past the body cap: the rest is read and dropped, so the client gets to read the answer
    const huge = Buffer.alloc(4 * 1024 * 1024, 0x20);
    const refused = await post(url, '/v3/kv/put', huge);
    t.is(refused.status, 429);
    t.regex(refused.text, /grpc: received message larger than max \(\d+ vs\. 589824\)","code":8\}$/);
    const ok = await post(url, '/v3/kv/put', JSON.stringify({ key: b64('k'), value: b64('v') }));
    t.is(ok.status, 200);
    // a body that goes on past the drain limit gets its answer early and the connection is closed: the client reads
    // the 429 with Connection: close, or (when the close overtakes the answer) sees the connection reset; either way
    // it could not send the whole body
    const sentMiB = 100;
    const endless = await new Promise<{ status: number; closed: boolean; sent: number }>((resolve, reject) => {
      let sent = 0;
      const timer = setTimeout(() => reject(new Error('no answer and no close within 20 s')), 20_000);
      const done = (result: { status: number; closed: boolean }) => {
        clearTimeout(timer);
        resolve({ ...result, sent });
      };
      const req = http.request(new URL('/v3/kv/put', url), { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        res.on('end', () => done({ status: res.statusCode ?? 0, closed: res.headers.connection === 'close' }));
        res.on('error', () => done({ status: -1, closed: true }));
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE' || error.code === 'ECONNRESET') done({ status: -1, closed: true });
        else reject(error);
      });
      const piece = Buffer.alloc(1024 * 1024, 0x20);
      const pump = (): void => {
        while (sent < sentMiB && !req.destroyed) {
          sent++;
          if (!req.write(piece)) return void req.once('drain', pump);
        }
        if (!req.destroyed) req.end();
      };
      pump();
    });
    t.true(endless.closed, 'the connection was closed');
    if (endless.status !== -1) t.is(endless.status, 429);
    t.true(endless.status === 429 || endless.sent < sentMiB, 'a reset came before the client could send the whole body');
    t.is((await post(url, '/v3/kv/put', JSON.stringify({ key: b64('k'), value: b64('v') }))).status, 200);
  });
});

test('a body sent in many chunks is put together before decoding', async (t) => {
  await withGateway({}, async (url, api) => {
    const body = JSON.stringify({ key: b64('chunky'), value: Buffer.alloc(200_000, 7).toString('base64') });
    const reply = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(new URL('/v3/kv/put', url), { method: 'POST', headers: { 'transfer-encoding': 'chunked', authorization: 'token-1' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000));
      req.end();
    });
    t.is(reply.status, 200);
    const call = api.calls.find((c) => c.method === 'put')!;
    t.is((call.request as { value: Uint8Array }).value.length, 200_000);
    t.true((call.request as { value: Uint8Array }).value.every((b) => b === 7));
    t.is(call.context.authToken, 'token-1');
  });
});

test('a client that leaves before its answer does not disturb the server', async (t) => {
  await withGateway({}, async (url, api) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const original = api.range.bind(api);
    let entered: CallContext | undefined;
    api.range = async (r, c) => {
      entered = c;
      await gate;
      return original(r, c);
    };
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    const body = JSON.stringify({ key: b64('a') });
    socket.write(`POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    t.true(await until(() => entered !== undefined));
    socket.destroy();
    t.true(await until(() => entered!.aborted), 'the Api sees the call aborted');
    release();
    await new Promise((r) => setTimeout(r, 20));
    const after = await post(url, '/v3/kv/put', JSON.stringify({ key: b64('a'), value: b64('b') }));
    t.is(after.status, 200);
  });
});

test('/health, /version and /metrics', async (t) => {
  await withGateway({}, async (url, api) => {
    const healthy = await request(url, '/health', { method: 'GET' });
    t.is(healthy.status, 200);
    t.is(healthy.text, '{"health":"true"}');
    api.alarms.push({ memberID: '2e12df9a0f9c6740', alarm: 1 });
    const sick = await request(url, '/health', { method: 'GET' });
    t.is(sick.status, 503);
    t.is(sick.text, '{"health":"false"}\n');
    const excluded = await request(url, '/health?exclude=NOSPACE', { method: 'GET' });
    t.is(excluded.status, 200);
    const version = await request(url, '/version', { method: 'GET' });
    t.is(version.text, '{"etcdserver":"3.4.23","etcdcluster":"3.4.0"}');
    await post(url, '/v3/kv/put', JSON.stringify({ key: b64('m'), value: b64('v') }));
    await post(url, '/v3/kv/put', '{}');
    const metrics = await request(url, '/metrics', { method: 'GET' });
    t.is(metrics.status, 200);
    t.regex(metrics.text, /tetcd_gateway_requests_total\{route="put",code="0"\} 1/);
    t.regex(metrics.text, /tetcd_gateway_requests_total\{route="put",code="3"\} 1/);
    t.regex(metrics.text, /tetcd_gateway_request_duration_seconds_count\{route="put"\} 2/);
  });
});

test('/metrics collects the member gauges at each scrape, and keeps the last ones when collecting fails', async (t) => {
  await withGateway({}, async (url, _api, gateway) => {
    let fail = false;
    let term = 7;
    gateway.metrics.collectFrom(async () => {
      if (fail) throw new Error('an actor is restarting');
      return {
        raftTerm: term,
        committedIndex: 1240,
        appliedIndex: 1234,
        hasLeader: true,
        isLeader: false,
        leaderChanges: 2,
        revision: 99,
        keys: 17,
        dbSizeBytes: 4096,
        watchers: 42,
        watchStreams: 3,
        slowWatchers: 1,
        wal: { bytes: 8192, fsync: { boundsSeconds: [0.001, 0.002], counts: [4, 5], count: 6, sumSeconds: 0.02 } },
      };
    });
    const text = (await request(url, '/metrics', { method: 'GET' })).text;
    t.regex(text, /^tetcd_raft_term 7$/m);
    t.regex(text, /^tetcd_raft_applied_index 1234$/m);
    t.regex(text, /^etcd_server_proposals_committed_total 1240$/m);
    t.regex(text, /^etcd_server_has_leader 1$/m);
    t.regex(text, /^etcd_server_is_leader 0$/m);
    t.regex(text, /^etcd_server_leader_changes_seen_total 2$/m);
    t.regex(text, /^etcd_debugging_mvcc_watcher_total 42$/m);
    t.regex(text, /^etcd_debugging_mvcc_watch_stream_total 3$/m);
    t.regex(text, /^etcd_debugging_mvcc_keys_total 17$/m);
    t.regex(text, /^etcd_mvcc_db_total_size_in_bytes 4096$/m);
    t.regex(text, /^etcd_disk_wal_fsync_duration_seconds_bucket\{le="0.002"\} 5$/m);
    t.regex(text, /^etcd_disk_wal_fsync_duration_seconds_bucket\{le="\+Inf"\} 6$/m);
    t.regex(text, /^etcd_disk_wal_fsync_duration_seconds_count 6$/m);
    fail = true;
    term = 8;
    const stale = await request(url, '/metrics', { method: 'GET' });
    t.is(stale.status, 200);
    t.regex(stale.text, /^tetcd_raft_term 7$/m);
  });
});

test('unknown paths and wrong methods answer like etcd', async (t) => {
  await withGateway({}, async (url) => {
    t.deepEqual(await pick(request(url, '/v3/kv/nope')), [404, 'Not Found\n']);
    t.deepEqual(await pick(request(url, '/elsewhere')), [404, '404 page not found\n']);
    t.deepEqual(await pick(request(url, '/v3/kv/range', { method: 'GET' })), [405, 'Method Not Allowed\n']);
    t.deepEqual(await pick(request(url, '/v3/kv/range', { method: 'DELETE' })), [405, 'Method Not Allowed\n']);
    const health = await request(url, '/health', { method: 'POST' });
    t.is(health.status, 405);
    t.is(health.headers.allow, 'GET');
    const redirect = await request(url, '/v3/./kv//range?x=1');
    t.is(redirect.status, 301);
    t.is(redirect.headers.location, '/v3/kv/range?x=1');
    const options = await request(url, '/v3/kv/range', { method: 'OPTIONS' });
    t.is(options.status, 200);
    t.is(options.headers['access-control-allow-origin'], '*');
  });
});

test('a body nobody reads (404, 405, redirect, /health, /version) is taken to its end before the answer', async (t) => {
  // Answering mid-upload and then dropping the connection showed the client a broken pipe (EPIPE) instead of the
  // answer; a body of a few MiB made that certain. The connection stays usable afterwards.
  await withGateway({}, async (url) => {
    const body = Buffer.alloc(3 * 1024 * 1024, 'x');
    const cases: Array<[string, string, number]> = [
      ['DELETE', '/v3/kv/put', 405],
      ['PUT', '/v3/kv/nope', 404],
      ['GET', '/elsewhere', 404],
      ['PUT', '/v3//kv/put', 301],
      ['POST', '/health', 405],
      ['GET', '/health', 200],
      ['GET', '/version', 200],
      ['OPTIONS', '/v3/kv/put', 200],
    ];
    for (const [method, path, status] of cases) {
      t.is(await slowUpload(url, method, path, body), status, `${method} ${path}`);
    }
    // several on one keep-alive connection: each answer comes after its body, and the next request is parsed cleanly
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const status = (method: string, path: string, data: Buffer | string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(new URL(path, url), { method, agent, headers: { 'content-length': String(Buffer.byteLength(data)) } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(data);
      });
    try {
      for (let i = 0; i < 3; i++) t.is(await status('PUT', '/v3/kv/range', body), 405);
      t.is(await status('POST', '/v3/kv/put', JSON.stringify({ key: b64('k'), value: b64('v') })), 200);
    } finally {
      agent.destroy();
    }
  });
});

/** Sends the body in 256 KiB pieces a few milliseconds apart, so the server has every chance to answer mid-upload. */
function slowUpload(url: string, method: string, path: string, body: Buffer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.request(new URL(path, url), { method, agent: false, headers: { 'content-length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    const piece = 256 * 1024;
    let offset = 0;
    const next = (): void => {
      const end = Math.min(offset + piece, body.length);
      const last = end === body.length;
      const chunk = body.subarray(offset, end);
      offset = end;
      if (last) req.end(chunk);
      else req.write(chunk, () => setTimeout(next, 3));
    };
    next();
  });
}

async function pick(reply: Promise<{ status: number; text: string }>): Promise<[number, string]> {
  const r = await reply;
  return [r.status, r.text];
}

async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}
