// Tests mapped to statements of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm", extended version): each test quotes the statement it checks. The cluster harness also runs the safety
// checker on every Ready and every message, so a violation anywhere fails the test that caused it.
import test from 'ava';
import { decodeConfChange } from '../../actors/raft/core/confchange.js';
import { RaftNode } from '../../actors/raft/core/raft.js';
import type { AppendMessage, RaftMessage, VoteRequest } from '../../actors/raft/core/messages.js';
import { EntryType, type Entry } from '../../actors/raft/core/types.js';
import { Cluster, nodeIds, payload, payloadNumber, type Envelope } from '../sim/cluster.js';

const [A, B, C, D, E] = nodeIds(5) as [string, string, string, string, string];

function entry(index: number, term: number, n = index): Entry {
  return { index, term, type: EntryType.Normal, data: payload(n) };
}

/** A single core with a given durable log, never ticked, for message-level tests. */
function member(id: string, entries: Entry[], term: number, vote = '', voters = [A, B, C]): RaftNode {
  const node = new RaftNode(
    { id, seed: 1, preVote: false, checkQuorum: false },
    { hardState: { term, vote, commit: 0 }, snapshot: { index: 0, term: 0, confState: { voters, learners: [], votersOutgoing: [] } }, entries },
  );
  drain(node);
  return node;
}

/** Takes every Ready, reports each persisted at once, and returns the messages sent. */
function drain(node: RaftNode): RaftMessage[] {
  const out: RaftMessage[] = [];
  for (let i = 0; i < 100 && node.hasReady(); i++) {
    const rd = node.ready();
    out.push(...rd.messages);
    if (rd.committedEntries.length > 0) node.applied(rd.committedEntries[rd.committedEntries.length - 1]!.index);
    if (rd.mustSync) node.persisted(rd.id);
  }
  return out;
}

function voteRequest(from: string, to: string, term: number, index: number, logTerm: number): VoteRequest {
  return { type: 'vote', from, to, term, index, logTerm, transfer: false };
}

/** Delivers until quiet, passing each message through `edit` (undefined: drop it). */
function deliverEdited(c: Cluster, edit: (e: Envelope) => Envelope | undefined): void {
  for (let round = 0; round < 1000; round++) {
    const batch = c.takeOutbox();
    if (batch.length === 0) return;
    for (const e of batch) {
      const edited = edit(e);
      if (edited) c.deliver(edited);
    }
    c.checker.afterStep(c.nodes.values());
  }
}

/** Ticks every live member and delivers (dropping what `drop` says) until one leads. */
function electAny(c: Cluster, drop: (e: Envelope) => boolean = () => false, want?: string): string | undefined {
  for (let i = 0; i < 200; i++) {
    const leader = c.leader();
    if (leader && (!want || leader === want)) return leader;
    for (const id of c.ids()) {
      // with a wanted member, only its clock runs, so only it campaigns
      if (c.node(id).alive && (!want || id === want)) c.tick(id);
    }
    c.stabilize(drop);
  }
  return c.leader();
}

test('§5.1 "If a server receives a request with a stale term number, it rejects the request"', (t) => {
  const node = member(B, [entry(1, 1), entry(2, 3)], 3);
  const stale: AppendMessage = { type: 'app', from: A, to: B, term: 2, index: 2, logTerm: 3, entries: [entry(3, 2)], commit: 2 };
  node.step(stale);
  const out = drain(node);
  t.is(node.log.lastIndex(), 2, 'nothing appended from a stale leader');
  const answer = out.find((m) => m.type === 'appResp');
  t.truthy(answer, 'the stale leader is told the newer term');
  t.is(answer!.term, 3);
});

test('§5.1 "If a candidate or leader discovers that its term is out of date, it immediately reverts to follower state"', (t) => {
  const c = new Cluster({ ids: [A, B, C], seed: 1 });
  t.is(c.elect(A), A);
  const leader = c.core(A);
  const newer = leader.term + 5;
  leader.step({ type: 'heartbeatResp', from: B, to: A, term: newer, round: 0 });
  t.is(leader.role, 'follower');
  t.is(leader.term, newer);
});

