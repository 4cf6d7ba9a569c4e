// Scripted scenarios for the subtle cases: each builds a cluster, drives it into the situation step by step, and
// checks the outcome (the safety checker watches every step as well).
import test from 'ava';
import { EntryType } from '../../actors/raft/core/types.js';
import { Cluster, nodeIds, payload, type Envelope } from '../sim/cluster.js';

const [A, B, C, D] = nodeIds(4) as [string, string, string, string];

const cut =
  (...ids: string[]) =>
  (e: Envelope) =>
    ids.includes(e.from) || ids.includes(e.to);

/** Ticks everyone (except `skip`) and delivers until `done`, at most `rounds` times. */
function run(c: Cluster, rounds: number, drop: (e: Envelope) => boolean = () => false, done: () => boolean = () => false, skip: string[] = []): void {
  for (let i = 0; i < rounds && !done(); i++) {
    for (const id of c.ids()) if (c.node(id).alive && !skip.includes(id)) c.tick(id);
    c.stabilize(drop);
  }
}

function electedCluster(ids: string[], seed: number, raft: ConstructorParameters<typeof Cluster>[0]['raft'] = {}): Cluster {
  const c = new Cluster({ ids, seed, raft });
  c.elect(ids[0]!);
  if (c.leader() !== ids[0]) throw new Error('setup: first member did not win');
  return c;
}

test('pre-vote: a member cut off for a long time rejoins without disrupting the leader or raising the term', (t) => {
  const c = electedCluster([A, B, C], 1);
  const term = c.core(A).term;
  // C alone for 20 election timeouts: it pre-campaigns over and over, but never raises its term
  run(c, 200, cut(C));
  t.is(c.core(C).term, term, 'pre-vote kept the term');
  t.is(c.core(C).role, 'preCandidate');
  t.is(c.leader(), A);
  // the link heals just as C's timer fires again: its pre-vote reaches the others before any heartbeat reaches it,
  // and they are inside their leader lease, so they do not grant it
  for (let i = 0; i < 30; i++) {
    c.tick(C);
    if (c.outbox.some((e) => e.message.type === 'preVote')) break;
  }
  t.true(c.outbox.some((e) => e.message.type === 'preVote'));
  c.stabilize();
  t.is(c.core(A).role, 'leader');
  t.is(c.core(A).term, term);
  c.propose(A, 1, [payload(1)]);
  run(c, 3);
  t.is(c.leader(), A, 'the leader was not disrupted');
  t.is(c.core(A).term, term);
  t.is(c.core(C).lead, A, 'C follows the leader again');
  t.is(c.core(C).log.committed, c.core(A).log.committed);
});

test('without pre-vote the same rejoin forces an election (the contrast that shows what pre-vote buys)', (t) => {
  const c = electedCluster([A, B, C], 1, { preVote: false, checkQuorum: false });
  const term = c.core(A).term;
  run(c, 200, cut(C));
  t.true(c.core(C).term > term + 5, 'C raised its term while alone');
  run(c, 3);
  t.true(c.core(A).term > term, 'the old leader had to step down to the higher term');
});

test('check-quorum: a leader that hears from no quorum for an election timeout steps down', (t) => {
  const c = electedCluster([A, B, C], 2);
  const drop = cut(A);
  // within one election timeout it is still leader
  run(c, 5, drop, () => false, [B, C]);
  t.is(c.core(A).role, 'leader');
  // after two checks without a quorum it steps down (the first check may count activity from before the cut)
  run(c, 25, drop, () => c.core(A).role !== 'leader', [B, C]);
  t.is(c.core(A).role, 'follower');
  t.is(c.core(A).lead, '');
  // and proposals to it are refused with "no leader" instead of waiting forever
  c.propose(A, 9, [payload(1)]);
  t.deepEqual(c.node(A).proposals.at(-1), { token: 9, accepted: false, reason: 'noLeader' });
});

test('without check-quorum an isolated leader keeps believing it leads', (t) => {
  const c = electedCluster([A, B, C], 2, { checkQuorum: false });
  run(c, 40, cut(A), () => false, [B, C]);
  t.is(c.core(A).role, 'leader');
});

test('leadership transfer: the leader brings a lagging transferee up to date, then hands over at once', (t) => {
  const c = electedCluster([A, B, C], 3);
  // C misses some entries
  c.propose(A, 1, [payload(1), payload(2), payload(3)]);
  c.stabilize(cut(C));
  t.true(c.core(C).log.lastIndex() < c.core(A).log.lastIndex());
  const term = c.core(A).term;
  c.core(A).transferLeadership(C);
  c.process(A);
  // during the transfer the leader refuses proposals
  c.propose(A, 2, [payload(4)]);
  t.deepEqual(c.node(A).proposals.at(-1), { token: 2, accepted: false, reason: 'leaderTransferring' });
  c.stabilize();
  t.is(c.leader(), C, 'C leads without waiting for an election timeout');
  t.is(c.core(C).term, term + 1);
  t.is(c.core(A).lead, C);
  c.propose(A, 3, [payload(5)]);
  c.stabilize();
  t.true(c.node(A).proposals.at(-1)!.accepted, 'the old leader forwards to the new one');
});

