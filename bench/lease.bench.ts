// Lease benchmarks: keep-alive throughput at the lessor (renewals in batches, as the lease actor gets one ask per
// keep-alive stream turn), the same through the whole CPU path of an acknowledged renewal except raft and the WAL
// (renew, the turn's checkpoint entry encoded, applied by the MVCC store, its lease events applied, the keep-alives
// answered once the checkpoint applied), and the cost of 100,000 live leases — heap bytes per lease in the lessor
// (leader time-keeping) and in the MVCC store's lease table (replicated state), and the time of one expiry check
// over 100,000 leases with none or 1% due. Heap figures need `node --expose-gc` to be exact (a full GC before each
// reading); without it they are taken from process.memoryUsage() deltas and marked approximate.
//
// Not measured here: renewals through a member's /v3/lease/keepalive WebSocket path (see the report of the lease
// work for why), which adds the gateway, the actor hops and the raft commit (a WAL sync, and a round trip to a quorum
// in a cluster) each turn's checkpoint waits for: bench/loadgen's lease-keepalive workload measures that.
import { EntryType, type Entry } from '../actors/raft/core/types.js';
import { applyLeaseEvents, keepAlive, KeepAliveCheckpoints, leaseOpPayload, tickProposals } from '../actors/lease/driver.js';
import type { LeaseEvents } from '../actors/lease/protocol.js';
import { leaseLimits } from '../actors/lease/actor.js';
import { Lessor } from '../actors/lease/lessor.js';
import { MvccStore } from '../actors/mvcc/store.js';
import { percentile, report, type BenchResult } from './report.js';

const leaseCount = 100_000;
const electionTimeoutMs = 1_000;
const tickMs = leaseLimits.tickMsDefault;
const rates = { tickMs, expiryRatePerSecond: leaseLimits.expiryRatePerSecondDefault, checkpointRatePerSecond: leaseLimits.checkpointRatePerSecondDefault };

function newLessor(): Lessor {
  return new Lessor({
    electionTimeoutMs,
    expiryRatePerSecond: leaseLimits.expiryRatePerSecondDefault,
    checkpointRatePerSecond: leaseLimits.checkpointRatePerSecondDefault,
    revokeRetryMs: leaseLimits.revokeRetryMs,
  });
}

/** A leader lessor holding `count` leases of TTL `ttlFor(i)` seconds, granted at time 0. */
function leaderWith(count: number, ttlFor: (i: number) => number): Lessor {
  const lessor = newLessor();
  lessor.promote(0);
  const granted = Array.from({ length: count }, (_, i) => ({ ID: BigInt(i + 1), TTL: ttlFor(i) }));
  applyLeaseEvents(lessor, { type: 'leaseEvents', granted, revoked: [], checkpoints: [] }, 0);
  return lessor;
}

const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** Heap bytes per item that `build` keeps alive (the result is held until measured). */
function heapPerItem(count: number, build: () => unknown): number {
  const before = heapUsed();
  const kept = build();
  const after = heapUsed();
  if (kept === undefined) throw new Error('nothing built');
  return (after - before) / count;
}

function renewalThroughput(): BenchResult {
  const lessor = leaderWith(leaseCount, () => 60);
  const batch = 1_000;
  const ids = Array.from({ length: batch }, () => 0n);
  let now = 1;
  let renewals = 0;
  let next = 0;
  const run = (rounds: number) => {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < batch; i++) ids[i] = BigInt((next++ % leaseCount) + 1);
      keepAlive(lessor, ids, now);
      renewals += batch;
      // the actor's tick runs every tickMs; here every 50 batches (50,000 renewals), draining checkpoints within
      // their rate as the real tick does
      if (r % 50 === 49) {
        now += tickMs;
        tickProposals(lessor, now, rates);
      }
    }
  };
  run(500); // warm-up
  renewals = 0;
  const started = process.hrtime.bigint();
  run(3_000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { name: 'lessor keep-alive: batches of 1,000 renewals over 100,000 leases', value: renewals / seconds, unit: 'renewals/s', note: `${renewals.toLocaleString('en-US')} renewals, with the lease tick every 50,000` };
}

/**
 * Renewals acknowledged per second through everything but raft: each turn 10 asks of 100 renewals renew at the
 * leader, the turn's checkpoint entry is encoded, the MVCC store applies it and reports lease events, the lessor takes
 * them, and the asks are answered once the checkpoint counts as applied.
 */