test('§5.2 "Each server will vote for at most one candidate in a given term, on a first-come-first-served basis"', (t) => {
  const node = member(C, [], 1);
  node.step(voteRequest(A, C, 2, 0, 0));
  const first = drain(node).filter((m) => m.type === 'voteResp');
  node.step(voteRequest(B, C, 2, 0, 0));
  const second = drain(node).filter((m) => m.type === 'voteResp');
  t.deepEqual(first.map((m) => [m.to, m.type === 'voteResp' && m.reject]), [[A, false]]);
  t.deepEqual(second.map((m) => [m.to, m.type === 'voteResp' && m.reject]), [[B, true]]);
  // the same candidate asking again gets the same answer
  node.step(voteRequest(A, C, 2, 0, 0));
  t.deepEqual(drain(node).filter((m) => m.type === 'voteResp').map((m) => m.type === 'voteResp' && m.reject), [false]);
});

test('§5.2 a vote is durable before it is granted, and survives a crash (one vote per term across restarts)', (t) => {
  const c = new Cluster({ ids: [A, B, C], seed: 2, autoPersist: false });
  for (const id of [A, B, C]) c.persist(id);
  const node = c.core(C);
  node.step(voteRequest(A, C, 5, 3, 1));
  c.process(C);
  t.false(c.outbox.some((e) => e.message.type === 'voteResp'), 'no grant before the vote is on disk');
  c.persist(C);
  const grant = c.outbox.find((e) => e.message.type === 'voteResp');
  t.truthy(grant);
  t.false(grant!.message.type === 'voteResp' && grant!.message.reject);
  c.takeOutbox();
  c.crash(C);
  c.restart(C);
  c.core(C).step(voteRequest(B, C, 5, 3, 1));
  c.process(C);
  c.persist(C);
  const second = c.outbox.filter((e) => e.message.type === 'voteResp');
  t.is(second.length, 1);
  t.true(second[0]!.message.type === 'voteResp' && second[0]!.message.reject, 'after the restart the vote for A still stands');
});

test('§5.2 "A candidate wins an election if it receives votes from a majority of the servers in the full cluster"', (t) => {
  const c = new Cluster({ ids: [A, B, C, D, E], seed: 3, raft: { preVote: false } });
  // A hears from only one other member: no majority of five
  const leader = c.elect(A, (e) => ![A, B].includes(e.from) || ![A, B].includes(e.to));
  t.is(leader, undefined);
  t.is(c.core(A).role, 'candidate');
  // with two more voters reachable it wins
  c.tick(A, 30);
  c.stabilize((e) => [E].includes(e.from) || [E].includes(e.to));
  t.is(c.leader() !== undefined, true);
});

test('§5.2 "a candidate... receives an AppendEntries RPC from another server claiming to be leader... with term at least as large... returns to follower"', (t) => {
  const node = member(B, [entry(1, 1)], 1, '', [A, B, C]);
  node.tick();
  for (let i = 0; i < 30 && node.role !== 'candidate'; i++) node.tick();
  drain(node);
  t.is(node.role, 'candidate');
  node.step({ type: 'app', from: A, to: B, term: node.term, index: 1, logTerm: 1, entries: [], commit: 1 });
  drain(node);
  t.is(node.role, 'follower');
  t.is(node.lead, A);
});

test('§5.2 "Raft uses randomized election timeouts": every member campaigns within [electionTimeout, 2 * electionTimeout) ticks', (t) => {
  const spread = new Set<number>();
  for (let seed = 1; seed <= 40; seed++) {
    const node = new RaftNode({ id: A, seed, electionTicks: 10, preVote: false }, { hardState: { term: 1, vote: '', commit: 0 }, snapshot: { index: 0, term: 0, confState: { voters: [A, B, C], learners: [], votersOutgoing: [] } }, entries: [] });
    let ticks = 0;
    while (node.role === 'follower' && ticks < 100) {
      node.tick();
      ticks++;
    }
    t.true(ticks >= 10 && ticks < 20, `campaigned after ${ticks} ticks`);
    spread.add(ticks);
  }
  t.true(spread.size >= 5, 'timeouts are spread out');
});

