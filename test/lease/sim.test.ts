// Leases across leader changes, in the deterministic lease cluster (lease-sim.ts: real raft cores, real MVCC stores,
// real lessors driven by the lease actor's own functions, one fake clock). Each test runs several seeds; a failing
// seed is named in the message and replays exactly.
//
// What is shown:
//   (a) a new leader resumes every lease from what the log told it: its expiry is the old leader's (as of the newest
//       checkpoint that committed) plus one election timeout, never a fresh full TTL;
//   (b) a holder that keeps renewing — through whichever member it is connected to, with keep-alives failing during
//       elections and being retried — never loses its lease through leader crashes and partitions, and no lease is
//       revoked before the TTL of its last acknowledged renewal ran out;
//   (c) a lease nobody renews is revoked exactly once on every member, no earlier than its TTL and no later than its
//       TTL plus one election timeout (plus a tick and a commit), even when its leader dies or is cut off meanwhile;
//       all its keys go at one revision, and only a leader ever proposes a revoke.
import test from 'ava';
import type { NodeId } from '../../actors/raft/core/types.js';
import { ELECTION_TIMEOUT_MS, Holder, LEASE_TICK_MS, LeaseSim, type CheckpointApplied, type CheckpointProposed, type LeaseMember } from './lease-sim.js';

/** LEASE_SIM_SEEDS=n runs seeds 1..n instead (a longer soak). */
const seeds = Array.from({ length: Number(process.env.LEASE_SIM_SEEDS ?? 40) }, (_, i) => i + 1);
/** How much later than the leader a follower may learn a log fact (the commit reaches it with the next heartbeat). */
const applyLagMs = 150;

function membersFor(seed: number): 3 | 5 {
  return seed % 2 === 0 ? 3 : 5;
}

/** Takes the leader away: a crash or a partition that cuts it off (it keeps believing it leads for a while). */
function removeLeader(sim: LeaseSim, leader: LeaseMember, crash: boolean): void {
  if (crash) sim.crash(leader.id);
  else sim.isolate(leader.id);
}

/** Runs until a member other than `old` is promoted; returns its promotion record. */
function awaitNewLeader(sim: LeaseSim, old: NodeId, sinceMs: number) {
  const found = () => sim.promotions.find((p) => p.member !== old && p.atMs >= sinceMs);
  const ok = sim.runUntilTrue(() => found() !== undefined, 15_000);
  if (!ok) throw new Error('no new leader after the old one was taken away');
  return found()!;
}

/** The proposal of an applied checkpoint: the one raft placed at the same index in the same term. */
function proposalOf(sim: LeaseSim, a: CheckpointApplied): CheckpointProposed | undefined {
  return sim.checkpointsProposed.find((p) => p.lease === a.lease && p.entry?.index === a.entry.index && p.entry.term === a.entry.term);
}

/** The newest expiry (ms) the log promised for a lease by checkpoints that `member` had applied by `beforeMs`. */
function committedPromise(sim: LeaseSim, lease: bigint, member: NodeId, beforeMs: number): number | undefined {
  let best: number | undefined;
  for (const a of sim.checkpointsApplied) {
    if (a.lease !== lease || a.member !== member || a.atMs > beforeMs) continue;
    const proposal = proposalOf(sim, a);
    if (proposal) best = Math.max(best ?? 0, proposal.atMs + proposal.remainingMs);
  }
  return best;
}

/** The newest expiry promised by a checkpoint of `lease` that some member had applied (so it committed) by `beforeMs`. */
function committedPromiseAnywhere(sim: LeaseSim, lease: bigint, beforeMs: number): number | undefined {
  let best: number | undefined;
  for (const a of sim.checkpointsApplied) {
    if (a.lease !== lease || a.atMs > beforeMs) continue;
    const proposal = proposalOf(sim, a);
    if (proposal) best = Math.max(best ?? 0, proposal.atMs + proposal.remainingMs);
  }
  return best;
}

/** The newest expiry any proposed checkpoint promised for a lease by `beforeMs`, and the proposal. */
function newestPromise(sim: LeaseSim, lease: bigint, beforeMs: number): { expiryMs: number; proposal: CheckpointProposed } | undefined {
  let best: { expiryMs: number; proposal: CheckpointProposed } | undefined;
  for (const p of sim.checkpointsProposed) {
    if (p.lease === lease && p.atMs <= beforeMs && (!best || p.atMs + p.remainingMs > best.expiryMs)) best = { expiryMs: p.atMs + p.remainingMs, proposal: p };
  }
  return best;
}

