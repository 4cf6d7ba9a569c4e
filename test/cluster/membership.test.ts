// Membership with real processes: member list, add a learner and let it join, promote it, remove a follower, remove
// the leader.
import test from 'ava';
import * as path from 'node:path';
import { until } from '../helpers/probes.js';
import { freePort, makeCluster, Member, type Cluster } from '../helpers/tetcd.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

interface MemberJson {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

async function members(m: Member): Promise<MemberJson[]> {
  const { body } = await m.call<{ members: MemberJson[] }>('/v3/cluster/member/list', {});
  return body.members;
}

async function leaderId(m: Member): Promise<string | undefined> {
  const { body } = await m.call<{ leader?: string }>('/v3/maintenance/status', {}, 2_000);
  return body.leader;
}

test('member list, add a learner that joins and catches up, promote it, remove a follower, remove the leader', async (t) => {
  const cluster: Cluster = await makeCluster(3);
  let joined: Member | undefined;
  try {
    await cluster.start();
    const [m1, m2, m3] = cluster.members as [Member, Member, Member];
    // every member has published its name and URLs
    const list = await until('published members', async () => {
      const l = await members(m2);
      return l.length === 3 && l.every((m) => m.name && m.clientURLs?.length) ? l : undefined;
    });
    t.deepEqual(list.map((m) => m.name).sort(), ['m1', 'm2', 'm3']);
    t.deepEqual(list.find((m) => m.name === 'm1')!.clientURLs, [m1.clientUrl]);
    const same = await until('every member to answer the same list', async () => {
      const l = await members(m3);
      return JSON.stringify(l) === JSON.stringify(list) ? l : undefined;
    });
    t.deepEqual(same, list, 'every member answers the same list');
    for (let i = 0; i < 30; i++) await m1.call('/v3/kv/put', { key: b64(`before${i}`), value: b64('x') });

    // add a learner, then start it with --initial-cluster-state existing
    const clientPort = await freePort();
    const peerPort = await freePort();
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    const added = await m2.call<{ member: MemberJson; members: MemberJson[] }>('/v3/cluster/member/add', { peerURLs: [peerUrl], isLearner: true });
    t.is(added.status, 200);
    t.true(added.body.member.isLearner);
    t.is(added.body.members.length, 4);
    const duplicate = await m2.call<{ message: string }>('/v3/cluster/member/add', { peerURLs: [peerUrl] });
    t.is(duplicate.body.message, 'etcdserver: Peer URLs already exists');
    const initialCluster = [...cluster.members.map((m) => `${m.spec.name}=${m.peerUrl}`), `m4=${peerUrl}`].join(',');
    joined = new Member(
      { name: 'm4', clientPort, peerPort, dataDir: path.join(cluster.root, 'm4.tetcd') },
      [
        '--name', 'm4',
        '--data-dir', path.join(cluster.root, 'm4.tetcd'),
        '--listen-client-urls', `http://127.0.0.1:${clientPort}`,
        '--advertise-client-urls', `http://127.0.0.1:${clientPort}`,
        '--listen-peer-urls', peerUrl,
        '--initial-advertise-peer-urls', peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'existing',
        '--initial-cluster-token', 'tetcd-test',
      ],
      { TETCD_LOG_LEVEL: 'warn' },
    );
    joined.start();
    await joined.ready(30_000);
    const m4 = joined;
    await until('the learner caught up', async () => {
      const { body } = await m4.call<{ count?: string }>('/v3/kv/range', { key: b64('before'), range_end: b64('befores'), serializable: true });
      return body.count === '30' ? true : undefined;
    });
    const id4 = added.body.member.ID;
    const promoted = await until('promotion (the learner must be in sync)', async () => {
      const r = await m1.call<{ members: MemberJson[] }>('/v3/cluster/member/promote', { ID: id4 });
      return r.status === 200 ? r.body.members : undefined;
    });
    t.false(promoted.find((m) => m.ID === id4)!.isLearner ?? false);
    t.is((await m4.call('/v3/kv/put', { key: b64('via-m4'), value: b64('ok') })).status, 200);
    t.is((await members(m1)).find((m) => m.ID === id4)?.name, 'm4', 'the new member published its name');

    // remove a follower: it stops, the rest keep serving
    const leader = await until('a leader', () => leaderId(m1));
    const everyone = await members(m1);
    const follower = cluster.members.concat(m4).find((m) => everyone.find((x) => x.name === m.spec.name)!.ID !== leader)!;
    const followerId = everyone.find((x) => x.name === follower.spec.name)!.ID;
    const asker = cluster.members.find((m) => m !== follower)!;
    const removed = await asker.call<{ members: MemberJson[] }>('/v3/cluster/member/remove', { ID: followerId });
    t.is(removed.status, 200);
    t.false(removed.body.members.some((m) => m.ID === followerId));
    await until('the removed member to stop', async () => (follower.child ? undefined : true));
    t.regex(follower.log, /permanently removed/);

    // remove the leader itself: another member takes over
    const rest = cluster.members.concat(m4).filter((m) => m !== follower);
    const leaderMember = rest.find((m) => everyone.find((x) => x.name === m.spec.name)!.ID === leader)!;
    const others = rest.filter((m) => m !== leaderMember);
    const gone = await others[0]!.call('/v3/cluster/member/remove', { ID: leader });
    t.is(gone.status, 200);
    const next = await until('a new leader', async () => {
      const l = await leaderId(others[0]!);
      return l && l !== leader ? l : undefined;
    });
    t.not(next, leader);
    t.is((await others[1]!.call('/v3/kv/put', { key: b64('after-removals'), value: b64('ok') })).status, 200);
    t.is((await members(others[0]!)).length, 2);
  } finally {
    await joined?.stop();
    await cluster.stop();
  }
});