test('§5.2 heartbeats keep followers from starting elections', (t) => {
  const c = new Cluster({ ids: [A, B, C], seed: 4 });
  t.is(c.elect(A), A);
  const term = c.core(A).term;
  for (let i = 0; i < 100; i++) {
    c.tickAll();
    c.stabilize();
  }
  t.is(c.leader(), A);
  t.is(c.core(B).term, term);
  t.is(c.core(C).term, term);
});

test('§5.3 "If the follower does not find an entry in its log with the same index and term, then it refuses the new entries"', (t) => {
  const node = member(B, [entry(1, 1), entry(2, 1)], 2);
  node.step({ type: 'app', from: A, to: B, term: 2, index: 2, logTerm: 2, entries: [entry(3, 2)], commit: 0 });
  const out = drain(node);
  const answer = out.find((m) => m.type === 'appResp');
  t.true(answer?.type === 'appResp' && answer.reject);
  t.is(node.log.lastIndex(), 2);
  // the hint lets the leader skip the whole conflicting term: B's last entry with term <= 2 is index 2 (term 1)
  t.true(answer?.type === 'appResp' && answer.hintIndex === 2 && answer.hintTerm === 1);
});

test('§5.3 "If an existing entry conflicts with a new one (same index but different terms), delete the existing entry and all that follow it"', (t) => {
  const node = member(B, [entry(1, 1), entry(2, 1), entry(3, 1), entry(4, 1)], 1);
  node.step({ type: 'app', from: A, to: B, term: 3, index: 1, logTerm: 1, entries: [entry(2, 3, 102)], commit: 1 });
  drain(node);
  t.is(node.log.lastIndex(), 2);
  t.is(node.log.term(2), 3);
  t.is(payloadNumber(node.log.entry(2)!.data), 102);
});

test('§5.3 "The leader keeps track of the highest index it knows to be committed, and it includes that index in future AppendEntries"; followers commit min(leaderCommit, last new entry)', (t) => {
  const node = member(B, [], 1);
  node.step({ type: 'app', from: A, to: B, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1), entry(2, 1)], commit: 5 });
  drain(node);
  t.is(node.log.committed, 2, 'commit is capped at the last entry this append brought');
});

test('§5.3 "A log entry is committed once the leader that created the entry has replicated it on a majority of the servers"', (t) => {
  const c = new Cluster({ ids: [A, B, C, D, E], seed: 5 });
  t.is(c.elect(A), A);
  const before = c.core(A).log.committed;
  // only B receives it: two of five
  c.propose(A, 1, [payload(1)]);
  c.stabilize((e) => ![A, B].includes(e.to) || ![A, B].includes(e.from));
  t.is(c.core(A).log.committed, before);
  // C gets it too: three of five
  c.tickAll();
  c.stabilize((e) => [D, E].includes(e.to) || [D, E].includes(e.from));
  t.is(c.core(A).log.committed, before + 1);
});

test('§5.4.1 election restriction: "the voter denies its vote if its own log is more up-to-date than that of the candidate"', (t) => {
  // higher last term wins
  const voter = member(C, [entry(1, 1), entry(2, 3)], 3);
  voter.step(voteRequest(A, C, 4, 5, 2)); // longer log but older last term
  t.true(drain(voter).some((m) => m.type === 'voteResp' && m.reject));
  // same last term: the longer log wins
  const voter2 = member(C, [entry(1, 1), entry(2, 1), entry(3, 1)], 1);
  voter2.step(voteRequest(A, C, 2, 2, 1));
  t.true(drain(voter2).some((m) => m.type === 'voteResp' && m.reject));
  const voter3 = member(C, [entry(1, 1), entry(2, 1)], 1);
  voter3.step(voteRequest(A, C, 2, 2, 1));
  t.true(drain(voter3).some((m) => m.type === 'voteResp' && !m.reject), 'equally up to date: granted');
});