test('(a) a new leader resumes remaining TTLs from the log plus at most one election timeout, never a fresh TTL', (t) => {
  /** How much less time X had at the promotion than at the loss (the election's length minus the grace). */
  const shrink: number[] = [];
  let lateCheckpoints = 0;
  for (const seed of seeds) {
    const sim = new LeaseSim({ seed, members: membersFor(seed) });
    const old = sim.awaitLeader();
    sim.runFor(500);
    const t0 = sim.now;
    // X is never renewed; Y is renewed three times on the leader, the last time shortly before the leader goes
    sim.grant(1n, 10);
    const grantedAtMs = sim.now;
    sim.grant(2n, 10);
    for (const at of [2_000, 4_000, 5_500 + sim.random.int(400)]) {
      sim.runUntil(t0 + at);
      sim.keepAlive(old.id, 2n, () => {});
    }
    // the leader goes at a random moment: sometimes before the last renewal's checkpoint commits, sometimes just after
    sim.runUntil(t0 + 6_000 + sim.random.int(600));
    const killAtMs = sim.now;
    const oldExpiry = new Map([1n, 2n].map((id) => [id, killAtMs + old.lessor.remainingMs(id, killAtMs)!]));
    const crash = seed % 3 !== 0;
    removeLeader(sim, old, crash);
    const promotion = awaitNewLeader(sim, old.id, killAtMs);
    const context = `seed ${seed}: ${crash ? 'crash' : 'partition'} at ${killAtMs - t0} ms, promoted at ${promotion.atMs - t0} ms`;

    // what the new leader resumes from, once it has applied the entries the old leader committed (its own term's
    // first entry applied): a checkpoint committed just before the loss may apply only after the promotion
    const leader = sim.member(promotion.member);
    t.true(sim.runUntilTrue(() => leader.store.raftTerm >= promotion.term, 5_000) && leader.lessor.isLeader, `${context}: caught up`);
    const expiryNow = (id: bigint) => sim.now + leader.lessor.remainingMs(id, sim.now)!;

    // X: the log knew its grant only; the new leader ends it one election timeout after the old leader would have
    const xNew = expiryNow(1n);
    t.true(xNew >= oldExpiry.get(1n)! + ELECTION_TIMEOUT_MS - 1, `${context}: X ends at ${xNew - t0}, old leader said ${oldExpiry.get(1n)! - t0}`);
    t.true(xNew <= oldExpiry.get(1n)! + ELECTION_TIMEOUT_MS + applyLagMs, `${context}: X extended to ${xNew - t0} (old ${oldExpiry.get(1n)! - t0})`);
    const xLeftAtKill = oldExpiry.get(1n)! - killAtMs;
    const xLeftAtPromotion = promotion.remainingMs.get(1n)!;
    t.true(xLeftAtPromotion <= xLeftAtKill + ELECTION_TIMEOUT_MS && xLeftAtPromotion >= xLeftAtKill - (promotion.atMs - killAtMs), context);
    t.true(xLeftAtPromotion < 10_000 - 2 * ELECTION_TIMEOUT_MS, `${context}: X got a fresh TTL (${xLeftAtPromotion} ms)`);
    t.true(promotion.atMs - grantedAtMs < 10_000, 'the leader change happens well within X');

    // Y: at least what the newest checkpoint that committed before the loss promised, at most the newest proposed
    const yNew = expiryNow(2n);
    const floor = committedPromise(sim, 2n, old.id, killAtMs);
    const ceiling = newestPromise(sim, 2n, sim.now);
    t.true(floor !== undefined && ceiling !== undefined, `${context}: Y was checkpointed`);
    t.true(yNew >= floor! + ELECTION_TIMEOUT_MS - 1, `${context}: Y ends at ${yNew - t0}, before the committed checkpoint's ${floor! - t0} + ET`);
    // one election timeout past the promise, plus how late the promise reached the new leader: a commit's lag, or,
    // when it applied only after the promotion, the time from its proposal to the promotion (see lessor.ts)
    const appliedBeforePromotion = sim.checkpointsApplied.some(
      (a) => a.member === promotion.member && a.lease === 2n && a.atMs <= promotion.atMs && proposalOf(sim, a) === ceiling!.proposal,
    );
    const lateMs = appliedBeforePromotion ? applyLagMs : promotion.atMs - ceiling!.proposal.atMs;
    t.true(yNew <= ceiling!.expiryMs + ELECTION_TIMEOUT_MS + lateMs, `${context}: Y extended to ${yNew - t0}, past ${ceiling!.expiryMs - t0} + ET`);
    if (lateMs > applyLagMs) lateCheckpoints++;
    shrink.push(xLeftAtKill - xLeftAtPromotion);
  }
  t.log(
    `${seeds.length} seeds: X's remaining time at the promotion was its remaining time at the loss minus ${Math.min(...shrink)}..${Math.max(...shrink)} ms; ` +
      `${lateCheckpoints} seeds applied Y's last checkpoint only after the promotion`,
  );
});

