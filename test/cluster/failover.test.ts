// Clusters of real tetcd processes on loopback: the leader killed with SIGKILL, and a chaos run where a random member
// is killed and restarted every few seconds under a steady write load.
import test from 'ava';
import { makeCluster, type Cluster, type Member } from '../helpers/tetcd.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Status {
  leader?: string;
  raftTerm?: string;
  header: { member_id: string };
}

/** The leader as the running members see it (they must agree), or undefined. */
async function leaderOf(members: Member[]): Promise<Member | undefined> {
  const seen = new Set<string>();
  for (const m of members) {
    if (!m.child) continue;
    try {
      const { body } = await m.call<Status>('/v3/maintenance/status', {}, 2_000);
      if (body.leader) seen.add(body.leader);
    } catch {
      return undefined;
    }
  }
  if (seen.size !== 1) return undefined;
  const id = [...seen][0]!;
  for (const m of members) {
    try {
      const { body } = await m.call<Status>('/v3/maintenance/status', {}, 2_000);
      if (body.header.member_id === id) return m;
    } catch {
      // not answering
    }
  }
  return undefined;
}

async function waitForLeader(members: Member[], timeoutMs: number, not?: Member): Promise<{ leader: Member; elapsedMs: number }> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const leader = await leaderOf(members);
    if (leader && leader !== not) return { leader, elapsedMs: Date.now() - started };
    await sleep(20);
  }
  throw new Error(`no leader within ${timeoutMs} ms`);
}

async function put(m: Member, key: string, value: string): Promise<number | undefined> {
  try {
    const { status, body } = await m.call<{ header?: { revision: string } }>('/v3/kv/put', { key: b64(key), value: b64(value) }, 10_000);
    return status === 200 ? Number(body.header!.revision) : undefined;
  } catch {
    return undefined;
  }
}

test('the leader killed with SIGKILL: a new leader within 3 election timeouts, writes continue, it catches up', async (t) => {
  const cluster: Cluster = await makeCluster(3, { env: { TETCD_LOG_LEVEL: 'info' } });
  try {
    await cluster.start();
    const { leader } = await waitForLeader(cluster.members, 10_000);
    for (let i = 0; i < 20; i++) t.truthy(await put(cluster.members[i % 3]!, `before${i}`, `v${i}`));
    const killedAt = Date.now();
    await leader.kill();
    const survivors = cluster.members.filter((m) => m !== leader);
    const { leader: next } = await waitForLeader(survivors, 10_000);
    // when the survivors themselves saw the new leader (their logs), not when this test's polling noticed
    const nextId = (await next.call<Status>('/v3/maintenance/status', {})).body.header.member_id;
    const nextHex = BigInt(nextId).toString(16).padStart(16, '0');
    const seenAt = Math.min(
      ...survivors.map((m) => {
        const line = m.log.split('\n').find((l) => l.includes('"leader changed"') && l.includes(`"leader":"${nextHex}"`));
        return line ? Date.parse((JSON.parse(line) as { ts: string }).ts) : Number.POSITIVE_INFINITY;
      }),
    );
    const electedMs = seenAt - killedAt;
    t.log(`new leader ${next.spec.name} after ${electedMs} ms`);
    t.true(electedMs < 3 * 1000, `elected within 3 election timeouts (took ${electedMs} ms)`);
    for (let i = 0; i < 20; i++) t.truthy(await put(survivors[i % 2]!, `after${i}`, `v${i}`), 'writes continue');
    leader.start();
    await leader.ready();
    const deadline = Date.now() + 10_000;
    let count = '';
    while (Date.now() < deadline) {
      const { body } = await leader.call<{ count?: string }>('/v3/kv/range', { key: b64('after'), range_end: b64('aftes'), serializable: true });
      count = body.count ?? '0';
      if (count === '20') break;
      await sleep(50);
    }
    t.is(count, '20', 'the restarted member caught up');
  } finally {
    await cluster.stop();
  }
});