test('§5.4.2 (figure 8) "Raft never commits log entries from previous terms by counting replicas"', (t) => {
  // one entry per append, so an old-term entry can travel without the new leader's own entry (as in the figure)
  const c = new Cluster({ ids: [A, B, C, D, E], seed: 6, raft: { preVote: false, checkQuorum: false, appendBytesMax: 1 } });
  t.is(c.elect(A), A);
  const base = c.core(A).log.lastIndex();
  // (a) A (term 2) writes an entry that reaches only B, then crashes
  c.propose(A, 1, [payload(1)]);
  c.stabilize((e) => !(e.from === A && e.to === B) && !(e.from === B && e.to === A));
  const oldTerm = c.core(A).term;
  t.is(c.core(B).log.term(base + 1), oldTerm);
  c.crash(A);
  // (b) E leads term 3 with votes from C and D; its entries reach nobody; it crashes
  const withoutB = (e: Envelope) => e.to === B || e.from === B || (e.message.type === 'app' && e.message.entries.length > 0);
  t.is(electAny(c, withoutB, E), E);
  c.propose(E, 2, [payload(2)]);
  c.stabilize(() => true);
  c.crash(E);
  // (c) A restarts and leads term 4 (votes from B and C); it copies its term-2 entry to C, but its own term-4
  // entries are held back
  c.restart(A);
  const withoutDE = (e: Envelope) => e.to === D || e.from === D || e.to === E || e.from === E;
  const leaderTerm = () => c.core(A).term;
  for (let i = 0; i < 100 && c.core(A).role !== 'leader'; i++) {
    c.tick(A);
    c.stabilize((e) => withoutDE(e) || (e.message.type === 'app' && e.message.entries.length > 0));
  }
  t.is(c.leader(), A);
  // appends lose their current-term entries on the way: only the old-term prefix arrives
  const oldEntriesOnly = (e: Envelope): Envelope | undefined => {
    if (withoutDE(e)) return undefined;
    const m = e.message;
    if (m.type !== 'app') return e;
    return { ...e, message: { ...m, entries: m.entries.filter((x) => x.term < leaderTerm()) } };
  };
  for (let i = 0; i < 5; i++) {
    c.tick(A);
    deliverEdited(c, oldEntriesOnly);
  }
  t.true(c.core(A).term > oldTerm + 1);
  t.is(c.core(C).log.term(base + 1), oldTerm, 'the old-term entry is on a majority (A, B, C)');
  t.true(c.core(A).log.committed < base + 1, 'but it is not committed by counting replicas');
  // (e) once an entry of the current term reaches a majority, both commit
  c.tickAll();
  c.stabilize((e) => e.to === D || e.from === D || e.to === E || e.from === E);
  t.true(c.core(A).log.committed >= base + 2);
  t.is(c.core(A).log.term(base + 1), oldTerm);
});

test('§5.4 leader completeness: "if a log entry is committed in a given term, then that entry will be present in the logs of the leaders for all higher-numbered terms"', (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const c = new Cluster({ ids: [A, B, C], seed });
    const first = c.elect(A)!;
    c.propose(first, 1, [payload(seed)]);
    c.stabilize();
    const committed = c.core(first).log.committed;
    const data = c.core(first).log.entry(committed)!.data;
    c.crash(first);
    const second = electAny(c);
    t.truthy(second);
    t.not(second, first);
    t.is(c.core(second!).log.entry(committed)?.data, data);
  }
});