test('(b) a lease kept alive is never revoked through leader crashes and partitions', (t) => {
  let leaderChanges = 0;
  let renewals = 0;
  let failedKeepAlives = 0;
  const lostShort: string[] = [];
  for (const seed of seeds) {
    const sim = new LeaseSim({ seed, members: membersFor(seed), dropRate: 0.02 });
    sim.awaitLeader();
    const ttls = [5, 8, 10, 15];
    ttls.forEach((ttl, i) => sim.grant(BigInt(100 + i), ttl, [`held/${i}`]));
    const holders = ttls.map((ttl, i) => new Holder(sim, BigInt(100 + i), ttl, 0.05));
    // safety, checked the moment it happens: a revoke never applies while its holder still counts on the lease
    const violations: string[] = [];
    const applied = sim.revokesApplied.length;
    const start = sim.now;
    const promotionsBefore = sim.promotions.length;
    // faults aimed at the leader every few seconds: crash (restart later) or partition (heal later)
    for (let round = 0; round < 6; round++) {
      sim.runFor(2_000 + sim.random.int(3_000));
      const leader = sim.leader();
      if (!leader) continue;
      if (sim.random.int(2) === 0) {
        sim.crash(leader.id);
        const id = leader.id;
        sim.after(1_500 + sim.random.int(3_000), () => sim.restart(id));
      } else {
        sim.isolate(leader.id);
        sim.after(1_500 + sim.random.int(3_000), () => sim.heal());
      }
    }
    sim.runFor(10_000);
    for (const h of holders) h.stop();
    const context = `seed ${seed} (${membersFor(seed)} members)`;
    for (const r of sim.revokesApplied.slice(applied)) {
      // never before what a committed checkpoint promised (a checkpoint applied anywhere has committed)
      const promised = committedPromiseAnywhere(sim, r.lease, r.atMs);
      if (promised !== undefined && r.atMs < promised) violations.push(`lease ${r.lease} revoked on ${r.member} at ${r.atMs}, a committed checkpoint promised ${promised}`);
      // never before the TTL of an acknowledged renewal ran out, counted from when the holder asked: an answered
      // keep-alive is in the log, so no leader change loses it
      const holder = holders.find((h) => h.lease === r.lease)!;
      const sentBefore = holder.renewedAtMs.filter((at) => at < r.atMs);
      if (sentBefore.length > 0 && sentBefore.at(-1)! + holder.ttlSeconds * 1000 > r.atMs) {
        violations.push(`lease ${r.lease} revoked on ${r.member} at ${r.atMs}, renewal sent at ${sentBefore.at(-1)} was acknowledged`);
      }
    }
    t.deepEqual(violations, [], context);
    for (const h of holders) {
      if (h.lostAtMs !== undefined) {
        // a TTL of 5 s can run out when two leaders go within a few seconds and the client's retries are unlucky (the
        // revoke was not earlier than any committed checkpoint promised: checked above)
        t.true(h.ttlSeconds <= 5, `${context}: lease ${h.lease} (TTL ${h.ttlSeconds} s) lost at ${h.lostAtMs}`);
        lostShort.push(`${seed}`);
        continue;
      }
      // the holder kept renewing across the whole run, not just before the first fault
      t.true(h.renewedAtMs.at(-1)! > sim.now - 10_000, `${context}: lease ${h.lease} stopped being renewed`);
      t.false(sim.revokesApplied.some((r) => r.lease === h.lease), `${context}: lease ${h.lease} revoked while renewed`);
      renewals += h.renewals;
      failedKeepAlives += h.failures;
    }
    const changes = sim.promotions.length - promotionsBefore;
    t.true(changes >= 2, `${context}: only ${changes} leader changes in ${sim.now - start} ms`);
    leaderChanges += changes;
    const kept = holders.filter((h) => h.lostAtMs === undefined).length;
    for (const id of sim.liveIds()) t.is(sim.member(id).store.leaseList().length, kept, `${context}: ${id} lost a lease`);
  }
  t.true(lostShort.length <= Math.ceil(seeds.length / 20), `TTL-5 leases lost in too many seeds: ${lostShort.join(' ')}`);
  t.log(
    `${seeds.length} seeds: ${leaderChanges} leader changes, ${renewals} renewals, ${failedKeepAlives} failed keep-alives (retried); ` +
      `TTL 5 s lost (no renewal acknowledged for its TTL) in seeds [${lostShort.join(' ')}]`,
  );
});