test('leadership transfer to an unreachable member is abandoned after an election timeout', (t) => {
  const c = electedCluster([A, B, C], 4);
  c.propose(A, 1, [payload(1)]);
  c.stabilize(cut(C));
  c.core(A).transferLeadership(C);
  c.process(A);
  t.is(c.core(A).status().leadTransferee, C);
  run(c, 15, cut(C), () => c.core(A).status().leadTransferee === '', [C]);
  t.is(c.core(A).status().leadTransferee, '');
  t.is(c.leader(), A);
  c.propose(A, 2, [payload(2)]);
  t.true(c.node(A).proposals.at(-1)!.accepted);
});

test('snapshot: a follower that needs compacted entries gets a snapshot, installs it and catches up', (t) => {
  const c = electedCluster([A, B, C], 5);
  c.stabilize();
  // C is away while the others commit a lot and compact
  for (let k = 0; k < 20; k++) {
    c.propose(A, k, [payload(k * 10), payload(k * 10 + 1)]);
    c.stabilize(cut(C));
  }
  for (const id of [A, B]) c.compact(id, 0);
  const leader = c.core(A);
  t.true(leader.log.firstIndex() > c.core(C).log.lastIndex() + 1, 'C needs entries the leader no longer has');
  let snapshots = 0;
  run(c, 5, (e) => {
    if (e.message.type === 'snap') snapshots++;
    return false;
  });
  // the harness ships the snapshot data with the message; the leader hears from C's acknowledgement
  t.is(snapshots, 1, 'exactly one snapshot was sent');
  t.is(c.node(C).sm.hash, c.node(A).sm.hash, 'C restored the same state and applied the rest');
  t.is(c.core(C).log.committed, leader.log.committed);
  t.is(c.core(C).status().firstIndex, c.core(C).latestSnapshot().index + 1);
  // a restart from C's disk finds the snapshot and the entries after it
  c.crash(C);
  c.restart(C);
  run(c, 3);
  t.is(c.node(C).sm.hash, c.node(A).sm.hash);
});

test('learner: added as a learner it catches up without voting, then is promoted to voter', (t) => {
  const c = electedCluster([A, B, C], 6);
  c.propose(A, 1, [payload(1), payload(2)]);
  c.stabilize();
  c.addMember(D);
  c.core(A).proposeConfChange(10, { op: 'addLearner', nodeId: D, context: new Uint8Array([1]) });
  c.process(A);
  run(c, 5);
  t.deepEqual(c.core(A).confState().learners, [D]);
  t.deepEqual(c.core(D).confState().learners, [D], 'the learner learned the configuration from the log');
  t.is(c.core(D).log.committed, c.core(A).log.committed, 'the learner caught up');
  // a learner never campaigns
  run(c, 60, cut(A, B, C), () => false, [A, B, C]);
  t.is(c.core(D).role, 'follower');
  t.is(c.core(D).term, c.core(A).term);
  // it does not count towards commits: with B and C gone, A and D are no majority of {A, B, C}
  const committed = c.core(A).log.committed;
  c.propose(A, 2, [payload(3)]);
  c.stabilize(cut(B, C));
  t.is(c.core(A).log.committed, committed);
  c.stabilize();
  // promotion
  c.core(A).proposeConfChange(11, { op: 'addVoter', nodeId: D, context: new Uint8Array(0) });
  c.process(A);
  run(c, 3);
  t.deepEqual(c.core(A).confState().voters, [A, B, C, D]);
  t.deepEqual(c.core(A).confState().learners, []);
  const applied = c.node(A).confChanges.filter((o) => o.change.nodeId === D);
  t.deepEqual(applied.map((o) => [o.change.op, o.applied]), [
    ['addLearner', true],
    ['addVoter', true],
  ]);
  // now D counts: A, B and D are a majority of four
  const before = c.core(A).log.committed;
  c.propose(A, 3, [payload(4)]);
  c.stabilize(cut(C));
  t.true(c.core(A).log.committed > before);
});

test('learner promotion is refused until the learner has caught up', (t) => {
  const c = electedCluster([A, B, C], 7);
  for (let k = 0; k < 10; k++) c.propose(A, k, [payload(k)]);
  c.stabilize();
  c.addMember(D);
  c.core(A).proposeConfChange(10, { op: 'addLearner', nodeId: D, context: new Uint8Array(0) });
  c.process(A);
  c.stabilize(cut(D)); // D never hears anything
  c.core(A).proposeConfChange(11, { op: 'addVoter', nodeId: D, context: new Uint8Array(0) });
  c.process(A);
  t.deepEqual(c.node(A).proposals.at(-1), { token: 11, accepted: false, reason: 'learnerNotReady' });
});

