// Faults a cluster must ride out, with real processes: a follower that needs a snapshot to catch up, a partition
// (through the transport's fault hook), watches and leases served by followers.
import test from 'ava';
import { leaderAmong, status, until } from '../helpers/probes.js';
import { makeCluster, type Cluster, type Member } from '../helpers/tetcd.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const text = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function memberId(m: Member): Promise<string> {
  return (await status(m)).header.member_id;
}

/** The hex member ID (as the transport knows peers) of a member, from its decimal one. */
function hex(decimal: string): string {
  return BigInt(decimal).toString(16).padStart(16, '0');
}

test('a follower down long enough to need a snapshot catches up through the pipeline', async (t) => {
  const cluster: Cluster = await makeCluster(3, { flags: ['--snapshot-count', '100', '--snapshot-catchup-entries', '20'], env: { TETCD_LOG_LEVEL: 'info' } });
  try {
    await cluster.start();
    const leader = await leaderAmong(cluster.members);
    const follower = cluster.members.find((m) => m !== leader)!;
    await follower.stop();
    for (let i = 0; i < 400; i++) {
      const { status: code } = await leader.call('/v3/kv/put', { key: b64(`snap/${i % 50}`), value: b64(`v${i}`) });
      t.is(code, 200);
    }
    follower.start();
    await follower.ready(30_000);
    const count = await until('the follower to catch up', async () => {
      const { body } = await follower.call<{ count?: string; kvs?: Array<{ key: string; value: string }> }>('/v3/kv/range', { key: b64('snap/'), range_end: b64('snap0'), serializable: true });
      return body.count === '50' && body.kvs!.some((kv) => text(kv.key) === 'snap/49' && text(kv.value) === 'v399') ? body.count : undefined;
    }, 30_000);
    t.is(count, '50');
    t.regex(follower.log, /installed a snapshot from a peer/, 'the follower got a snapshot, not just entries');
    const hashes = await until('equal hashes', async () => {
      const h = await Promise.all(cluster.members.map(async (m) => (await m.call<{ hash: number }>('/v3/maintenance/hash', {})).body.hash));
      return new Set(h).size === 1 ? h : undefined;
    });
    t.is(new Set(hashes).size, 1);
  } finally {
    await cluster.stop();
  }
});

test('a partitioned leader serves no write and no linearizable read; the majority goes on; healing catches it up', async (t) => {
  const cluster: Cluster = await makeCluster(3, { env: { TETCD_FAULT_INJECTION: '1' } });
  try {
    await cluster.start();
    const leader = await leaderAmong(cluster.members);
    const majority = cluster.members.filter((m) => m !== leader);
    const ids = await Promise.all(cluster.members.map(async (m) => hex(await memberId(m))));
    const leaderHex = hex(await memberId(leader));
    const fault = (m: Member, isolate: string[]) => fetch(`${m.peerUrl}/debug/faults`, { method: 'POST', body: JSON.stringify({ isolate }) });
    // cut the leader off from both followers, in both directions
    await fault(leader, ids.filter((id) => id !== leaderHex));
    for (const m of majority) await fault(m, [leaderHex]);
    const newLeader = await leaderAmong(majority);
    t.not(newLeader, leader);
    t.is((await newLeader.call('/v3/kv/put', { key: b64('p/majority'), value: b64('yes') })).status, 200, 'the majority takes writes');
    const write = await leader.call<{ message?: string }>('/v3/kv/put', { key: b64('p/minority'), value: b64('no') }, 20_000).catch(() => ({ status: 0, body: {} as { message?: string } }));
    t.not(write.status, 200, 'the minority takes no write');
    const read = await leader.call('/v3/kv/range', { key: b64('p/majority') }, 20_000).catch(() => ({ status: 0, body: {} }));
    t.not(read.status, 200, 'the minority serves no linearizable read');
    // heal
    for (const m of cluster.members) await fault(m, []);
    const value = await until('the old leader to catch up', async () => {
      const { body } = await leader.call<{ kvs?: Array<{ value: string }> }>('/v3/kv/range', { key: b64('p/majority') });
      return body.kvs?.[0] ? text(body.kvs[0].value) : undefined;
    }, 30_000);
    t.is(value, 'yes');
    const minority = await leader.call<{ count?: string }>('/v3/kv/range', { key: b64('p/minority') });
    t.is(minority.body.count, undefined, 'the refused write never happened');
  } finally {
    await cluster.stop();
  }
});

test('a watch served by a follower delivers every event; a lease kept alive through a follower lives on', async (t) => {
  const cluster: Cluster = await makeCluster(3);
  try {
    await cluster.start();
    const leader = await leaderAmong(cluster.members);
    const follower = cluster.members.find((m) => m !== leader)!;
    const controller = new AbortController();
    const response = await fetch(`${follower.clientUrl}/v3/watch`, {
      method: 'POST',
      body: JSON.stringify({ create_request: { key: b64('w/'), range_end: b64('w0') } }) + '\n',
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const events: string[] = [];
    let buffered = '';
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += Buffer.from(value).toString();
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          const result = (JSON.parse(line) as { result?: { events?: Array<{ kv: { key: string; value?: string } }> } }).result;
          for (const e of result?.events ?? []) events.push(`${text(e.kv.key)}=${text(e.kv.value)}`);
        }
      }
    })().catch(() => {});
    await sleep(300);
    const writers = cluster.members;
    for (let i = 0; i < 60; i++) await writers[i % 3]!.call('/v3/kv/put', { key: b64(`w/${i}`), value: b64(`v${i}`) });
    await until('all events', async () => (events.length >= 60 ? true : undefined));
    t.deepEqual(events, Array.from({ length: 60 }, (_, i) => `w/${i}=v${i}`), 'every event, in order, none twice');
    controller.abort();
    await reading;

    // a lease granted and kept alive through the follower outlives its TTL several times over
    const grant = await follower.call<{ ID: string }>('/v3/lease/grant', { TTL: 2 });
    await follower.call('/v3/kv/put', { key: b64('lease/key'), value: b64('x'), lease: grant.body.ID });
    for (let i = 0; i < 8; i++) {
      const alive = await follower.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: grant.body.ID });
      t.is(alive.status, 200);
      t.is(alive.body.result?.TTL, '2');
      await sleep(600);
    }
    const ttl = await follower.call<{ TTL: string }>('/v3/lease/timetolive', { ID: grant.body.ID });
    t.true(Number(ttl.body.TTL) >= 0 && Number(ttl.body.TTL) <= 2);
    t.is((await leader.call<{ count?: string }>('/v3/kv/range', { key: b64('lease/key') })).body.count, '1', 'the key is still there');
  } finally {
    await cluster.stop();
  }
});
