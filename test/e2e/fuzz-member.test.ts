// Bad input against a real member: known data is stored first, then more than 10,000 random and mutated requests hit
// every route (malformed JSON, bad base64, wrong types, unknown routes, bodies over --max-request-bytes, txns with too
// many ops, empty keys, a stream with thousands of watches). Afterwards the member must still serve, the known data
// must be exactly as it was, and every revision the store moved through must belong to a write that was answered OK.
//
// The fuzz writes go to their own key prefix. A mutated body can name any key, so before a request is sent it is
// decoded with the gateway's own decoder (which is what the member will do with it), and one that would write to the
// known keys, revoke the known lease, raise an alarm, or grant a lease short enough to expire during the run (an
// expiry is a revision no answer accounts for) is replaced by another. Everything else goes out as generated.
import test from 'ava';
import http from 'node:http';
import type { DeleteRangeRequest, PutRequest, RequestOp, TxnRequest } from '../../actors/api/types.js';
import { decodeBody, decoders } from '../../actors/gateway/json/decode.js';
import { makeCluster } from '../helpers/tetcd.js';

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
type Rng = ReturnType<typeof rng>;

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
const KNOWN = 'known/';
const KNOWN_END = 'known0';
const KNOWN_LEASE = 4_242_424_242n;
const FUZZ = 'fuzz/';
const MAX_REQUEST_BYTES = 64 * 1024;

const fk = (r: Rng) => b64(FUZZ + r.pick(['a', 'b', 'c', 'dir/x', 'dir/y', '', '\u00ff', 'long'.repeat(r.int(20))]));

