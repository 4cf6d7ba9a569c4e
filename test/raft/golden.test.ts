// A scripted scenario whose every message is compared with a golden trace, so any change in what the core sends
// (and when) shows up in review as a diff of test/raft/golden/*.txt. Regenerate after an intended change with
//   UPDATE_GOLDEN=1 TETCD_TESTS='dist/test/raft/golden.test.js' node_modules/.bin/ava
import test from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { RaftMessage } from '../../actors/raft/core/messages.js';
import { Cluster, nodeIds, payload, type Envelope } from '../sim/cluster.js';

const [A, B, C] = nodeIds(3) as [string, string, string];
const short = (id: string) => id.slice(-1);

function describe(m: RaftMessage): string {
  const head = `${short(m.from)}>${short(m.to)} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'app':
      return `${head} prev=${m.index}/${m.logTerm} entries=${m.entries.map((e) => `${e.index}/${e.term}`).join(',') || '-'} commit=${m.commit}`;
    case 'appResp':
      return `${head} index=${m.index}${m.reject ? ` reject hint=${m.hintIndex}/${m.hintTerm}` : ''}`;
    case 'vote':
    case 'preVote':
      return `${head} last=${m.index}/${m.logTerm}${m.transfer ? ' transfer' : ''}`;
    case 'voteResp':
    case 'preVoteResp':
      return `${head}${m.reject ? ' reject' : ' grant'}`;
    case 'heartbeat':
      return `${head} commit=${m.commit} round=${m.round}`;
    case 'heartbeatResp':
      return `${head} round=${m.round}`;
    case 'snap':
      return `${head} snapshot=${m.snapshot.index}/${m.snapshot.term}`;
    case 'timeoutNow':
      return head;
    case 'prop':
      return `${head} token=${m.token} entries=${m.entries.length}`;
    case 'propResp':
      return `${head} token=${m.token} index=${m.index} count=${m.count}${m.reject ? ` reject=${m.reject}` : ''}`;
    case 'readIndex':
      return `${head} token=${m.token}`;
    case 'readIndexResp':
      return `${head} token=${m.token} index=${m.index}${m.reject ? ' reject' : ''}`;
    case 'transferLeader':
      return `${head} transferee=${short(m.transferee)}`;
  }
}

function scenario(): string[] {
  const lines: string[] = [];
  const c = new Cluster({ ids: [A, B, C], seed: 1 });
  const step = (title: string) => {
    lines.push(`# ${title}`);
    c.stabilize((e: Envelope) => {
      lines.push(describe(e.message));
      return false;
    });
  };
  for (let i = 0; i < 30 && c.core(A).role === 'follower'; i++) c.tick(A);
  step('A times out, pre-votes, campaigns and wins');
  c.propose(B, 1, [payload(1), payload(2)]);
  step('B forwards two proposals; A replicates and commits them');
  c.core(C).readIndex(1);
  c.core(C).readIndex(2);
  c.process(C);
  step('C forwards two reads as one batch; one heartbeat round confirms them');
  c.core(A).transferLeadership(B);
  c.process(A);
  step('A hands leadership to B');
  lines.push(`# end: leader ${short(c.leader()!)} term ${c.core(B).term} commit ${c.core(B).log.committed}`);
  return lines;
}

test('golden trace: election, forwarded proposals, batched reads, leadership transfer', (t) => {
  const file = new URL('../../../test/raft/golden/election-proposals-reads-transfer.txt', import.meta.url);
  const got = scenario().join('\n') + '\n';
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
    writeFileSync(file, got);
    t.log(`wrote ${file.pathname}`);
  }
  t.is(got, readFileSync(file, 'utf8'));
});
