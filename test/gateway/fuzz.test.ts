// Fuzzing the adapter over real sockets with a seeded generator: valid bodies, mutated bodies, truncations, random
// JSON with real field names and wrong types, binary garbage, deep nesting, odd paths and methods. The server must
// never crash, and every request must get a well-formed answer: etcd's JSON on success, etcd's error body
// {"error","message","code"} on failure, or Go's plain-text 404/405.
import test from 'ava';
import http from 'node:http';
import { startGateway } from '../../actors/gateway/http.js';
import { silentLogger } from '../../runtime/log.js';
import { FakeApi } from './fake-api.js';

/** xorshift32: deterministic, so a failure reproduces from the seed. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
  return {
    float: next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

const corpus: Array<[string, string]> = [
  ['/v3/kv/put', JSON.stringify({ key: b64('foo'), value: b64('bar'), lease: '0', prev_kv: true })],
  ['/v3/kv/range', JSON.stringify({ key: b64('a'), range_end: 'AA==', limit: 10, sort_order: 'DESCEND', sort_target: 'MOD', keys_only: true })],
  ['/v3/kv/deleterange', JSON.stringify({ key: b64('foo'), rangeEnd: b64('fop'), prevKv: true })],
  ['/v3/kv/txn', JSON.stringify({ compare: [{ key: b64('foo'), target: 'VERSION', result: 'GREATER', version: '0' }], success: [{ request_put: { key: b64('x'), value: b64('y') } }, { request_txn: { failure: [{ requestRange: { key: b64('x') } }] } }], failure: [{ request_delete_range: { key: b64('x') } }] })],
  ['/v3/kv/compaction', JSON.stringify({ revision: 1, physical: true })],
  ['/v3/lease/grant', JSON.stringify({ TTL: 10, ID: 0 })],
  ['/v3/lease/revoke', JSON.stringify({ ID: '1' })],
  ['/v3/lease/timetolive', JSON.stringify({ ID: 1, keys: true })],
  ['/v3/lease/leases', '{}'],
  ['/v3/lease/keepalive', '{"ID":1}{"ID":"2"}'],
  ['/v3/cluster/member/add', JSON.stringify({ peerURLs: ['http://127.0.0.1:1'], isLearner: true })],
  ['/v3/cluster/member/remove', JSON.stringify({ ID: '3319961728105342784' })],
  ['/v3/cluster/member/update', JSON.stringify({ ID: 1, peerURLs: ['http://a:1'] })],
  ['/v3/cluster/member/list', ''],
  ['/v3/cluster/member/promote', JSON.stringify({ ID: 1 })],
  ['/v3/maintenance/alarm', JSON.stringify({ action: 'GET', memberID: 0, alarm: 'NONE' })],
  ['/v3/maintenance/status', ''],
  ['/v3/maintenance/defragment', ''],
  ['/v3/maintenance/hash', JSON.stringify({ revision: 1 })],
  ['/v3/maintenance/snapshot', ''],
  ['/v3/maintenance/transfer-leadership', JSON.stringify({ targetID: 1 })],
];

const fieldNames = ['key', 'value', 'range_end', 'rangeEnd', 'limit', 'revision', 'sort_order', 'sortTarget', 'lease', 'prev_kv', 'ID', 'TTL', 'keys', 'compare', 'success', 'failure', 'request_put', 'requestRange', 'target', 'result', 'peerURLs', 'isLearner', 'action', 'alarm', 'memberID', 'targetID', 'create_request', 'cancel_request', 'watch_id', 'filters', 'physical'];
const oddValues = ['null', 'true', 'false', '0', '-1', '1.5', '1e3', '99999999999999999999999', '"abc"', '"Zm9v"', '"Zm9v!"', '"-5"', '"\\u0035"', '[]', '[1,2,300]', '{}', '{"key":"Zm9v"}', '"NOPE"', '"DESCEND"', '""', '[null]', '"\\ud800"'];

function randomValue(r: ReturnType<typeof rng>, depth: number): string {
  const roll = r.int(depth > 3 ? 2 : 4);
  if (roll === 0) return r.pick(oddValues);
  if (roll === 1) return JSON.stringify(String.fromCharCode(...Array.from({ length: r.int(12) }, () => r.int(0x2100))));
  if (roll === 2) return '[' + Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1)).join(',') + ']';
  return randomObject(r, depth + 1);
}

function randomObject(r: ReturnType<typeof rng>, depth: number): string {
  const fields = Array.from({ length: r.int(5) }, () => `${JSON.stringify(r.float() < 0.8 ? r.pick(fieldNames) : 'x' + r.int(100))}:${randomValue(r, depth)}`);
  return '{' + fields.join(',') + '}';
}

function mutate(r: ReturnType<typeof rng>, body: Buffer): Buffer {
  let out = Buffer.from(body);
  const rounds = 1 + r.int(4);
  for (let i = 0; i < rounds; i++) {
    const at = r.int(out.length + 1);
    switch (r.int(5)) {
      case 0: // flip a byte
        if (out.length > 0) out[Math.min(at, out.length - 1)] = r.int(256);
        break;
      case 1: // insert a structural or random byte
        out = Buffer.concat([out.subarray(0, at), Buffer.from([r.pick([0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x3a, 0x2c, 0x5c, 0x30, 0x2d, r.int(256)])]), out.subarray(at)]);
        break;
      case 2: // delete a span
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + r.int(8))]);
        break;
      case 3: // truncate
        out = out.subarray(0, at);
        break;
      default: // duplicate a span
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + r.int(16)), out.subarray(at)]);
    }
  }
  return out;
}

function generate(r: ReturnType<typeof rng>): { method: string; path: string; body: Buffer } {
  const [path, valid] = r.pick(corpus);
  const kind = r.int(10);
  let body: Buffer;
  if (kind < 2) body = Buffer.from(valid);
  else if (kind < 6) body = mutate(r, Buffer.from(valid));
  else if (kind < 8) body = Buffer.from(randomObject(r, 0));
  else if (kind < 9) body = Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
  else body = Buffer.from('['.repeat(r.int(3000)) + ']'.repeat(r.int(3000)));
  let finalPath = path;
  const pathRoll = r.int(20);
  if (pathRoll === 0) finalPath = '/v3/kv/' + r.pick(['nope', 'range/', '../kv/range', 'put?x=1']);
  else if (pathRoll === 1) finalPath = path.replace('/v3/', '/v3beta/');
  else if (pathRoll === 2) finalPath = r.pick(['/', '/health', '/version', '/metrics', '/v2/keys', '/v3//kv/put']);
  const method = r.int(15) === 0 ? r.pick(['GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) : 'POST';
  return { method, path: finalPath, body };
}

interface Answer {
  status: number;
  contentType: string | undefined;
  text: string;
}

function send(port: number, method: string, path: string, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // GET and OPTIONS go without a body, and then without a Content-Length: a request that declares a body it never
    // sends is answered only once the server gave up waiting for it.
    const bodyless = method === 'GET' || method === 'OPTIONS';
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: bodyless ? {} : { 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout on ${method} ${path}`)));
    req.on('error', reject);
    req.end(bodyless ? undefined : body);
  });
}

function wellFormed(answer: Answer, method: string, path: string): string | undefined {
  const { status, contentType, text } = answer;
  if (status === 301) return text === '' || text.startsWith('<a href=') ? undefined : 'bad redirect body';
  if (method === 'OPTIONS') return status === 200 ? undefined : `OPTIONS answered ${status}`;
  if (contentType?.startsWith('text/plain')) {
    if (path.startsWith('/health')) return /^\{"health":"(true|false)"\}\n?$/.test(text) || status === 405 ? undefined : `bad health ${text}`;
    if (path.startsWith('/metrics')) return text.includes('# HELP') ? undefined : 'bad metrics';
    return ['Not Found\n', '404 page not found\n', 'Method Not Allowed\n'].includes(text) ? undefined : `bad text body ${JSON.stringify(text)}`;
  }
  if (contentType !== 'application/json') return `unexpected content type ${contentType}`;
  if (status === 200) {
    if (text === '' && path.includes('keepalive')) return undefined; // a keep-alive stream with no request ends empty
    // unary JSON, or a stream of {"result":…} lines (keep-alive, snapshot)
    const docs = text.includes('\n') ? text.split('\n').filter((l) => l !== '') : [text];
    for (const doc of docs) {
      const parsed = JSON.parse(doc) as Record<string, unknown>;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return `not an object: ${doc}`;
      if (text.includes('\n') && !('result' in parsed) && !('error' in parsed)) return `stream line without result: ${doc}`;
    }
    return undefined;
  }
  const parsed = JSON.parse(text) as { error?: unknown; message?: unknown; code?: unknown };
  if (typeof parsed.error !== 'string' || parsed.message !== parsed.error || typeof parsed.code !== 'number') return `bad error body ${text}`;
  return undefined;
}

test('10,000 random and mutated requests: the server never crashes and every answer is well formed', async (t) => {
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const api = new FakeApi();
  api.record = false;
  const gateway = await startGateway({ api, log: silentLogger, maxRequestBytes: 16 * 1024 });
  try {
    const r = rng(0x7e7cd);
    const total = 10_000;
    const concurrency = 16;
    const statuses = new Map<number, number>();
    const problems: string[] = [];
    let next = 0;
    const deadline = Date.now() + 90_000;
    const worker = async () => {
      while (next < total && Date.now() < deadline) {
        const n = next++;
        const { method, path, body } = generate(r);
        try {
          const answer = await send(gateway.port, method, path, body);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          const problem = wellFormed(answer, method, path);
          if (problem !== undefined && problems.length < 20) problems.push(`#${n} ${method} ${path} ${JSON.stringify(body.toString('latin1').slice(0, 200))}: ${problem}`);
        } catch (error) {
          if (problems.length < 20) problems.push(`#${n} ${method} ${path}: ${(error as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    t.is(next, total, 'all requests were sent within the time bound');
    t.deepEqual(problems, []);
    t.deepEqual(crashes, []);
    t.true((statuses.get(200) ?? 0) > 500, 'some requests succeeded');
    t.true((statuses.get(400) ?? 0) > 1000, 'many were refused as bad requests');
    // still serving
    const after = await send(gateway.port, 'POST', '/v3/kv/put', Buffer.from(JSON.stringify({ key: b64('after'), value: b64('ok') })));
    t.is(after.status, 200);
  } finally {
    gateway.close();
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
});

test('1,000 random watch stream bodies: each gets well-formed stream lines or etcd\'s 500, and the server lives on', async (t) => {
  const api = new FakeApi();
  api.record = false;
  const gateway = await startGateway({ api, log: silentLogger });
  try {
    const r = rng(0xa11ce);
    const valid = ['{"create_request":{"key":"Zm9v"}}', '{"cancel_request":{"watch_id":0}}', '{"progress_request":{}}', '{"create_request":{"key":"YQ==","range_end":"AA==","prev_kv":true,"filters":["NOPUT"]}}'];
    const problems: string[] = [];
    const one = (body: Buffer) =>
      new Promise<void>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: gateway.port, method: 'POST', path: r.int(2) === 0 ? '/v3/watch' : '/v3/lease/keepalive', agent: false, headers: { 'content-length': body.length } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          let checked = false;
          const check = () => {
            if (checked) return;
            checked = true;
            const lines = text.split('\n').filter((l) => l !== '');
            if (res.statusCode === 500) {
              if (!/^\{"error":".*","message":".*","code":2\}$/.test(text)) problems.push(`bad 500 body ${text}`);
            } else
              for (const line of lines) {
                try {
                  const doc = JSON.parse(line) as object;
                  if (!('result' in doc) && !('error' in doc)) problems.push(`line without result ${line}`);
                } catch {
                  problems.push(`unparsable line ${line}`);
                }
              }
            finish();
          };
          res.on('end', check);
          res.on('close', check);
        });
        let done = false;
        const finish = () => {
          if (done) return;
          done = true;
          resolve();
        };
        // A watch stream never ends by itself (and sends no head before its first response): cut it after a while.
        setTimeout(() => req.destroy(), 40);
        req.on('error', finish);
        req.on('close', () => setImmediate(finish));
        req.end(body);
      });
    for (let i = 0; i < 1_000; i += 10) {
      const batch: Array<Promise<void>> = [];
      for (let j = 0; j < 10; j++) {
        const parts = Array.from({ length: 1 + r.int(4) }, () => r.pick(valid));
        let body: Buffer = Buffer.from(parts.join(r.pick(['', ' ', '\n'])));
        if (r.int(2) === 0) body = mutate(r, body);
        batch.push(one(body));
      }
      await Promise.all(batch);
    }
    t.deepEqual(problems.slice(0, 10), []);
    const alive = await fetch(`http://127.0.0.1:${gateway.port}/health`);
    t.is(alive.status, 200);
  } finally {
    gateway.close();
  }
});