function acknowledgedThroughput(): BenchResult {
  const lessor = leaderWith(leaseCount, () => 60);
  const store = new MvccStore({});
  for (let i = 1; i <= leaseCount; i++) store.apply({ type: 'leaseGrant', req: { ID: BigInt(i), TTL: 60 } });
  let events: LeaseEvents = { type: 'leaseEvents', granted: [], revoked: [], checkpoints: [] };
  store.leaseListener = {
    granted: () => {},
    revoked: () => {},
    checkpointed: (ID, remainingMs) => void events.checkpoints.push({ ID, remainingMs }),
  };
  const keepAlives = new KeepAliveCheckpoints({
    renewalsPendingMax: leaseLimits.keepAliveRenewalsPendingMax,
    leasesPerEntryMax: leaseLimits.keepAliveCheckpointLeasesMax,
  });
  keepAlives.leaderChanged(1, true);
  const asksPerTurn = 10;
  const idsPerAsk = 100;
  let now = 1;
  let next = 0;
  let answered = 0;
  let proposalId = 1;
  let index = store.appliedIndex;
  const run = (turns: number) => {
    for (let r = 0; r < turns; r++) {
      for (let a = 0; a < asksPerTurn; a++) {
        const ids = Array.from({ length: idsPerAsk }, () => BigInt((next++ % leaseCount) + 1));
        keepAlives.add(lessor, ids, now, (outcome) => {
          if (!('ttls' in outcome)) throw outcome.error;
          answered += outcome.ttls.length;
        });
      }
      const proposals = keepAlives.takeTurn(() => proposalId++);
      const entries: Entry[] = proposals.map((p) => ({ index: ++index, term: 1, type: EntryType.Normal, data: leaseOpPayload('1', p.op) }));
      store.applyEntries(entries);
      applyLeaseEvents(lessor, events, now);
      events = { type: 'leaseEvents', granted: [], revoked: [], checkpoints: [] };
      keepAlives.applied(lessor, proposals.map((p) => p.id));
      now += 1;
    }
  };
  run(300); // warm-up
  answered = 0;
  const started = process.hrtime.bigint();
  run(2_000);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    name: 'keep-alive acknowledged without raft: renew, checkpoint entry encoded and applied, answered',
    value: answered / seconds,
    unit: 'renewals/s',
    note: `${answered.toLocaleString('en-US')} renewals over 100,000 leases, turns of ${asksPerTurn} asks x ${idsPerAsk} (one checkpoint entry per turn)`,
  };
}

function expiryPass(duePercent: number): BenchResult {
  const times: number[] = [];
  let dueFound = 0;
  for (let round = 0; round < 7; round++) {
    // the first `duePercent` of the leases have a TTL of 5 s, the rest 60 s; the check runs at 5 s
    const dueCount = Math.floor((leaseCount * duePercent) / 100);
    const lessor = leaderWith(leaseCount, (i) => (i < dueCount ? 5 : 60));
    const nowMs = 5_000;
    const started = process.hrtime.bigint();
    // one tick's pass: the tick proposes at most expiryRate x tickMs revokes; a full check takes as many ticks
    let due = 0;
    for (let pass = 0; pass < 1_000; pass++) {
      const got = tickProposals(lessor, nowMs, rates).revokes;
      due += got;
      if (got === 0) break;
    }
    times.push(Number(process.hrtime.bigint() - started) / 1e3);
    dueFound = due;
  }
  return {
    name: `expiry check over 100,000 leases, ${duePercent}% due`,
    value: percentile(times.slice(2), 50),
    unit: 'us p50',
    note: `finds ${dueFound.toLocaleString('en-US')} due (all the ticks needed at 1,000 revokes/s), 5 runs after 2 warm-ups`,
  };
}

export async function leaseBenchmarks(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  results.push(renewalThroughput(), acknowledgedThroughput());
  const how = gc ? 'global.gc before each reading' : 'approximate: run with node --expose-gc for exact figures';
  results.push({
    name: 'heap per live lease in the lessor (leader, 100,000 leases)',
    value: heapPerItem(leaseCount, () => leaderWith(leaseCount, () => 60)),
    unit: 'bytes/lease',
    note: how,
  });
  results.push({
    name: 'heap per live lease in the MVCC store lease table (100,000 leases)',
    value: heapPerItem(leaseCount, () => {
      const store = new MvccStore({});
      for (let i = 1; i <= leaseCount; i++) store.apply({ type: 'leaseGrant', req: { ID: BigInt(i), TTL: 60 } });
      return store;
    }),
    unit: 'bytes/lease',
    note: how,
  });
  results.push(expiryPass(0), expiryPass(1));
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report('lease', await leaseBenchmarks());
}
