// Differential testing against etcd 3.4: one real etcd and one real tetcd per test file, both on loopback, fed the
// same request sequences; each response pair is compared as JSON (plus the HTTP status) after normalising what may
// legitimately differ. A case is a list of steps written against a per-case key prefix, so cases do not see each
// other's keys and adding one is one line in a table.
//
// What is normalised, and why:
//   - revisions are made relative to the revision each server was at when the case began (header revision,
//     create/mod/compact revisions): the two servers may drift apart by a revision when a lease of an earlier case
//     expires at a slightly different moment, and a case must not depend on what ran before it. Requests name
//     revisions the same way (rev(n) = the case's base + n on each server);
//   - cluster_id and member_id are compared as they are: tetcd advertises the same peer URL as the etcd beside it, and
//     both derive their ids from it and the cluster token, so they are equal;
//   - raft_term is compared too: a standalone etcd 3.4 and tetcd both win their first election at term 2;
//   - anything else a step declares with an adjuster (lease ids chosen by the server, remaining TTLs).
import { isDeepStrictEqual } from 'node:util';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestFn } from 'ava';
import { startEtcd, type RealEtcd } from '../helpers/etcd.js';
import { freePort, Member } from '../helpers/tetcd.js';
import { openStream, type StreamClient } from '../gateway/client.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

// ---- placeholders in request bodies, resolved per server and per case ----

class Placeholder {
  constructor(
    readonly kind: 'key' | 'prefixEnd' | 'rev' | 'lease',
    readonly value: string | number,
  ) {}
}

/** base64 of the case prefix + `suffix`. */
export const key = (suffix = ''): Placeholder => new Placeholder('key', suffix);
/** base64 of the end of the range of keys starting with the case prefix + `suffix`. */
export const prefixEnd = (suffix = ''): Placeholder => new Placeholder('prefixEnd', suffix);
/** The revision `n` revisions after the one the server was at when the case began (as a JSON string). */
export const rev = (n: number): Placeholder => new Placeholder('rev', n);
/** A lease id unique to the case (the same on both servers). */
export const lease = (n: number): Placeholder => new Placeholder('lease', n);
/** Plain base64 (no prefix). */
export const b64 = (text: string): string => Buffer.from(text, 'latin1').toString('base64');

export type Body = Placeholder | Json | Body[] | { [key: string]: Body | undefined };

interface SideContext {
  prefix: string;
  baseRevision: number;
  leaseBase: number;
}

function prefixRangeEnd(bytes: Buffer): Buffer {
  const end = Buffer.from(bytes);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function resolve(body: Body, side: SideContext): Json {
  if (body instanceof Placeholder) {
    switch (body.kind) {
      case 'key':
        return Buffer.from(side.prefix + String(body.value), 'latin1').toString('base64');
      case 'prefixEnd':
        return prefixRangeEnd(Buffer.from(side.prefix + String(body.value), 'latin1')).toString('base64');
      case 'rev':
        return String(side.baseRevision + Number(body.value));
      case 'lease':
        return String(side.leaseBase + Number(body.value));
    }
  }
  if (Array.isArray(body)) return body.map((b) => resolve(b, side));
  if (body !== null && typeof body === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(body)) if (v !== undefined) out[k] = resolve(v, side);
    return out;
  }
  return body;
}

// ---- steps ----

/** Called with both normalised responses; may edit them (e.g. accept a difference within a tolerance). */
export type Adjust = (etcd: Json, tetcd: Json) => void;

export type Step =
  /** A unary request to both; status and body compared. `raw` sends these bytes instead of the JSON of `body`. */
  | { type: 'call'; route: string; body?: Body; raw?: string | Buffer; method?: string; adjust?: Adjust[]; label?: string }
  /** Opens the named watch stream on both servers (once) and writes one message to it (nothing compared). */
  | { type: 'watch'; stream: string; send: Body | string }
  /**
   * The next `count` lines of the named stream, compared line by line; with `anyOrder`, as a multiset (etcd sends
   * the responses of several watchers of one stream for one revision in Go map order, which is random).
   */
  | { type: 'lines'; stream: string; count: number; adjust?: Adjust[]; anyOrder?: boolean }
  /** Half-closes the named stream's request body. */
  | { type: 'endInput'; stream: string }
  /** A keep-alive stream: these messages as one body, then every response line until the server ends the stream. */
  | { type: 'keepalive'; messages: Body[] | string; adjust?: Adjust[] }
  /** Polls a unary request on each server until `done` holds (or the time is up: a difference); nothing compared. */
  | { type: 'until'; route: string; body: Body; done: (response: Json) => boolean; timeoutMs?: number; label: string }
  | { type: 'sleep'; ms: number }
  /** Sends these calls at once to each server (to make them apply together); nothing compared. */
  | { type: 'parallel'; steps: Step[] }
  /** Revokes every lease on each server (for ids the servers chose); nothing compared. */
  | { type: 'revokeAllLeases' };