/** Valid requests on every route, aimed at the fuzz prefix. */
function validRequest(r: Rng): [string, string] {
  const key = fk(r);
  switch (r.int(16)) {
    case 0:
      return ['/v3/kv/put', JSON.stringify({ key, value: b64('v'.repeat(r.int(100))), prev_kv: r.int(2) === 0 })];
    case 1:
      return ['/v3/kv/range', JSON.stringify({ key: b64(FUZZ), range_end: b64('fuzz0'), limit: r.int(5), sort_order: r.pick(['ASCEND', 'DESCEND', 'NONE', 7]), sort_target: r.pick(['KEY', 'MOD', 'VALUE', 9]), revision: r.int(3) - 1, keys_only: r.int(2) === 0 })];
    case 2:
      return ['/v3/kv/deleterange', JSON.stringify({ key, range_end: r.int(2) === 0 ? b64('fuzz/dir0') : undefined, prev_kv: true })];
    case 3: {
      const op = () => r.pick([{ request_put: { key: fk(r), value: b64('t') } }, { request_range: { key: fk(r) } }, { request_delete_range: { key: fk(r) } }, { request_txn: { success: [{ request_range: { key: fk(r) } }] } }]);
      return ['/v3/kv/txn', JSON.stringify({ compare: [{ key, target: r.pick(['VERSION', 'VALUE', 'MOD', 'CREATE', 'LEASE', 9]), result: r.pick(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL', 11]), version: '1', value: b64('t') }], success: Array.from({ length: r.int(4) }, op), failure: Array.from({ length: r.int(3) }, op) })];
    }
    case 4:
      return ['/v3/kv/txn', JSON.stringify({ success: Array.from({ length: 129 + r.int(10) }, (_, i) => ({ request_put: { key: b64(`${FUZZ}many${i}`), value: '' } })) })];
    case 5:
      // over --max-request-bytes ("request is too large"), and now and then over gRPC's receive limit as well
      return ['/v3/kv/put', JSON.stringify({ key, value: b64('x'.repeat(MAX_REQUEST_BYTES + r.int(r.int(4) === 0 ? 16 * MAX_REQUEST_BYTES : 4 * MAX_REQUEST_BYTES))) })];
    case 6:
      return [r.pick(['/v3/kv/put', '/v3/kv/range', '/v3/kv/deleterange']), JSON.stringify({ key: '', value: b64('x') })];
    case 7:
      return ['/v3/kv/compaction', JSON.stringify({ revision: r.int(50), physical: r.int(2) === 0 })];
    case 8:
      return ['/v3/lease/grant', JSON.stringify({ TTL: 3600 + r.int(100), ID: r.int(2) === 0 ? 0 : 1 + r.int(20) })];
    case 9:
      return [r.pick(['/v3/lease/revoke', '/v3/kv/lease/revoke']), JSON.stringify({ ID: 1 + r.int(20) })];
    case 10:
      return [r.pick(['/v3/lease/timetolive', '/v3/kv/lease/timetolive']), JSON.stringify({ ID: r.pick([1, 2, String(KNOWN_LEASE), '-1']), keys: true })];
    case 11:
      return [r.pick(['/v3/lease/leases', '/v3/maintenance/status', '/v3/maintenance/hash', '/v3/cluster/member/list', '/v3/maintenance/alarm']), r.pick(['', '{}', 'null'])];
    case 12:
      return [r.pick(['/v3/cluster/member/add', '/v3/cluster/member/remove', '/v3/cluster/member/update', '/v3/cluster/member/promote', '/v3/maintenance/transfer-leadership']), JSON.stringify({ ID: r.int(9), peerURLs: ['http://127.0.0.1:1'], targetID: r.int(9) })];
    case 13:
      return ['/v3/kv/put', JSON.stringify({ key, value: b64('l'), lease: 1 + r.int(20), ignore_lease: r.int(3) === 0, ignore_value: r.int(3) === 0 })];
    case 14:
      return [r.pick(['/v3/kv/nope', '/v3/kv/range/', '/v3alpha/kv/range', '/v2/keys', '/', '/v3//kv/put', '/v3beta/kv/put', '/v3/kv/put?x=1']), JSON.stringify({ key, value: b64('p') })];
    default:
      return ['/v3/kv/range', JSON.stringify({ key: b64(KNOWN), range_end: b64(KNOWN_END), count_only: true })];
  }
}

const fieldNames = ['key', 'value', 'range_end', 'rangeEnd', 'limit', 'revision', 'sort_order', 'sortTarget', 'lease', 'prev_kv', 'ID', 'TTL', 'keys', 'compare', 'success', 'failure', 'request_put', 'requestRange', 'request_delete_range', 'target', 'result', 'physical', 'ignore_value', 'ignoreLease'];
const oddValues = ['null', 'true', 'false', '0', '-1', '1.5', '1e3', '99999999999999999999999', '"abc"', `"${b64(FUZZ)}"`, '"Zm9v!"', '"-5"', '"\\u0035"', '[]', '[1,2,300]', '{}', `{"key":"${b64(FUZZ + 'o')}"}`, '"NOPE"', '"DESCEND"', '""', '[null]', '"\\ud800"'];

function randomValue(r: Rng, depth: number): string {
  const roll = r.int(depth > 3 ? 2 : 4);
  if (roll === 0) return r.pick(oddValues);
  if (roll === 1) return JSON.stringify(String.fromCharCode(...Array.from({ length: r.int(12) }, () => r.int(0x2100))));
  if (roll === 2) return '[' + Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1)).join(',') + ']';
  return randomObject(r, depth + 1);
}

function randomObject(r: Rng, depth: number): string {
  return '{' + Array.from({ length: r.int(5) }, () => `${JSON.stringify(r.float() < 0.8 ? r.pick(fieldNames) : 'x' + r.int(100))}:${randomValue(r, depth)}`).join(',') + '}';
}

function mutate(r: Rng, body: Buffer): Buffer {
  let out = Buffer.from(body);
  for (let i = 0, rounds = 1 + r.int(4); i < rounds; i++) {
    const at = r.int(out.length + 1);
    switch (r.int(5)) {
      case 0:
        if (out.length > 0) out[Math.min(at, out.length - 1)] = r.int(256);
        break;
      case 1:
        out = Buffer.concat([out.subarray(0, at), Buffer.from([r.pick([0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x3a, 0x2c, 0x5c, 0x30, 0x2d, r.int(256)])]), out.subarray(at)]);
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + r.int(8))]);
        break;
      case 3:
        out = out.subarray(0, at);
        break;
      default:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + r.int(16)), out.subarray(at)]);
    }
  }
  return out;
}

