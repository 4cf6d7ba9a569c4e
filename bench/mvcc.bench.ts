// mvcc micro benchmarks: apply throughput (store alone, and from encoded raft entries as the actor does it), ranges of
// 1,000 keys, memory per key and per revision (etcd's index: ~120 B per key plus ~30 B per version, values outside),
// and watch fan-out (one event matched and delivered to 100,000 watchers of one prefix, or of distinct keys).
//
// Run alone: node dist/bench/mvcc.bench.js (it enables gc itself for the memory figures).
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeValue } from '../runtime/codec.js';
import { encodeInternalRequest } from '../actors/api/entry-codec.js';
import type { InternalRequest } from '../actors/api/internal.js';
import { EntryType, type Entry } from '../actors/raft/core/types.js';
import { prefixEnd } from '../actors/mvcc/keys.js';
import { MvccStore } from '../actors/mvcc/store.js';
import { WatchHub, type WatchOutput } from '../actors/mvcc/watch/hub.js';
import { SeededRandom } from '../runtime/random.js';
import { report, type BenchResult } from './report.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function memoryBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

function randomKeys(count: number, seed: number): Uint8Array[] {
  const random = new SeededRandom(seed);
  const keys: Uint8Array[] = [];
  const seen = new Set<string>();
  while (keys.length < count) {
    const key = new Uint8Array(8);
    for (let i = 0; i < 8; i++) key[i] = 97 + random.int(26);
    const s = String.fromCharCode(...key);
    if (seen.has(s)) continue;
    seen.add(s);
    keys.push(key);
  }
  return keys;
}

function values(count: number, bytes: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => new Uint8Array(bytes).fill(i % 251));
}

/**
 * A clock reading for rates: the process's CPU time (user + system, all threads, so GC helpers count). The machines
 * these run on are shared and busy; CPU time is far steadier than wall time there, and the work is single-threaded.
 */