export const call = (route: string, body: Body = {}, adjust: Adjust[] = [], label?: string): Step => ({ type: 'call', route, body, adjust, ...(label ? { label } : {}) });
export const raw = (route: string, text: string | Buffer, method = 'POST', adjust: Adjust[] = []): Step => ({ type: 'call', route, raw: text, method, adjust });
export const put = (k: string, value: string, extra: JsonObject | Record<string, Body> = {}): Step =>
  call('/v3/kv/put', { key: key(k), value: b64(value), ...extra });
export const get = (k: string, extra: Record<string, Body> = {}): Step => call('/v3/kv/range', { key: key(k), ...extra });
/** Every key of the case (or under a sub-prefix). */
export const getPrefix = (sub = '', extra: Record<string, Body> = {}): Step => call('/v3/kv/range', { key: key(sub), range_end: prefixEnd(sub), ...extra });
export const del = (k: string, extra: Record<string, Body> = {}): Step => call('/v3/kv/deleterange', { key: key(k), ...extra });
export const txn = (body: Record<string, Body>): Step => call('/v3/kv/txn', body);
export const watch = (stream: string, send: Body | string): Step => ({ type: 'watch', stream, send });
export const lines = (stream: string, count: number, adjust: Adjust[] = []): Step => ({ type: 'lines', stream, count, adjust });
/** Like lines, in any order. */
export const linesAnyOrder = (stream: string, count: number): Step => ({ type: 'lines', stream, count, anyOrder: true });
export const keepalive = (messages: Body[] | string, adjust: Adjust[] = []): Step => ({ type: 'keepalive', messages, adjust });

// ---- adjusters ----

function at(doc: Json, path: string[], visit: (parent: JsonObject, field: string) => void): void {
  if (doc === null || typeof doc !== 'object') return;
  const [head, ...rest] = path;
  if (head === undefined) return;
  if (head === '*') {
    if (Array.isArray(doc)) for (const item of doc) at(item, rest, visit);
    return;
  }
  if (Array.isArray(doc)) return;
  if (rest.length === 0) {
    if (head in doc) visit(doc, head);
    return;
  }
  at(doc[head]!, rest, visit);
}

/** Replaces the fields at these dotted paths ('*' for every array item) with a marker on both sides (presence is still compared). */
export function masked(...paths: string[]): Adjust {
  return (etcd, tetcd) => {
    for (const p of paths) for (const doc of [etcd, tetcd]) at(doc, p.split('.'), (parent, field) => (parent[field] = '<masked>'));
  };
}

/** Compares the arrays at these paths as multisets (etcd builds some lists from Go maps, in random order). */
export function unordered(...paths: string[]): Adjust {
  return (etcd, tetcd) => {
    for (const p of paths) {
      for (const doc of [etcd, tetcd]) {
        at(doc, p.split('.'), (parent, field) => {
          const list = parent[field];
          if (Array.isArray(list)) list.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
        });
      }
    }
  };
}

/** Accepts integer (or integer-string) fields at `path` that differ by at most `tolerance`. */
export function near(path: string, tolerance: number): Adjust {
  return (etcd, tetcd) => {
    const values: Json[] = [];
    at(etcd, path.split('.'), (parent, field) => values.push(parent[field]!));
    let i = 0;
    at(tetcd, path.split('.'), (parent, field) => {
      const expected = values[i++];
      if (expected === undefined) return;
      if (Math.abs(Number(parent[field]) - Number(expected)) <= tolerance) parent[field] = expected;
    });
  };
}

// ---- normalisation ----

const trace = process.env.TETCD_DIFF_TRACE !== undefined;

const revisionFields = new Set(['revision', 'create_revision', 'mod_revision', 'compact_revision']);

