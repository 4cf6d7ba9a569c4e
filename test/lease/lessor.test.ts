import test from 'ava';
import { Lessor, minimumTtlSeconds } from '../../actors/lease/lessor.js';
import { SeededRandom } from '../../runtime/random.js';

const options = { electionTimeoutMs: 1000, expiryRatePerSecond: 1000, checkpointRatePerSecond: 1000, revokeRetryMs: 3000 };

function leaderWith(...grants: Array<[bigint, number]>): Lessor {
  const lessor = new Lessor(options);
  lessor.promote(0);
  for (const [id, ttl] of grants) lessor.granted(id, ttl, 0);
  return lessor;
}

test('minimum TTL is ceil(1.5 x election timeout) in seconds', (t) => {
  t.is(minimumTtlSeconds(1000), 2);
  t.is(minimumTtlSeconds(100), 1);
  t.is(minimumTtlSeconds(5000), 8);
});

test('a lease expires at its TTL on the leader, and its revoke is proposed once per retry period', (t) => {
  const lessor = leaderWith([1n, 10]);
  t.deepEqual(lessor.dueExpirations(9_999, 100), []);
  t.deepEqual(lessor.dueExpirations(10_000, 100), [1n]);
  t.deepEqual(lessor.dueExpirations(10_500, 100), [], 'not proposed again while the revoke is in flight');
  t.deepEqual(lessor.dueExpirations(13_000, 100), [1n], 'proposed again when the revoke did not apply in time');
  lessor.revoked(1n);
  t.deepEqual(lessor.dueExpirations(20_000, 100), []);
  t.false(lessor.has(1n));
});

test('keep-alive postpones expiry; an unknown lease renews to TTL 0', (t) => {
  const lessor = leaderWith([1n, 10], [2n, 10]);
  t.is(lessor.renew(1n, 5_000, 'tick'), 10);
  t.deepEqual(lessor.dueExpirations(10_000, 100), [2n]);
  lessor.revoked(2n); // the revoke applied
  t.deepEqual(lessor.dueExpirations(14_999, 100), []);
  t.deepEqual(lessor.dueExpirations(15_000, 100), [1n]);
  t.is(lessor.renew(99n, 5_000, 'tick'), 0);
  t.is(lessor.remainingMs(99n, 5_000), undefined);
});

test('expiry proposals are rate-limited per call', (t) => {
  const lessor = new Lessor(options);
  lessor.promote(0);
  for (let i = 1; i <= 2_500; i++) lessor.granted(BigInt(i), 5, 0);
  const first = lessor.dueExpirations(6_000, 1_000);
  const second = lessor.dueExpirations(6_000, 1_000);
  const third = lessor.dueExpirations(6_000, 1_000);
  t.is(first.length, 1_000);
  t.is(second.length, 1_000);
  t.is(third.length, 500);
  t.is(new Set([...first, ...second, ...third]).size, 2_500, 'every lease proposed exactly once');
});

test('followers never expire leases', (t) => {
  const follower = new Lessor(options);
  follower.granted(1n, 2, 0);
  t.deepEqual(follower.dueExpirations(1_000_000, 100), []);
  t.deepEqual(follower.dueCheckpoints(1_000_000, 100), []);
  t.throws(() => follower.renew(1n, 0, 'tick'), { message: /only the leader/ });
});

test('a new leader resumes from the checkpoint plus one election timeout (worked example)', (t) => {
  const follower = new Lessor(options);
  follower.granted(7n, 10, 0);
  follower.checkpointed(7n, 10_000, 6_200);
  follower.promote(8_500);
  t.is(follower.remainingMs(7n, 8_500), 8_700);
  t.deepEqual(follower.dueExpirations(17_199, 10), []);
  t.deepEqual(follower.dueExpirations(17_200, 10), [7n]);
});

test('checkpoints carry the remaining time of renewed leases, once per renewal, bounded per call', (t) => {
  const lessor = leaderWith([1n, 10], [2n, 10], [3n, 10]);
  t.deepEqual(lessor.dueCheckpoints(1_000, 10), [], 'nothing renewed yet');
  lessor.renew(1n, 2_000, 'tick');
  lessor.renew(2n, 3_000, 'tick');
  lessor.renew(1n, 4_000, 'tick');
  const first = lessor.dueCheckpoints(4_500, 1);
  t.is(first.length, 1);
  const rest = lessor.dueCheckpoints(4_500, 10);
  const all = new Map([...first, ...rest].map((c) => [c.ID, c.remainingMs]));
  t.deepEqual(all, new Map([[1n, 9_500], [2n, 8_500]]));
  t.deepEqual(lessor.dueCheckpoints(5_000, 10), []);
});

test('property: promotion never extends a lease by more than one election timeout past what the log promised', (t) => {
  for (let seed = 1; seed <= 200; seed++) {
    const random = new SeededRandom(seed);
    const member = new Lessor(options);
    const promised = new Map<bigint, number>();
    let now = 0;
    for (let step = 0; step < 50; step++) {
      now += random.int(2_000);
      const id = BigInt(1 + random.int(10));
      if (!member.has(id)) {
        const ttl = 2 + random.int(30);
        member.granted(id, ttl, now);
        promised.set(id, now + ttl * 1000);
      } else if (random.next() < 0.5) {
        const remaining = random.int(30_000);
        member.checkpointed(id, remaining, now);
        promised.set(id, now + remaining);
      }
    }
    now += random.int(5_000);
    member.promote(now);
    for (const [id, end] of promised) {
      const expiry = now + member.remainingMs(id, now)!;
      t.true(expiry <= Math.max(end, now) + options.electionTimeoutMs, `seed ${seed} lease ${id}`);
      t.true(expiry >= now + options.electionTimeoutMs - 1e-9, `seed ${seed}: every lease gets the grace`);
    }
  }
});

test('a checkpoint committed before promotion but applied after it raises the expiry as promotion would have', (t) => {
  const member = new Lessor(options);
  member.granted(7n, 10, 0);
  // promoted at 8 s knowing only the grant: 2 s left plus the election timeout
  member.promote(8_000);
  t.is(member.remainingMs(7n, 8_000), 3_000);
  // the old leader's checkpoint of a renewal at about 6 s commits under the new leader and applies now
  member.checkpointed(7n, 10_000, 8_100);
  t.is(member.remainingMs(7n, 8_100), 10_900, 'dated at the promotion: 8 s + 10 s + 1 s');
  t.deepEqual(member.dueExpirations(11_000, 10), [], 'not revoked on the stale knowledge');
  // an older checkpoint never shortens it
  member.checkpointed(7n, 1_000, 8_200);
  t.is(member.remainingMs(7n, 8_200), 10_800);
  // once this leader renews the lease, its own clock rules and its own checkpoints coming back change nothing
  member.renew(7n, 9_000, 'tick');
  member.checkpointed(7n, 10_000, 9_500);
  t.is(member.remainingMs(7n, 9_500), 9_500);
});