function generate(r: Rng): { method: string; path: string; body: Buffer } {
  const [path, valid] = validRequest(r);
  const kind = r.int(10);
  let body: Buffer;
  if (kind < 3) body = Buffer.from(valid);
  else if (kind < 7) body = mutate(r, Buffer.from(valid));
  else if (kind < 9) body = Buffer.from(randomObject(r, 0));
  else body = Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
  const method = r.int(25) === 0 ? r.pick(['GET', 'PUT', 'DELETE', 'OPTIONS']) : 'POST';
  return { method, path, body };
}

// ---- screening: what the member would do with a request, by its own decoder ----

const latin1 = (bytes: Uint8Array | undefined) => Buffer.from(bytes ?? new Uint8Array(0)).toString('latin1');

/** True when [key, rangeEnd) (etcd's meaning of the pair) meets the known keys. */
function meetsKnown(key: Uint8Array | undefined, rangeEnd: Uint8Array | undefined): boolean {
  const start = latin1(key);
  const end = latin1(rangeEnd);
  if (end === '') return start.startsWith(KNOWN);
  if (end === '\u0000') return start < KNOWN_END;
  return start < KNOWN_END && end > KNOWN && start < end;
}

function opsMeetKnown(ops: RequestOp[]): boolean {
  for (const op of ops) {
    if ('requestPut' in op && meetsKnown(op.requestPut.key, undefined)) return true;
    if ('requestDeleteRange' in op && meetsKnown(op.requestDeleteRange.key, op.requestDeleteRange.rangeEnd)) return true;
    if ('requestTxn' in op && txnMeetsKnown(op.requestTxn)) return true;
  }
  return false;
}

function txnMeetsKnown(txn: TxnRequest): boolean {
  return opsMeetKnown(txn.success) || opsMeetKnown(txn.failure);
}

/** Why the member must not get this request in this test, or undefined. */
function unsafe(method: string, path: string, body: Buffer): string | undefined {
  if (method !== 'POST') return undefined;
  let route = path.split('?')[0]!;
  if (route.startsWith('/v3beta/')) route = '/v3/' + route.slice(8);
  try {
    switch (route) {
      case '/v3/kv/put': {
        const put: PutRequest = decodeBody(body, decoders.put);
        return meetsKnown(put.key, undefined) ? 'put to a known key' : undefined;
      }
      case '/v3/kv/deleterange': {
        const del: DeleteRangeRequest = decodeBody(body, decoders.deleteRange);
        return meetsKnown(del.key, del.rangeEnd) ? 'delete of known keys' : undefined;
      }
      case '/v3/kv/txn':
        return txnMeetsKnown(decodeBody(body, decoders.txn)) ? 'txn writing known keys' : undefined;
      case '/v3/lease/revoke':
      case '/v3/kv/lease/revoke':
        return BigInt(decodeBody(body, decoders.leaseRevoke).ID) === KNOWN_LEASE ? 'revoke of the known lease' : undefined;
      case '/v3/lease/grant': {
        const grant = decodeBody(body, decoders.leaseGrant);
        return grant.TTL < 3600 ? 'a lease that could expire during the run' : undefined;
      }
      case '/v3/maintenance/alarm':
        return decodeBody(body, decoders.alarm).action !== 0 ? 'an alarm change' : undefined;
      case '/v3/cluster/member/add': {
        // a voter added to a one-member cluster that never starts takes away its quorum, in etcd as in tetcd
        const add = JSON.parse(body.toString()) as { peerURLs?: unknown };
        return Array.isArray(add.peerURLs) && add.peerURLs.length > 0 ? 'a member add that could succeed' : undefined;
      }
      case '/v3/maintenance/defragment':
      case '/v3/maintenance/snapshot':
        return 'a snapshot (slow, not bad input)';
      default:
        return undefined;
    }
  } catch {
    return undefined; // the member refuses it too
  }
}

// ---- the client ----

interface Answer {
  status: number;
  text: string;
}

function send(port: number, method: string, path: string, body: Buffer): Promise<Answer> {
  const bodyless = method === 'GET' || method === 'OPTIONS';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false, headers: bodyless ? {} : { 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(15_000, () => req.destroy(new Error(`timeout on ${method} ${path}`)));
    req.on('error', reject);
    req.end(bodyless ? undefined : body);
  });
}

const post = (port: number, path: string, body: unknown) => send(port, 'POST', path, Buffer.from(JSON.stringify(body)));