function normalise(doc: Json, baseRevision: number): Json {
  if (Array.isArray(doc)) return doc.map((d) => normalise(d, baseRevision));
  if (doc === null || typeof doc !== 'object') return doc;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) {
    if (revisionFields.has(k) && typeof v === 'string' && /^-?\d+$/.test(v)) out[k] = `base${signed(Number(v) - baseRevision)}`;
    else out[k] = normalise(v, baseRevision);
  }
  return out;
}

function signed(n: number): string {
  return n >= 0 ? `+${n}` : String(n);
}

function parseBody(text: string): Json {
  if (text === '') return '';
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

// ---- the servers ----

interface Server {
  readonly name: 'etcd' | 'tetcd';
  readonly url: string;
}

export interface DiffServers {
  etcd: RealEtcd;
  tetcd: Member;
  root: string;
  sides: [Server, Server];
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Flags for both servers (etcd's names). */
  flags?: string[];
}

export async function startServers(options: ServerOptions = {}): Promise<DiffServers> {
  const flags = options.flags ?? [];
  const etcd = await startEtcd({ flags });
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tetcd-diff-'));
  let tetcd: Member | undefined;
  try {
    const clientPort = await freePort();
    const peerPort = await freePort();
    const clientUrl = `http://127.0.0.1:${clientPort}`;
    tetcd = new Member(
      { name: 'default', clientPort, peerPort, dataDir: path.join(root, 'data') },
      [
        '--name', 'default',
        '--data-dir', path.join(root, 'data'),
        '--listen-client-urls', clientUrl,
        '--advertise-client-urls', clientUrl,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        // the same advertised peer URL as the etcd beside it: the same member id and cluster id
        '--initial-advertise-peer-urls', etcd.peerUrl,
        '--initial-cluster', `default=${etcd.peerUrl}`,
        ...flags,
      ],
      { TETCD_LOG_LEVEL: 'warn' },
    );
    tetcd.start();
    await tetcd.ready();
  } catch (error) {
    await tetcd?.stop();
    await etcd.stop();
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const member = tetcd;
  return {
    etcd,
    tetcd: member,
    root,
    sides: [
      { name: 'etcd', url: etcd.clientUrl },
      { name: 'tetcd', url: member.clientUrl },
    ],
    async stop() {
      await Promise.all([member.stop(), etcd.stop()]);
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

// ---- running a case ----

interface Reply {
  status: number;
  body: Json;
}

async function send(url: string, route: string, body: string | Buffer | undefined, method: string): Promise<Reply> {
  const response = await fetch(url + route, {
    method,
    ...(body !== undefined && method !== 'GET' && method !== 'HEAD' ? { body } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, body: parseBody(await response.text()) };
}

export interface Difference {
  step: number;
  what: string;
  etcd: Json;
  tetcd: Json;
}

interface StreamPair {
  clients: [StreamClient, StreamClient];
  consumed: number;
}

/** Per-file counters, printed when the file's servers stop. */
export interface SuiteStats {
  pairs: number;
  cases: number;
}

export class CaseRunner {
  readonly differences: Difference[] = [];
  /** Every matching pair, when TETCD_DIFF_TRACE is set (to read what was compared). */
  readonly trace: string[] = [];
  private readonly streams = new Map<string, StreamPair>();
  private readonly contexts: [SideContext, SideContext];

  constructor(
    private readonly servers: DiffServers,
    prefix: string,
    baseRevisions: [number, number],
    leaseBase: number,
    private readonly stats: SuiteStats,
  ) {
    this.contexts = [
      { prefix, baseRevision: baseRevisions[0], leaseBase },
      { prefix, baseRevision: baseRevisions[1], leaseBase },
    ];
  }

  static async begin(servers: DiffServers, prefix: string, leaseBase: number, stats: SuiteStats): Promise<CaseRunner> {
    const bases = await Promise.all(
      servers.sides.map(async (side) => {
        const reply = await send(side.url, '/v3/kv/range', JSON.stringify({ key: b64(prefix) }), 'POST');
        const revision = (reply.body as { header?: { revision?: string } }).header?.revision;
        if (reply.status !== 200 || revision === undefined) throw new Error(`${side.name}: cannot read the current revision: ${JSON.stringify(reply.body)}`);
        return Number(revision);
      }),
    );
    return new CaseRunner(servers, prefix, [bases[0]!, bases[1]!], leaseBase, stats);
  }

  async run(steps: readonly Step[]): Promise<void> {
    try {
      for (let i = 0; i < steps.length; i++) await this.step(i, steps[i]!);
      await this.settleStreams(steps.length);
    } finally {
      for (const pair of this.streams.values()) for (const c of pair.clients) c.close();
    }
  }

  /**
   * Compares one pair of replies. Adjusters see the documents inside: a unary reply's body, or each line of a stream
   * (paired by position).
   */
  private compare(step: number, what: string, replies: [Json, Json], adjust: readonly Adjust[], documents: (reply: Json) => Json[]): void {
    this.stats.pairs++;
    const etcd = normalise(replies[0], this.contexts[0].baseRevision);
    const tetcd = normalise(replies[1], this.contexts[1].baseRevision);
    const etcdDocs = documents(etcd);
    const tetcdDocs = documents(tetcd);
    for (let i = 0; i < Math.min(etcdDocs.length, tetcdDocs.length); i++) for (const a of adjust) a(etcdDocs[i]!, tetcdDocs[i]!);
    if (!isDeepStrictEqual(etcd, tetcd)) this.differences.push({ step, what, etcd, tetcd });
    else if (trace) this.trace.push(`step ${step}: ${what}\n  both: ${JSON.stringify(etcd)}`);
  }

  private async step(index: number, step: Step): Promise<void> {
    const sides = this.servers.sides;
    switch (step.type) {
      case 'call': {
        const method = step.method ?? 'POST';
        const replies = await Promise.all(
          sides.map((side, i) => {
            const body = step.raw !== undefined ? step.raw : step.body === undefined ? undefined : JSON.stringify(resolve(step.body, this.contexts[i]!));
            return send(side.url, step.route, body, method);
          }),
        );
        const what = step.label ?? `${method} ${step.route} ${step.raw !== undefined ? JSON.stringify(String(step.raw).slice(0, 120)) : JSON.stringify(resolve(step.body ?? {}, this.contexts[0]))}`.slice(0, 300);
        this.compare(index, what, [replies[0]!, replies[1]!] as unknown as [Json, Json], step.adjust ?? [], (reply) => [(reply as { body: Json }).body]);
        return;
      }
      case 'watch': {
        let pair = this.streams.get(step.stream);
        if (!pair) {
          // etcd's gateway holds stream responses until the request body ends unless the client expects 100-continue
          const clients = sides.map((side) => openStream(side.url, '/v3/watch', { headers: { expect: '100-continue' } })) as [StreamClient, StreamClient];
          pair = { clients, consumed: 0 };
          this.streams.set(step.stream, pair);
        }
        pair.clients.forEach((client, i) => client.write(typeof step.send === 'string' ? step.send : JSON.stringify(resolve(step.send, this.contexts[i]!))));
        return;
      }
      case 'lines': {
        const pair = this.stream(step.stream);
        const from = pair.consumed;
        const got = await Promise.all(
          pair.clients.map(async (client) => {
            try {
              await client.waitForLines(from + step.count, 5_000);
            } catch {
              // compared below as whatever arrived
            }
            const got = client.lines.slice(from, from + step.count);
            if (step.anyOrder) got.sort();
            return got.map(parseBody);
          }),
        );
        pair.consumed = from + step.count;
        this.compare(index, `watch ${step.stream}: lines ${from + 1}..${from + step.count}`, [got[0]!, got[1]!], step.adjust ?? [], (reply) => reply as Json[]);
        return;
      }
      case 'endInput':
        for (const client of this.stream(step.stream).clients) client.endInput();
        return;
      case 'keepalive': {
        const replies = await Promise.all(
          sides.map(async (side, i) => {
            const text = typeof step.messages === 'string' ? step.messages : step.messages.map((m) => JSON.stringify(resolve(m, this.contexts[i]!))).join('\n');
            const client = openStream(side.url, '/v3/lease/keepalive', { body: text });
            client.endInput();
            const ended = await client.ended(10_000);
            client.close();
            const status = await client.status();
            return { status, ended, lines: client.lines.map(parseBody), rest: client.raw().includes('\n') ? '' : client.raw() } as unknown as Json;
          }),
        );
        this.compare(index, `keepalive ${JSON.stringify(typeof step.messages === 'string' ? step.messages : resolve(step.messages, this.contexts[0]))}`, [replies[0]!, replies[1]!], step.adjust ?? [], (reply) => (reply as { lines: Json[] }).lines);
        return;
      }
      case 'until': {
        const outcomes = await Promise.all(
          sides.map(async (side, i) => {
            const deadline = Date.now() + (step.timeoutMs ?? 10_000);
            const body = JSON.stringify(resolve(step.body, this.contexts[i]!));
            let last: Reply | undefined;
            while (Date.now() < deadline) {
              last = await send(side.url, step.route, body, 'POST');
              if (step.done(last.body)) return { met: true } as Json;
              await new Promise((r) => setTimeout(r, 50));
            }
            return { met: false, last: last?.body ?? null } as Json;
          }),
        );
        if (!isDeepStrictEqual(outcomes[0], outcomes[1])) this.differences.push({ step: index, what: `until ${step.label}`, etcd: outcomes[0]!, tetcd: outcomes[1]! });
        return;
      }
      case 'sleep':
        await new Promise((r) => setTimeout(r, step.ms));
        return;
      case 'parallel':
        await Promise.all(
          sides.flatMap((side, i) =>
            step.steps.map((sub) => {
              if (sub.type !== 'call') throw new Error('only calls run in parallel');
              return send(side.url, sub.route, sub.raw ?? JSON.stringify(resolve(sub.body ?? {}, this.contexts[i]!)), sub.method ?? 'POST');
            }),
          ),
        );
        return;
      case 'revokeAllLeases':
        await Promise.all(
          sides.map(async (side) => {
            const list = await send(side.url, '/v3/lease/leases', '{}', 'POST');
            for (const { ID } of (list.body as { leases?: Array<{ ID: string }> }).leases ?? []) {
              await send(side.url, '/v3/lease/revoke', JSON.stringify({ ID }), 'POST');
            }
          }),
        );
        return;
    }
  }

  private stream(name: string): StreamPair {
    const pair = this.streams.get(name);
    if (!pair) throw new Error(`no watch stream named ${name}`);
    return pair;
  }

  /** After the last step: whatever else the streams sent (normally nothing) must be the same too. */
  private async settleStreams(index: number): Promise<void> {
    if (this.streams.size === 0) return;
    await new Promise((r) => setTimeout(r, 200));
    for (const [name, pair] of this.streams) {
      const rest = pair.clients.map((c) => c.lines.slice(pair.consumed).map(parseBody)) as [Json, Json];
      if (!isDeepStrictEqual(normalise(rest[0], this.contexts[0].baseRevision), normalise(rest[1], this.contexts[1].baseRevision))) {
        this.differences.push({ step: index, what: `watch ${name}: unread lines at the end`, etcd: rest[0], tetcd: rest[1] });
      }
    }
  }
}

// ---- the table-driven suite ----

export type CaseSteps = readonly Step[];
export type Case = readonly [name: string, steps: CaseSteps];

export interface SuiteOptions extends ServerOptions {
  /** Distinguishes this file's key prefixes from other files' (they use other servers, but a clear prefix helps when reading logs). */
  area: string;
}

function formatDifference(d: Difference): string {
  return `step ${d.step}: ${d.what}\n  etcd:  ${JSON.stringify(d.etcd)}\n  tetcd: ${JSON.stringify(d.tetcd)}`;
}

/**
 * Registers one serial ava test per case, sharing one etcd and one tetcd started before the first. Each case runs
 * under its own key prefix (`<area>/<case number>/`) and lease id range.
 */
export function diffSuite(test: TestFn, options: SuiteOptions, cases: readonly Case[]): void {
  let servers: DiffServers | undefined;
  const stats: SuiteStats = { pairs: 0, cases: 0 };
  const startedMs = Date.now();
  test.before(async () => {
    servers = await startServers(options);
  });
  test.after.always(async (t) => {
    await servers?.stop();
    t.log(`${options.area}: ${stats.cases} cases, ${stats.pairs} request/response pairs compared in ${((Date.now() - startedMs) / 1000).toFixed(1)} s`);
  });
  cases.forEach(([name, steps], n) => {
    test.serial(name, async (t) => {
      if (!servers) throw new Error('servers did not start');
      const runner = await CaseRunner.begin(servers, `${options.area}/${n}/`, (n + 1) * 1000, stats);
      await runner.run(steps);
      stats.cases++;
      for (const line of runner.trace) t.log(line);
      t.deepEqual(runner.differences.map(formatDifference), []);
    });
  });
}