test('chaos: a random member killed and restarted every few seconds under load loses no acknowledged write', async (t) => {
  const cluster: Cluster = await makeCluster(3, { env: { TETCD_LOG_LEVEL: 'info' } });
  const durationMs = Number(process.env.CHAOS_MS ?? 45_000);
  const acknowledged = new Map<string, string>();
  const backwards: string[] = [];
  let failures = 0;
  try {
    await cluster.start();
    let running = true;
    const clients = Array.from({ length: 4 }, async (_, c) => {
      let lastRevision = 0;
      for (let n = 0; running; n++) {
        const m = cluster.members[(c + n) % 3]!;
        if (!m.child) {
          await sleep(20);
          continue;
        }
        const key = `c${c}/k${n}`;
        const value = `v${n}`;
        const revision = await put(m, key, value);
        if (revision === undefined) {
          failures++;
          await sleep(50);
          continue;
        }
        acknowledged.set(key, value);
        if (revision <= lastRevision) backwards.push(`${key}: ${revision} after ${lastRevision}`);
        lastRevision = revision;
      }
    });
    const chaos = (async () => {
      const started = Date.now();
      let round = 0;
      while (Date.now() - started < durationMs) {
        await sleep(2_000 + ((round * 1_337) % 2_000));
        const victim = cluster.members[(round * 7 + 1) % 3]!;
        round++;
        await victim.kill();
        await sleep(500 + ((round * 911) % 1_500));
        victim.start();
        await victim.ready(30_000).catch(() => {});
      }
      t.log(`chaos: ${round} kills`);
    })();
    await chaos;
    running = false;
    await Promise.all(clients);
    t.true(acknowledged.size > 100, `${acknowledged.size} writes acknowledged (${failures} failed while members were down)`);
    for (const m of cluster.members) if (!m.child) m.start();
    await Promise.all(cluster.members.map((m) => m.ready(30_000)));
    await waitForLeader(cluster.members, 15_000);
    // converge: the same revision everywhere
    const marker = await put(cluster.members[0]!, 'chaos/marker', 'end');
    t.truthy(marker);
    const deadline = Date.now() + 20_000;
    let revisions: number[] = [];
    while (Date.now() < deadline) {
      revisions = await Promise.all(
        cluster.members.map(async (m) => Number((await m.call<{ header: { revision: string } }>('/v3/kv/range', { key: b64('chaos/marker'), serializable: true })).body.header.revision)),
      );
      if (revisions.every((r) => r === marker)) break;
      await sleep(100);
    }
    t.deepEqual(revisions, [marker, marker, marker], 'every member reached the same revision');
    const hashes = await Promise.all(cluster.members.map(async (m) => (await m.call<{ hash: number }>('/v3/maintenance/hash', {})).body.hash));
    t.is(new Set(hashes).size, 1, `every member has the same state (hashes ${hashes.join(', ')})`);
    for (const m of cluster.members) {
      const { body } = await m.call<{ kvs?: Array<{ key: string; value?: string }> }>('/v3/kv/range', { key: b64('c'), range_end: b64('d'), serializable: true }, 30_000);
      const stored = new Map((body.kvs ?? []).map((kv) => [text(kv.key), text(kv.value)]));
      const missing = [...acknowledged].filter(([k, v]) => stored.get(k) !== v);
      t.deepEqual(missing, [], `${m.spec.name} has every acknowledged write`);
    }
    t.deepEqual(backwards, [], 'no client saw a revision go backwards');
    // at most one leader per term, as every member saw it
    const leaders = new Map<number, Set<string>>();
    for (const m of cluster.members) {
      for (const line of m.log.split('\n')) {
        if (!line.includes('"leader changed"')) continue;
        const record = JSON.parse(line) as { leader: string; term: number };
        if (!record.leader) continue;
        let set = leaders.get(record.term);
        if (!set) leaders.set(record.term, (set = new Set()));
        set.add(record.leader);
      }
    }
    const doubled = [...leaders].filter(([, set]) => set.size > 1);
    t.true(leaders.size > 1, 'leadership changed during the run');
    t.deepEqual(doubled, [], 'no term had two leaders');
  } finally {
    await cluster.stop();
  }
});