test('(c) a lease nobody renews is revoked once on every member, within TTL and TTL + one election timeout, only by a leader', (t) => {
  const lateness: number[] = [];
  for (const seed of seeds) {
    const sim = new LeaseSim({ seed, members: membersFor(seed) });
    const old = sim.awaitLeader();
    const ttlSeconds = 4 + sim.random.int(5);
    const lease = 7n;
    sim.grant(lease, ttlSeconds, ['lock/a', 'lock/b', 'lock/c']);
    // renewed once, then the holder dies; the leader goes away before the lease runs out
    sim.runFor(1_000);
    sim.keepAlive(old.id, lease, () => {});
    sim.runFor(1_500); // the renewal's checkpoint commits
    const expiry = sim.now + old.lessor.remainingMs(lease, sim.now)!;
    sim.runFor(sim.random.int(Math.max(1, expiry - sim.now - 500)));
    const lossAtMs = sim.now;
    const crash = seed % 3 !== 0;
    removeLeader(sim, old, crash);
    const promotion = awaitNewLeader(sim, old.id, lossAtMs);
    const context = `seed ${seed}: TTL ${ttlSeconds} s, ${crash ? 'crash' : 'partition'} ${expiry - lossAtMs} ms before expiry`;
    const revoked = sim.runUntilTrue(() => sim.revokesApplied.some((r) => r.lease === lease && r.member === promotion.member), 30_000);
    t.true(revoked, `${context}: never revoked`);
    const revokedAtMs = sim.revokesApplied.find((r) => r.lease === lease)!.atMs;
    t.true(revokedAtMs >= expiry, `${context}: revoked ${expiry - revokedAtMs} ms early`);
    // a new leader waits one election timeout past what the log promised (or past its promotion if that was later),
    // then its next lease tick proposes the revoke, which commits in a round trip
    const latest = Math.max(expiry, promotion.atMs) + ELECTION_TIMEOUT_MS + LEASE_TICK_MS + applyLagMs;
    t.true(revokedAtMs <= latest, `${context}: revoked ${revokedAtMs - expiry} ms after expiry`);
    lateness.push(revokedAtMs - expiry);

    // the old leader comes back; everyone applies the revoke exactly once (a restart replays it once more, in its
    // new life) and no key of the lease survives anywhere
    if (crash) sim.restart(old.id);
    else sim.heal();
    sim.runFor(5_000);
    for (const member of sim.members.values()) {
      const applied = sim.revokesApplied.filter((r) => r.lease === lease && r.member === member.id && r.incarnation === member.incarnation);
      t.is(applied.length, 1, `${context}: ${member.id} applied the revoke ${applied.length} times`);
      t.deepEqual(sim.keys(member.id), [], `${context}: ${member.id} kept keys of the revoked lease`);
      // all three deletes at one revision: present just before it, all gone at it
      const at = applied[0]!.revision;
      const range = (revision: number) => member.store.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), revision }).kvs.length;
      t.is(range(at), 3, context);
      t.is(range(at + 1), 0, context);
      t.is(member.store.revision, at + 1, `${context}: the revoke made one revision`);
    }
    // followers never expire leases on their own: every revoke proposal came from a member leading at that moment
    const proposals = sim.revokesProposed.filter((p) => p.lease === lease);
    t.true(proposals.length >= 1);
    for (const p of proposals) t.true(p.raftRole === 'leader' && p.lessorLeader, `${context}: ${p.member} proposed a revoke as ${p.raftRole}`);
  }
  t.log(`${seeds.length} seeds: revoked ${Math.min(...lateness)}..${Math.max(...lateness)} ms after the old leader's expiry`);
});

// A keep-alive is answered only once the checkpoint carrying its renewal has applied, so a leader that goes right
// after answering cannot take the renewal with it: the next leader resumes from that checkpoint (it is in the log of
// every member that can win) and the lease lasts at least the TTL the holder was told, counted from when it asked.
test('a renewal acknowledged just before its leader goes is honoured by the next leader', (t) => {
  const sim = new LeaseSim({ seed: 1, members: 3 });
  const old = sim.awaitLeader();
  sim.grant(9n, 10);
  const grantedAtMs = sim.now;
  sim.runFor(6_000);
  let acknowledgedAtMs: number | undefined;
  const sentAtMs = sim.now;
  sim.keepAlive(old.id, 9n, (result) => {
    if (!('ttl' in result) || result.ttl !== 10) return;
    acknowledgedAtMs = sim.now;
    sim.crash(old.id); // before its next lease tick, and before the followers learn that the checkpoint committed
  });
  t.true(sim.runUntilTrue(() => acknowledgedAtMs !== undefined, 2_000), 'the keep-alive was answered');
  t.true(sim.runUntilTrue(() => sim.revokesApplied.some((r) => r.lease === 9n), 30_000), 'revoked in the end');
  const revokedAtMs = sim.revokesApplied.find((r) => r.lease === 9n)!.atMs;
  t.log(`granted at ${grantedAtMs}, renewed at ${sentAtMs}, revoked at ${revokedAtMs}`);
  t.true(revokedAtMs >= sentAtMs + 10_000, `revoked ${sentAtMs + 10_000 - revokedAtMs} ms before the holder's TTL ran out`);
});