test('figure 3 "Leader Append-Only: a leader never overwrites or deletes entries in its log"', (t) => {
  const c = new Cluster({ ids: [A, B, C], seed: 7 });
  t.is(c.elect(A), A);
  c.propose(A, 1, [payload(1), payload(2)]);
  c.stabilize();
  const leader = c.core(A);
  const before = leader.log.slice(1, leader.log.lastIndex() + 1);
  // a follower with a conflicting history answers; the leader only moves its probe
  leader.step({ type: 'appResp', from: B, to: A, term: leader.term, index: 3, reject: true, hintIndex: 1, hintTerm: 1 });
  leader.step({ type: 'app', from: C, to: A, term: leader.term - 1, index: 1, logTerm: 1, entries: [entry(2, leader.term - 1)], commit: 1 });
  c.process(A);
  const after = leader.log.slice(1, before.length + 1);
  t.deepEqual(after, before);
});

test('figure 3 "State Machine Safety": members apply the same entries in the same order across a leader change', (t) => {
  const c = new Cluster({ ids: [A, B, C], seed: 8, keepApplied: true });
  c.elect(A);
  c.propose(B, 1, [payload(1), payload(2)]);
  c.stabilize();
  c.crash(A);
  const next = electAny(c)!;
  c.propose(next, 2, [payload(3)]);
  c.stabilize();
  c.restart(A);
  c.tickAll(2);
  c.stabilize();
  const seq = (id: string) => c.node(id).applyLog!.map((e) => `${e.index}:${e.term}:${payloadNumber(e.data) ?? '-'}`);
  const a = c.node(A).applyLog!;
  const bLog = seq(B);
  t.true(bLog.length >= 6);
  t.deepEqual(seq(C), bLog);
  // A restarted and replayed from its snapshot (none): it applied the same sequence again
  t.deepEqual(a.map((e) => `${e.index}:${e.term}:${payloadNumber(e.data) ?? '-'}`), bLog);
});

test('asynchronous persistence: a follower acknowledges entries only once they are durable', (t) => {
  const c = new Cluster({ ids: [A, B, C], seed: 9, autoPersist: false });
  c.stabilize();
  for (let i = 0; i < 30 && !c.leader(); i++) {
    c.tickAll();
    c.stabilize();
  }
  const leader = c.leader()!;
  const follower = [A, B, C].find((id) => id !== leader)!;
  c.propose(leader, 1, [payload(1)]);
  // deliver the append to the follower without syncing its disk
  const out = c.takeOutbox();
  for (const e of out) if (e.to === follower) c.deliver(e);
  t.false(c.outbox.some((e) => e.from === follower && e.message.type === 'appResp' && !e.message.reject), 'no ack before the disk sync');
  c.persist(follower);
  t.true(c.outbox.some((e) => e.from === follower && e.message.type === 'appResp' && !e.message.reject));
});

test('asynchronous persistence: a leader counts its own log only once durable, and a candidate its own vote', (t) => {
  // a single member: nothing commits and nobody leads until its own writes are reported durable
  const solo = RaftNode.bootstrap({ id: A, seed: 1 }, [A]);
  let rd = solo.ready();
  solo.persisted(rd.id);
  rd = solo.ready();
  for (let i = 0; i < 30 && solo.role === 'follower'; i++) solo.tick();
  t.is(solo.role, 'candidate', 'its own pre-vote (nothing durable) won at once');
  const r1 = solo.ready();
  t.true(r1.mustSync);
  t.is(r1.hardState?.vote, A);
  t.is(solo.role, 'candidate', 'its own vote is not durable yet');
  solo.persisted(r1.id);
  t.is(solo.role, 'leader');
  const r2 = solo.ready();
  const noop = r2.entries[r2.entries.length - 1]!;
  t.is(solo.log.committed < noop.index, true, 'the no-op is not committed before it is durable');
  solo.persisted(r2.id);
  t.is(solo.log.committed, noop.index);

  // three members: one follower's ack plus a non-durable leader log is not a majority
  const c = new Cluster({ ids: [A, B, C], seed: 10, autoPersist: false });
  for (const id of [A, B, C]) c.persist(id);
  for (let i = 0; i < 30 && !c.leader(); i++) {
    c.tickAll();
    c.stabilize();
  }
  const leader = c.leader()!;
  const [f1] = [A, B, C].filter((id) => id !== leader) as [string, string];
  const committed = c.core(leader).log.committed;
  c.propose(leader, 1, [payload(1)]);
  for (const e of c.takeOutbox()) if (e.to === f1) c.deliver(e);
  c.persist(f1);
  for (const e of c.takeOutbox()) if (e.to === leader) c.deliver(e);
  t.is(c.core(leader).log.committed, committed, 'not committed: the leader has not written it yet');
  c.persist(leader);
  t.is(c.core(leader).log.committed, committed + 1);
});