test('membership changes go one at a time', (t) => {
  const c = electedCluster([A, B, C], 8);
  c.addMember(D);
  c.core(A).proposeConfChange(1, { op: 'addLearner', nodeId: D, context: new Uint8Array(0) });
  c.core(A).proposeConfChange(2, { op: 'removeNode', nodeId: C, context: new Uint8Array(0) });
  c.process(A);
  t.deepEqual(
    c.node(A).proposals.map((p) => [p.token, p.accepted]),
    [
      [1, true],
      [2, false],
    ],
  );
  t.deepEqual(c.node(A).proposals[1], { token: 2, accepted: false, reason: 'confChangePending' });
  c.stabilize();
  c.core(A).proposeConfChange(3, { op: 'removeNode', nodeId: C, context: new Uint8Array(0) });
  c.process(A);
  t.true(c.node(A).proposals.at(-1)!.accepted, 'accepted once the first one is applied');
});

test('removing the leader itself: it commits its removal, steps down, and the others go on without it', (t) => {
  const c = electedCluster([A, B, C], 9);
  c.propose(A, 1, [payload(1)]);
  c.stabilize();
  c.core(A).proposeConfChange(5, { op: 'removeNode', nodeId: A, context: new Uint8Array(0) });
  c.process(A);
  c.stabilize();
  t.is(c.core(A).role, 'follower', 'the removed leader stepped down');
  t.deepEqual(c.core(A).confState().voters, [B, C]);
  // it handed over to an up-to-date voter at once: no election timeout needed
  const leader = c.leader();
  t.true(leader === B || leader === C, `new leader ${leader}`);
  t.deepEqual(c.core(leader!).confState().voters, [B, C]);
  // A never campaigns again (not a voter), and the two remaining voters commit on their own
  run(c, 40, cut(A));
  t.not(c.core(A).role, 'candidate');
  t.not(c.core(A).role, 'preCandidate');
  const before = c.core(leader!).log.committed;
  c.propose(leader!, 2, [payload(2)]);
  c.stabilize(cut(A));
  t.true(c.core(leader!).log.committed > before);
});

test('ReadIndex: one heartbeat round serves every read pending at that moment', (t) => {
  const c = electedCluster([A, B, C], 10);
  c.propose(A, 1, [payload(1)]);
  c.stabilize();
  c.takeOutbox();
  for (let token = 1; token <= 50; token++) c.core(A).readIndex(token);
  // followers' reads travel as one forwarded batch each
  for (let token = 101; token <= 120; token++) c.core(B).readIndex(token);
  c.process(B);
  const forwarded = c.outbox.filter((e) => e.message.type === 'readIndex');
  t.is(forwarded.length, 1);
  c.process(A);
  const heartbeats = c.outbox.filter((e) => e.message.type === 'heartbeat');
  t.is(heartbeats.length, 2, 'one heartbeat per follower for 50 reads');
  c.stabilize();
  const commit = c.core(A).log.committed;
  t.is(c.node(A).readStates.length, 50);
  t.true(c.node(A).readStates.every((r) => r.index === commit));
  t.is(c.node(B).readStates.length, 20);
  t.true(c.node(B).readStates.every((r) => r.index === commit));
});

test('ReadIndex: a leader cut off from the others never answers a read; its reads fail when it steps down', (t) => {
  const c = electedCluster([A, B, C], 11);
  c.core(A).readIndex(1);
  c.process(A);
  c.stabilize(cut(A));
  t.is(c.node(A).readStates.length, 0, 'no quorum confirmed the leadership: no answer');
  run(c, 30, cut(A), () => c.core(A).role !== 'leader', [B, C]);
  t.deepEqual(c.node(A).readsFailed, [1]);
});

test('ReadIndex: a new leader answers only once it has committed an entry of its term', (t) => {
  const c = electedCluster([A, B, C], 12, { appendBytesMax: 1 });
  c.crash(A);
  // B or C wins, but its no-op does not reach the other yet
  const holdEntries = (e: Envelope) => e.message.type === 'app' && e.message.entries.length > 0;
  run(c, 60, holdEntries, () => c.leader() !== undefined);
  const leader = c.leader()!;
  t.truthy(leader);
  c.core(leader).readIndex(7);
  c.process(leader);
  c.stabilize(holdEntries);
  t.is(c.node(leader).readStates.length, 0, 'no answer while the leader does not know the commit index');
  c.tick(leader);
  c.stabilize();
  t.is(c.node(leader).readStates.length, 1);
  t.is(c.node(leader).readStates[0]!.index, c.core(leader).log.committed);
  t.is(c.core(leader).log.term(c.core(leader).log.committed), c.core(leader).term);
});

