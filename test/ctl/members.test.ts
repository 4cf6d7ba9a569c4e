// A real two-member cluster: a learner joins, tetcdctl promotes it, moves leadership to it and back (finding the
// leader among --endpoints as etcdctl does), and lists both members and endpoints, with etcdctl's output.
import test from 'ava';
import { Client } from '../../client/client.js';
import { freePort, startEtcd, type Etcd } from '../client/helpers/etcd.js';
import { mask, run } from './helpers/diff.js';

let first: Etcd;
let second: Etcd | undefined;

test.before(async () => {
  first = await startEtcd({ name: 'one' });
});

test.after.always(async () => {
  await second?.stop();
  await first?.stop();
});

const hexOf = (id: string) => id.replace(/^0+/, '');

test.serial('promote a learner, move leadership both ways, list a two-member cluster', async (t) => {
  const client = new Client({ endpoints: [first.endpoint], requestTimeoutMs: 15_000 });
  try {
    const peerPort = await freePort();
    const clientPort = await freePort();
    const added = await client.cluster.memberAdd([`http://127.0.0.1:${peerPort}`], { isLearner: true });
    second = await startEtcd({
      name: 'two',
      join: { initialCluster: `one=${first.peerURL},two=http://127.0.0.1:${peerPort}`, peerPort, clientPort },
    });
    const both = `${first.endpoint},${second.endpoint}`;
    const status = await client.maintenance.status();
    const clusterId = status.header.clusterId;
    const oneId = status.header.memberId;
    const twoId = added.member.ID;

    // the learner catches up before it can be promoted
    let promoted: Awaited<ReturnType<typeof run>> | undefined;
    for (let attempt = 0; attempt < 40; attempt++) {
      promoted = await run('tetcdctl', first.endpoint, ['member', 'promote', hexOf(twoId)]);
      if (promoted.code === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    t.is(promoted?.stdout, `Member ${hexOf(twoId).padStart(16)} promoted in cluster ${hexOf(clusterId).padStart(16)}\n`);

    const moved = await run('tetcdctl', both, ['move-leader', hexOf(twoId)]);
    t.is(moved.stdout, `Leadership transferred from ${hexOf(oneId)} to ${hexOf(twoId)}\n`, moved.stderr);
    const back = await run('etcdctl', both, ['move-leader', hexOf(oneId)]);
    t.is(back.stdout, `Leadership transferred from ${hexOf(twoId)} to ${hexOf(oneId)}\n`);
    const noLeader = await run('tetcdctl', second.endpoint, ['move-leader', hexOf(oneId)]);
    const noLeaderEtcdctl = await run('etcdctl', second.endpoint, ['move-leader', hexOf(oneId)]);
    t.is(noLeader.stderr, noLeaderEtcdctl.stderr);
    t.is(noLeader.code, 128);

    for (const args of [['member', 'list'], ['member', 'list', '-w', 'json'], ['member', 'list', '-w', 'table'], ['endpoint', 'status', '--cluster', '-w', 'json'], ['endpoint', 'health', '--cluster']]) {
      // member list is answered by whichever member a client dials: ask the same one of both tools
      const target = args[0] === 'member' ? first.endpoint : both;
      const expected = await run('etcdctl', target, args);
      const actual = await run('tetcdctl', target, args);
      const steady = (text: string) =>
        mask(text)
          .replace(/"(dbSize|dbSizeInUse|raftIndex|raftAppliedIndex)":<[a-z]+\d+>/g, '"$1":<n>')
          .split('\n')
          .sort()
          .join('\n');
      // members and endpoints come in the order the server and the checks finish: compare as sets of lines
      t.is(steady(actual.stdout), steady(expected.stdout), args.join(' '));
      t.is(steady(actual.stderr), steady(expected.stderr), args.join(' '));
      t.is(actual.code, expected.code);
    }
  } finally {
    client.close();
  }
});
