// A follower that needs a snapshot of more than 200 MB gets it through the pipeline while the leader's heartbeats keep
// flowing: no member starts an election during the transfer. Real processes on loopback.
import test from 'ava';
import { leaderAmong, status, until } from '../helpers/probes.js';
import { makeCluster, type Cluster } from '../helpers/tetcd.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const valueBytes = 1024 * 1024;
const keys = 230;

test('a follower catches up from a snapshot of more than 200 MB with no election during the transfer', async (t) => {
  t.timeout(300_000);
  const cluster: Cluster = await makeCluster(3, { flags: ['--snapshot-count', '50', '--snapshot-catchup-entries', '10'], env: { TETCD_LOG_LEVEL: 'info' } });
  try {
    await cluster.start();
    const leader = await leaderAmong(cluster.members);
    const follower = cluster.members.find((m) => m !== leader)!;
    await follower.stop();

    // more than 200 MB of state, written 8 at a time
    const value = b64('x'.repeat(valueBytes));
    let next = 0;
    const writer = async () => {
      while (next < keys) {
        const i = next++;
        const { status: code } = await leader.call('/v3/kv/put', { key: b64(`big/${String(i).padStart(4, '0')}`), value }, 60_000);
        if (code !== 200) throw new Error(`put ${i} answered ${code}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    // the leader's newest snapshot holds all of it (defragment writes a fresh one), so that is what the follower gets
    t.is((await leader.call('/v3/maintenance/defragment', {}, 120_000)).status, 200);
    const before = await Promise.all(cluster.members.filter((m) => m !== follower).map((m) => status(m, 5_000)));
    const term = before[0]!.raftTerm;
    t.truthy(term);

    follower.start();
    await follower.ready(60_000);
    const count = await until(
      'the follower to catch up',
      async () => {
        const { body } = await follower.call<{ count?: string }>('/v3/kv/range', { key: b64('big/'), range_end: b64('big0'), serializable: true, count_only: true }, 10_000);
        return body.count === String(keys) ? body.count : undefined;
      },
      180_000,
    );
    t.is(count, String(keys));

    const installed = /installed a snapshot from a peer.*"bytes":(\d+)/.exec(follower.log);
    t.truthy(installed, 'the follower got a snapshot, not just entries');
    t.true(Number(installed?.[1]) >= 200 * 1024 * 1024, `the snapshot held ${installed?.[1]} bytes`);
    // the sender hears "delivered" only once the follower's raft has the snapshot, so it is sent once
    t.is(follower.log.match(/installed a snapshot from a peer/g)?.length, 1);
    const after = await Promise.all(cluster.members.map((m) => status(m, 5_000)));
    t.deepEqual(
      after.map((s) => s.raftTerm),
      [term, term, term],
      'no member started an election while the snapshot was sent and installed',
    );
    t.deepEqual(new Set(after.map((s) => s.leader)).size, 1);
  } finally {
    await cluster.stop();
  }
});