function now(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function seconds(start: number): number {
  return Math.max(1e-9, now() - start);
}

/** A store holding `prefill` keys already (untimed), so overwrite runs measure steady-state puts. */
function storeWith(keySpace: Uint8Array[], prefill: number, vals: Uint8Array[], memberId = 'm'): MvccStore {
  const store = new MvccStore({ clusterId: 'c', memberId });
  for (let i = 0; i < prefill; i++) store.apply({ type: 'put', req: { key: keySpace[i]!, value: vals[i % vals.length]! } });
  return store;
}

function applyPuts(keySpace: Uint8Array[], order: Uint32Array, vals: Uint8Array[], prefill: number): number {
  const store = storeWith(keySpace, prefill, vals);
  const t0 = now();
  for (let i = 0; i < order.length; i++) store.apply({ type: 'put', req: { key: keySpace[order[i]!]!, value: vals[i % vals.length]! } });
  return order.length / seconds(t0);
}

/**
 * Entries as the actor receives them: each batch's payloads are views into one buffer (as if decoded from one frame),
 * not one ArrayBuffer each, which would cost the GC far more than anything the store does.
 */
function encodeEntries(keySpace: Uint8Array[], order: Uint32Array, vals: Uint8Array[]): Entry[][] {
  const batches: Entry[][] = [];
  for (let i = 0; i < order.length; i += 1000) {
    const payloads: Uint8Array[] = [];
    for (let j = i; j < Math.min(order.length, i + 1000); j++) {
      const request: InternalRequest = { id: j + 1, member: 'm', boot: 0, op: { type: 'put', req: { key: keySpace[order[j]!]!, value: vals[j % vals.length]! } } };
      payloads.push(encodeInternalRequest(request));
    }
    const frame = new Uint8Array(payloads.reduce((sum, p) => sum + p.length, 0));
    let at = 0;
    const batch: Entry[] = payloads.map((p, k) => {
      frame.set(p, at);
      const data = frame.subarray(at, at + p.length);
      at += p.length;
      return { term: 1, index: i + k + 1, type: EntryType.Normal, data };
    });
    batches.push(batch);
  }
  return batches;
}

/**
 * Entries decoded and applied in batches, watch hub delivered per batch; as the proposing member (outcomes built) or
 * as a follower (applied quietly).
 */
function applyEntries(
  batches: Entry[][],
  setup: { keySpace: Uint8Array[]; prefill: number; vals: Uint8Array[] },
  hub: (store: MvccStore) => WatchHub | undefined,
  proposer = true,
): number {
  const store = storeWith(setup.keySpace, setup.prefill, setup.vals, proposer ? 'm' : 'other');
  const h = hub(store);
  let outcomes = 0;
  let count = 0;
  const t0 = now();
  for (const batch of batches) {
    store.applyEntries(batch, () => outcomes++);
    if (h) {
      h.deliverApplied();
      h.takeOutput();
    }
    count += batch.length;
  }
  const rate = count / seconds(t0);
  if (outcomes !== (proposer ? count : 0)) throw new Error('outcomes missing');
  return rate;
}

/** Recipients per delivery, resolving shared sets the way the gateway does. */
class RecipientCounter {
  private readonly sets = new Map<number, number>();
  count(items: WatchOutput[]): number {
    let total = 0;
    for (const item of items) {
      if (item.kind === 'recipients') this.sets.set(item.setId, item.streamIds.length);
      else if (item.kind === 'forget') this.sets.delete(item.setId);
      else if (item.kind === 'events') total += item.setId !== 0 ? this.sets.get(item.setId)! : item.streamIds.length;
    }
    return total;
  }
}

function best(runs: number, fn: () => number): number {
  let top = 0;
  for (let i = 0; i < runs; i++) top = Math.max(top, fn());
  return top;
}

function memoryBenchmarks(results: BenchResult[]): void {
  // ---- memory (stores are kept referenced until measured: V8 frees what a function no longer uses)
  {
    const n = 500_000;
    const keySpace = randomKeys(n, 3);
    const small = values(16, 8);
    const big = values(4, 256);
    // inputs stay referenced to the end: otherwise their collection mid-way shows up as negative memory
    const inputs: unknown[] = [keySpace, small, big];
    const retained: unknown[] = [];
    let base = memoryBytes();
    const store = new MvccStore();
    retained.push(store);
    for (let i = 0; i < n; i++) store.apply({ type: 'put', req: { key: keySpace[i]!, value: small[i % small.length]! } });
    const withRecords = memoryBytes() - base;
    // compact everything: every key's state moves from its history record into the key entry
    store.apply({ type: 'compaction', req: { revision: store.revision } });
    store.apply({ type: 'put', req: { key: keySpace[0]!, value: small[0]! } });
    store.apply({ type: 'compaction', req: { revision: store.revision } });
    store.compactHistory();
    const compacted = memoryBytes() - base;
    results.push({
      name: 'memory per key with one revision (index + history record)',
      value: (withRecords - n * 16) / n,
      unit: 'B/key',
      note: 'excluding the 8 B key and 8 B value; etcd: ~120 B/key + ~30 B/version in its index, values outside',
    });
    results.push({ name: 'memory per key after compaction (state kept in the key entry)', value: (compacted - n * 16) / n, unit: 'B/key', note: 'excluding key and value bytes' });
    retained.length = 0;
    base = memoryBytes();
    const keys = 50_000;
    const revisions = 2_000_000;
    const history = new MvccStore();
    retained.push(history);
    for (let i = 0; i < keys; i++) history.apply({ type: 'put', req: { key: keySpace[i]!, value: small[i % small.length]! } });
    const keysOnly = memoryBytes() - base;
    for (let i = keys; i < revisions; i++) history.apply({ type: 'put', req: { key: keySpace[i % keys]!, value: small[i % small.length]! } });
    const used = memoryBytes() - base;
    results.push({
      name: 'memory per revision (history record)',
      value: (used - keysOnly - (revisions - keys) * 8) / (revisions - keys),
      unit: 'B/revision',
      note: `excluding the 8 B value; ${revisions / keys} revisions per key`,
    });
    retained.length = 0;
    const bigBase = memoryBytes();
    const store256 = new MvccStore();
    retained.push(store256);
    for (let i = 0; i < 200_000; i++) store256.apply({ type: 'put', req: { key: keySpace[i % keys]!, value: big[i % big.length]! } });
    results.push({ name: 'memory per revision with 256 B values (everything)', value: (memoryBytes() - bigBase) / 200_000, unit: 'B/revision' });
    const hub = new WatchHub(store256);
    retained.push(hub);
    const watchBase = memoryBytes();
    for (let i = 0; i < 100_000; i++) hub.create(1 + (i % 5_000), { key: keySpace[i]! });
    hub.takeOutput();
    results.push({ name: 'memory per watcher (single key)', value: (memoryBytes() - watchBase) / 100_000, unit: 'B/watcher' });
    if (retained.length !== 2 || inputs.length !== 3) throw new Error('retained');
  }
}

function applyBenchmarks(results: BenchResult[]): void {
  const vals = values(64, 256);
  // ---- apply throughput
  {
    const keySpace = randomKeys(1_000_000, 1);
    const random = new SeededRandom(2);
    const overwrite = new Uint32Array(1_000_000).map(() => random.int(100_000));
    const inserts = new Uint32Array(1_000_000).map((_, i) => i);
    const existing = { keySpace, prefill: 100_000, vals };
    const fresh = { keySpace, prefill: 0, vals };
    results.push({ name: 'apply put, store only: 1M puts over 100k existing keys (8 B key, 256 B value)', value: best(2, () => applyPuts(keySpace, overwrite, vals, 100_000)), unit: 'puts/s' });
    results.push({ name: 'apply put, store only: 1M new keys in random order', value: best(2, () => applyPuts(keySpace, inserts, vals, 0)), unit: 'puts/s' });
    const overwriteEntries = encodeEntries(keySpace, overwrite.subarray(0, 300_000), vals);
    results.push({
      name: 'apply from raft entries (decode + apply + outcome), 300k puts over 100k existing keys',
      value: best(3, () => applyEntries(overwriteEntries, existing, () => undefined)),
      unit: 'puts/s',
      note: 'target >= 300,000',
    });
    results.push({ name: 'the same as a follower (no responses built)', value: best(3, () => applyEntries(overwriteEntries, existing, () => undefined, false)), unit: 'puts/s' });
    const insertEntries = encodeEntries(keySpace, inserts.subarray(0, 300_000), vals);
    results.push({ name: 'apply from raft entries, 300k new keys', value: best(3, () => applyEntries(insertEntries, fresh, () => undefined)), unit: 'puts/s' });
    results.push({
      name: 'apply from raft entries with 10k single-key watchers attached',
      value: best(3, () =>
        applyEntries(overwriteEntries, existing, (store) => {
          const hub = new WatchHub(store);
          for (let i = 0; i < 10_000; i++) hub.create(1 + (i % 100), { key: keySpace[i * 10]! });
          hub.takeOutput();
          return hub;
        }),
      ),
      unit: 'puts/s',
      note: 'one put in ten matches a watcher',
    });
  }
}

function rangeBenchmarks(results: BenchResult[]): void {
  const vals = values(64, 256);
  // ---- range of 1,000 keys
  {
    const store = new MvccStore();
    const keys = Array.from({ length: 100_000 }, (_, i) => new TextEncoder().encode(`key/${String(i).padStart(6, '0')}`));
    for (let i = 0; i < keys.length; i++) store.apply({ type: 'put', req: { key: keys[i]!, value: vals[i % vals.length]! } });
    for (let i = 0; i < 100_000; i++) store.apply({ type: 'put', req: { key: keys[(i * 7919) % keys.length]!, value: vals[i % vals.length]! } });
    const rounds = 2_000;
    const measure = (extra: Record<string, unknown>) => {
      const t0 = now();
      let n = 0;
      for (let r = 0; r < rounds; r++) {
        const start = (r * 997) % 99_000;
        n += store.range({ key: keys[start]!, rangeEnd: keys[start + 1000]!, ...extra }).kvs.length;
      }
      if (extra.countOnly === undefined && n !== rounds * 1000 && extra.limit === undefined) throw new Error('short range');
      return rounds / seconds(t0);
    };
    results.push({ name: 'range 1,000 keys (values, of 100k keys, 200k revisions)', value: best(2, () => measure({})), unit: 'ranges/s' });
    results.push({ name: 'range 1,000 keys, keys_only', value: best(2, () => measure({ keysOnly: true })), unit: 'ranges/s' });
    results.push({ name: 'range 1,000 keys, count_only', value: best(2, () => measure({ countOnly: true })), unit: 'ranges/s' });
    results.push({ name: 'range 1,000 keys at an old revision (history walk)', value: best(2, () => measure({ revision: 150_000 })), unit: 'ranges/s' });
    results.push({ name: 'range 1,000 keys, limit 10 (count still covers all)', value: best(2, () => measure({ limit: 10 })), unit: 'ranges/s' });
  }
}

function watchBenchmarks(results: BenchResult[]): void {
  const vals = values(64, 256);
  // ---- watch fan-out
  {
    const fanout = 100_000;
    const store = new MvccStore({ clusterId: 'c', memberId: 'm' });
    const hub = new WatchHub(store);
    const prefix = new TextEncoder().encode('fan/');
    let t0 = now();
    for (let i = 0; i < fanout; i++) hub.create(1 + (i % 5_000), { key: prefix, rangeEnd: prefixEnd(prefix) });
    hub.takeOutput();
    results.push({ name: 'create 100k watchers on one prefix', value: fanout / seconds(t0), unit: 'creates/s' });
    const value = vals[0]!;
    // enough rounds that JIT warm-up is a small part of the figure
    const rounds = 100_000;
    let delivered = 0;
    let encodedBytes = 0;
    const counter = new RecipientCounter();
    const fanKeys = Array.from({ length: 100 }, (_, i) => new TextEncoder().encode(`fan/${i}`));
    t0 = now();
    for (let r = 0; r < rounds; r++) {
      store.apply({ type: 'put', req: { key: fanKeys[r % 100]!, value } });
      hub.deliverApplied();
      delivered += counter.count(hub.takeOutput());
    }
    const matchSeconds = seconds(t0) / rounds;
    if (delivered !== rounds * fanout) throw new Error(`fan-out delivered ${delivered}`);
    results.push({ name: 'one event matched and built for 100k watchers of one prefix', value: matchSeconds * 1e6, unit: 'us/event', note: 'includes the put; one shared delivery item' });
    const frames = 5_000;
    t0 = now();
    for (let r = 0; r < frames; r++) {
      store.apply({ type: 'put', req: { key: fanKeys[r % 100]!, value } });
      hub.deliverApplied();
      encodedBytes += encodeValue({ type: 'mvccOutput', appliedIndex: r, revision: r, results: [], reads: [], watch: hub.takeOutput() }).length;
    }
    results.push({
      name: 'the same with each delivery encoded alone as a CBOR frame (runtime codec; a turn shares one frame)',
      value: (seconds(t0) / frames) * 1e6,
      unit: 'us/event',
      note: `${Math.round(encodedBytes / frames)} B per event frame (recipients go as a shared set)`,
    });

    const store2 = new MvccStore({ clusterId: 'c', memberId: 'm' });
    const hub2 = new WatchHub(store2);
    const keys = randomKeys(fanout, 9);
    t0 = now();
    for (let i = 0; i < fanout; i++) hub2.create(1 + (i % 5_000), { key: keys[i]! });
    hub2.takeOutput();
    results.push({ name: 'create 100k watchers on distinct keys', value: fanout / seconds(t0), unit: 'creates/s' });
    delivered = 0;
    const counter2 = new RecipientCounter();
    t0 = now();
    for (let r = 0; r < 200_000; r++) {
      store2.apply({ type: 'put', req: { key: keys[(r * 7) % fanout]!, value } });
      hub2.deliverApplied();
      delivered += counter2.count(hub2.takeOutput());
    }
    if (delivered !== 200_000) throw new Error(`distinct delivered ${delivered}`);
    results.push({ name: 'one event matched among 100k watchers of distinct keys', value: (seconds(t0) / 200_000) * 1e6, unit: 'us/event', note: 'includes the put itself' });
    // one batch touching every watched key once: 100k events, each to its own watcher
    for (let i = 0; i < fanout; i++) store2.apply({ type: 'put', req: { key: keys[i]!, value } });
    t0 = now();
    hub2.deliverApplied();
    const out = hub2.takeOutput();
    const batchSeconds = seconds(t0);
    delivered = counter2.count(out);
    if (delivered !== fanout) throw new Error(`batch delivered ${delivered}`);
    results.push({ name: 'a batch of 100k events, each to its own watcher (match + build)', value: (batchSeconds / fanout) * 1e6, unit: 'us/event' });
  }
}

export async function mvccBenchmarks(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  // memory first, on a clean heap; each group in its own function so its data is gone before the next starts
  memoryBenchmarks(results);
  applyBenchmarks(results);
  rangeBenchmarks(results);
  watchBenchmarks(results);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report('mvcc', await mvccBenchmarks());
}