test('asynchronous persistence: with several Readies in flight, persisting an older one releases only what depends on it', (t) => {
  const node = member(B, [], 1);
  node.step({ type: 'app', from: A, to: B, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1)], commit: 0 });
  const r1 = node.ready();
  node.step({ type: 'app', from: A, to: B, term: 1, index: 1, logTerm: 1, entries: [entry(2, 1)], commit: 0 });
  const r2 = node.ready();
  t.deepEqual(r1.messages, []);
  t.deepEqual(r2.messages, []);
  node.persisted(r1.id);
  const acks = node.ready().messages.filter((m) => m.type === 'appResp');
  t.deepEqual(acks.map((m) => m.type === 'appResp' && m.index), [1]);
  node.persisted(r2.id);
  t.deepEqual(node.ready().messages.map((m) => m.type === 'appResp' && m.index), [2]);
});

test('asynchronous persistence: an older write reported durable says nothing about entries a newer leader replaced', (t) => {
  const node = member(B, [], 1);
  // term 1: entries 1..5 arrive and go to the WAL in Ready r1
  node.step({ type: 'app', from: A, to: B, term: 1, index: 0, logTerm: 0, entries: [1, 2, 3, 4, 5].map((i) => entry(i, 1)), commit: 2 });
  const r1 = node.ready();
  t.is(r1.entries.length, 5);
  // term 2: a new leader replaces 3..5 and says 5 is committed; Ready r2 rewrites the WAL's tail
  node.step({ type: 'app', from: C, to: B, term: 2, index: 2, logTerm: 1, entries: [3, 4, 5].map((i) => entry(i, 2, 100 + i)), commit: 5 });
  const r2 = node.ready();
  t.deepEqual(r2.entries.map((e) => [e.index, e.term]), [[3, 2], [4, 2], [5, 2]]);
  // r1 is durable: only 1..2 of what is in the log now is durable, so only those may be applied
  node.persisted(r1.id);
  const r3 = node.ready();
  t.deepEqual(r3.committedEntries.map((e) => e.index), [1, 2]);
  t.is(node.log.stable, 2);
  node.applied(2);
  node.persisted(r2.id);
  const r4 = node.ready();
  t.deepEqual(r4.committedEntries.map((e) => [e.index, e.term]), [[3, 2], [4, 2], [5, 2]]);
});

test('bootstrap: one committed addVoter per initial voter, in id order, each carrying its context', (t) => {
  const context = new TextEncoder().encode('name and peer urls');
  const node = RaftNode.bootstrap({ id: B, seed: 1 }, [C, A, B], { [A]: context });
  const rd = node.ready();
  t.deepEqual(
    rd.entries.map((e) => e.type),
    [EntryType.ConfChange, EntryType.ConfChange, EntryType.ConfChange],
  );
  const changes = rd.entries.map((e) => decodeConfChange(e.data));
  t.deepEqual(
    changes.map((c) => c.op === 'addVoter' && c.nodeId),
    [A, B, C].sort(),
  );
  t.deepEqual(changes.find((c) => c.op === 'addVoter' && c.nodeId === A)?.context, context);
  t.is(changes.find((c) => c.op === 'addVoter' && c.nodeId === C)?.context.length, 0);
  t.is(node.log.committed, 3);
});