/** Opens a watch stream with `creates` create requests and resolves with the response lines once `creates` arrived. */
function manyWatches(port: number, creates: number, timeoutMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buffered = '';
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v3/watch', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          lines.push(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
        if (lines.length >= creates) {
          clearTimeout(timer);
          req.destroy();
          resolve(lines);
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`only ${lines.length} of ${creates} watches answered`));
    }, timeoutMs);
    req.on('error', () => undefined);
    for (let i = 0; i < creates; i++) req.write(JSON.stringify({ create_request: { key: b64(`${FUZZ}w${i % 50}`), prev_kv: i % 2 === 0 } }));
  });
}

interface RangeBody {
  header: { revision: string };
  kvs?: Array<Record<string, string>>;
  count?: string;
}

test('10,000 random and mutated requests against a real member: it keeps serving and nothing known changes', async (t) => {
  const cluster = await makeCluster(1, { flags: ['--max-request-bytes', String(MAX_REQUEST_BYTES)] });
  await cluster.start();
  const m = cluster.members[0]!;
  const port = m.spec.clientPort;
  try {
    // known data: plain keys, overwritten keys, leased keys, a deleted key
    t.is((await post(port, '/v3/lease/grant', { ID: String(KNOWN_LEASE), TTL: 86_400 })).status, 200);
    for (let i = 0; i < 100; i++) {
      const body: Record<string, unknown> = { key: b64(`${KNOWN}${i}`), value: b64(`value ${i} `.repeat(1 + (i % 7))) };
      if (i % 10 === 0) body.lease = String(KNOWN_LEASE);
      t.is((await post(port, '/v3/kv/put', body)).status, 200);
      if (i % 5 === 0) await post(port, '/v3/kv/put', { ...body, value: b64(`second ${i}`) });
    }
    await post(port, '/v3/kv/deleterange', { key: b64(`${KNOWN}50`) });
    const known = (await post(port, '/v3/kv/range', { key: b64(KNOWN), range_end: b64(KNOWN_END) })).text;
    const knownLease = JSON.parse((await post(port, '/v3/lease/timetolive', { ID: String(KNOWN_LEASE), keys: true })).text) as { keys: string[]; grantedTTL: string };
    const startRevision = Number((JSON.parse(known) as RangeBody).header.revision);

    const r = rng(Number(process.env.TETCD_FUZZ_SEED ?? 0x5eed));
    const total = 10_000;
    const concurrency = 16;
    const statuses = new Map<number, number>();
    const skipped = new Map<string, number>();
    const problems: string[] = [];
    const claimed = new Set<number>();
    let next = 0;
    const startedMs = Date.now();
    const deadline = startedMs + 60_000;
    const worker = async () => {
      while (next < total && Date.now() < deadline) {
        const n = next++;
        let request = generate(r);
        for (let why = unsafe(request.method, request.path, request.body); why !== undefined; why = unsafe(request.method, request.path, request.body)) {
          skipped.set(why, (skipped.get(why) ?? 0) + 1);
          request = generate(r);
        }
        const { method, path, body } = request;
        try {
          const answer = await send(port, method, path, body);
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          // 503 is "no leader" (not expected here, but not bad input either); 501 is membership on a standalone
          // member, which the clustering work will answer
          const allowed = answer.status === 503 || (answer.status === 501 && path.includes('/cluster/member/'));
          if (answer.status >= 500 && !allowed) problems.push(`#${n} ${method} ${path}: ${answer.status} ${answer.text.slice(0, 200)}`);
          if (method === 'POST' && answer.status === 200 && /\/(kv\/(put|deleterange|txn)|lease\/revoke)$/.test(path.split('?')[0]!)) {
            const revision = (JSON.parse(answer.text) as { header?: { revision?: string } }).header?.revision;
            if (revision !== undefined) claimed.add(Number(revision));
          }
        } catch (error) {
          problems.push(`#${n} ${method} ${path} ${JSON.stringify(body.toString('latin1').slice(0, 100))}: ${(error as Error).message}`);
        }
      }
    };
    const watchLines = manyWatches(port, 5_000, 30_000);
    await Promise.all(Array.from({ length: concurrency }, worker));
    const fuzzSeconds = (Date.now() - startedMs) / 1000;

    t.is(next, total, `all ${total} requests were sent within the time bound`);
    t.deepEqual(problems.slice(0, 20), [], 'no transport failures and no server errors');
    t.true((statuses.get(200) ?? 0) > 1_000, 'many requests succeeded');
    t.true((statuses.get(400) ?? 0) > 2_000, 'many were refused as bad requests');
    t.true((statuses.get(404) ?? 0) > 50, 'unknown routes answered 404');
    t.true((statuses.get(429) ?? 0) > 5, 'bodies over the receive limit answered 429');

    // thousands of watches on one stream: each created, with its own id
    const created = (await watchLines).map((line) => JSON.parse(line) as { result: { created?: boolean; watch_id?: string } });
    t.is(created.filter((c) => c.result.created === true).length, 5_000);
    t.is(new Set(created.map((c) => c.result.watch_id ?? '0')).size, 5_000);

    // still serving, and the process is the same one
    t.is(m.exitCode, null);
    t.notRegex(m.log, /actor crashed|member actor failed/);
    const health = await send(port, 'GET', '/health', Buffer.alloc(0));
    t.is(health.text, '{"health":"true"}');
    // the known data is exactly as it was, and its lease still holds the same keys
    const after = await post(port, '/v3/kv/range', { key: b64(KNOWN), range_end: b64(KNOWN_END) });
    const finalRevision = Number((JSON.parse(after.text) as RangeBody).header.revision);
    t.deepEqual({ ...(JSON.parse(after.text) as RangeBody), header: undefined }, { ...(JSON.parse(known) as RangeBody), header: undefined });
    const leaseAfter = JSON.parse((await post(port, '/v3/lease/timetolive', { ID: String(KNOWN_LEASE), keys: true })).text) as { keys: string[]; grantedTTL: string };
    t.deepEqual([...leaseAfter.keys].sort(), [...knownLease.keys].sort());
    t.is(leaseAfter.grantedTTL, knownLease.grantedTTL);
    // every revision the store moved through was answered to a successful write
    const unclaimed: number[] = [];
    for (let rev = startRevision + 1; rev <= finalRevision; rev++) if (!claimed.has(rev)) unclaimed.push(rev);
    t.deepEqual(unclaimed, [], 'revisions no successful write accounts for');
    t.true(Math.max(startRevision, ...claimed) <= finalRevision);
    // and it still takes writes
    t.is((await post(port, '/v3/kv/put', { key: b64(`${FUZZ}after`), value: b64('ok') })).status, 200);
    t.log(`${total} requests in ${fuzzSeconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ` +
      `replaced before sending ${JSON.stringify(Object.fromEntries(skipped))}; revision ${startRevision} -> ${finalRevision}`);
  } finally {
    await cluster.stop();
  }
});