test('proposals on a follower are forwarded; with no leader they are refused at once', (t) => {
  const c = electedCluster([A, B, C], 13);
  c.propose(B, 1, [payload(1), payload(2)]);
  c.stabilize();
  const outcome = c.node(B).proposals.at(-1)!;
  t.true(outcome.accepted);
  if (outcome.accepted) {
    t.is(outcome.count, 2);
    t.is(c.core(A).log.entry(outcome.index)!.type, EntryType.Normal);
  }
  // B alone: once its election timer runs out it knows no leader
  run(c, 30, cut(B), () => c.core(B).lead === '', [A, C]);
  c.propose(B, 2, [payload(3)]);
  t.deepEqual(c.node(B).proposals.at(-1), { token: 2, accepted: false, reason: 'noLeader' });
});

test('flow control: at most maxInflight appends in flight to a follower, each within the byte limit', (t) => {
  const c = new Cluster({ ids: [A, B, C], seed: 14, raft: { inflightMessagesMax: 3, appendBytesMax: 200 } });
  c.elect(A);
  c.stabilize();
  const big = Array.from({ length: 100 }, (_, i) => payload(i)); // 100 entries of 40 bytes counted each
  c.propose(A, 1, big);
  const toB = c.outbox.filter((e) => e.to === B && e.message.type === 'app');
  t.is(toB.length, 3, 'three appends in flight, no more');
  for (const e of toB) if (e.message.type === 'app') t.true(e.message.entries.length <= 5 && e.message.entries.length >= 1);
  c.stabilize();
  t.is(c.core(B).log.lastIndex(), c.core(A).log.lastIndex(), 'the rest follows as acks come back');
});

test('fast backtracking: a follower with a long conflicting tail is repaired in a few round trips', (t) => {
  const c = electedCluster([A, B, C], 15, { appendBytesMax: 1 << 20 });
  c.stabilize();
  // A writes 200 entries that reach nobody, then C leads and writes others
  for (let k = 0; k < 200; k++) c.propose(A, k, [payload(k)]);
  c.stabilize(() => true);
  c.crash(A);
  run(c, 60, () => false, () => c.leader() !== undefined);
  const leader = c.leader()!;
  for (let k = 0; k < 20; k++) c.propose(leader, 1000 + k, [payload(1000 + k)]);
  c.stabilize();
  c.restart(A);
  let rejects = 0;
  run(c, 3, (e) => {
    if (e.message.type === 'appResp' && e.message.reject) rejects++;
    return false;
  });
  t.is(c.core(A).log.lastIndex(), c.core(leader).log.lastIndex());
  t.true(rejects <= 3, `${rejects} rejections to skip 200 conflicting entries`);
});

test('a member does not campaign while a committed membership change is not yet applied on it', (t) => {
  const c = new Cluster({ ids: [A, B, C], seed: 16, autoPersist: false });
  for (const id of [A, B, C]) c.persist(id);
  for (let i = 0; i < 40 && c.leader() !== A; i++) {
    c.tick(A);
    c.stabilize();
  }
  t.is(c.leader(), A);
  // A adds D as a learner; B receives the entry and learns it is committed, but its own disk has not written it yet
  c.addMember(D);
  c.core(A).proposeConfChange(1, { op: 'addLearner', nodeId: D, context: new Uint8Array(0) });
  c.process(A);
  const index = c.core(A).log.lastIndex();
  const deliverAll = () => {
    for (let i = 0; i < 20 && c.outbox.length > 0; i++) for (const e of c.takeOutbox()) if (e.to !== D) c.deliver(e);
  };
  // A and C write it and commit it; B receives it but its disk is slow
  deliverAll();
  c.persist(A);
  c.persist(C);
  deliverAll();
  c.persist(A);
  deliverAll();
  t.true(c.core(A).log.committed >= index);
  // the next append tells B the commit index while B's copy of the change is still being written
  c.propose(A, 2, [payload(1)]);
  deliverAll();
  const b = c.core(B);
  t.true(b.log.committed >= index, 'B knows the change is committed');
  t.true(b.log.applying < index, 'but has not applied it (not durable on B yet)');
  // A goes away; B's election timer runs out, yet it must not campaign with a configuration about to change
  c.crash(A);
  for (let i = 0; i < 40; i++) c.core(B).tick();
  c.process(B);
  t.is(b.role, 'follower');
  t.false(c.outbox.some((e) => e.from === B && (e.message.type === 'preVote' || e.message.type === 'vote')));
  // once durable and applied, it campaigns
  c.persist(B);
  t.true(b.log.applying >= index);
  for (let i = 0; i < 40 && b.role === 'follower'; i++) c.tick(B);
  t.not(b.role, 'follower');
});