test('requests that crash etcd 3.4 get a plain error from tetcd', async (t) => {
  // etcd 3.4.23 dereferences nil for these (the process dies); tetcd answers them and lives on (see README)
  const cluster = await makeCluster(1);
  await cluster.start();
  const m = cluster.members[0]!;
  const port = m.spec.clientPort;
  try {
    await post(port, '/v3/kv/put', { key: b64('a'), value: b64('1') });
    const cases: Array<[string, string, number, string]> = [
      ['/v3/kv/txn', '{"success":[null]}', 400, 'etcdserver: key is not provided'],
      ['/v3/kv/txn', '{"compare":[null]}', 400, 'etcdserver: key is not provided'],
      ['/v3/kv/range', `{"key":"${b64('a')}","sort_target":7}`, 400, 'tetcd: unknown sort target 7'],
      ['/v3/kv/txn', `{"success":[{"request_range":{"key":"${b64('a')}","sort_target":-1,"sort_order":"ASCEND"}}]}`, 400, 'tetcd: unknown sort target -1'],
    ];
    for (const [path, body, status, message] of cases) {
      const answer = await send(port, 'POST', path, Buffer.from(body));
      t.is(answer.status, status, body);
      t.is((JSON.parse(answer.text) as { message: string }).message, message);
    }
    const alarm = await send(port, 'POST', '/v3/maintenance/alarm', Buffer.from('{"action":9}'));
    t.is(alarm.status, 200);
    t.is(alarm.text, '{}');
    t.is((await post(port, '/v3/kv/range', { key: b64('a') })).status, 200);
    t.is(m.exitCode, null);
  } finally {
    await cluster.stop();
  }
});
