// The seeded cluster simulator: 3 or 5 raft cores in one thread, over a network that drops, delays, duplicates,
// reorders and partitions, with disks that lose unsynced writes when their member crashes. Members crash and
// restart. Everything random comes from one seed, so a seed replays exactly.
//
// A run has two phases:
// 1. chaos: faults of every kind while clients propose and read; after every step the checker verifies safety
//    (see checker.ts) and every read index is checked against the commit index that existed when it was asked;
// 2. calm: faults stop, crashed members restart; a leader must be elected within electionBoundTicks and then every
//    proposal made from then on must be committed and applied everywhere within commitBoundTicks.
import { SeededRandom } from '../../runtime/random.js';
import type { NodeId } from '../../actors/raft/core/types.js';
import { logsMatchNaive } from './checker.js';
import { Cluster, nodeIds, payload, payloadNumber, type Envelope } from './cluster.js';

export interface SimOptions {
  seed: number;
  /** Length of the chaos phase in simulated milliseconds. */
  chaosMs?: number;
  /** Record a trace of every event (for replaying a failing seed). */
  trace?: boolean;
}

export interface SimResult {
  seed: number;
  members: number;
  events: number;
  messages: number;
  crashes: number;
  partitions: number;
  snapshotsSent: number;
  confChanges: number;
  leaderTerms: number;
  committed: number;
  reads: number;
  /** Ticks from the end of chaos until a leader was known to every member. */
  electionTicks: number;
  /** Ticks from the first calm proposal until every calm proposal was committed. */
  commitTicks: number;
  options: string;
  /** Every event of the run, when options.trace was set. */
  trace?: string[];
}

export class SimulationFailure extends Error {
  override name = 'SimulationFailure';
  constructor(
    readonly seed: number,
    message: string,
    readonly trace: string[],
    cause?: unknown,
  ) {
    super(`seed ${seed}: ${message} (replay with SEED=${seed})`, { cause });
  }
}

const TICK_MS = 100;
const ELECTION_TICKS = 10;
const electionBoundTicks = 60;
const commitBoundTicks = 40;
/** Members that were down or cut off may need many round trips (small limits) or a snapshot to catch up. */
const catchUpBoundTicks = 150;
/** A client sends a batch again when it was not committed within this time. */
const clientRetryMs = 1000;
const traceKeep = 400;
/** A run has a few thousand events; far more means members are flooding each other. */
const eventsMax = 300_000;

type Event =
  | { kind: 'tick'; id: NodeId }
  | { kind: 'deliver'; envelope: Envelope }
  | { kind: 'sync'; id: NodeId; incarnation: number }
  | { kind: 'restart'; id: NodeId }
  | { kind: 'chaos' }
  | { kind: 'client' }
  | { kind: 'compact'; id: NodeId }
  /** The snapshot pipeline tells the sender how its transfer went (it always does, success or failure). */
  | { kind: 'snapshotStatus'; from: NodeId; to: NodeId; ok: boolean };

interface Scheduled {
  at: number;
  seq: number;
  event: Event;
}

/** A binary min-heap of events by (time, sequence): equal times keep their scheduling order. */
class EventQueue {
  private heap: Scheduled[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, event: Event): void {
    const item = { at, seq: this.seq++, event };
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, item)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = item;
  }

  pop(): Scheduled | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && less(h[r]!, h[l]!) ? r : l;
        if (less(last, h[c]!)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function less(a: Scheduled, b: Scheduled): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export function runSimulation(options: SimOptions): SimResult {
  const seed = options.seed;
  const random = new SeededRandom(seed);
  const chaosMs = options.chaosMs ?? 20_000;
  const members = random.int(2) === 0 ? 3 : 5;
  // most runs use the production settings; some turn pre-vote or check-quorum off to widen what safety is checked on
  const variant = random.int(10);
  const preVote = variant !== 8;
  const checkQuorum = variant !== 9;
  const dropRate = random.next() * 0.15;
  const dupRate = random.next() * 0.05;
  const longDelayRate = random.next() * 0.1;
  const crashPerChaos = random.next() * 0.25;
  // a third of the runs also change membership under the faults: learners join from an empty log, are promoted,
  // and members (the leader too) are removed; a removed id is never added again
  const membership = random.int(3) === 0;
  const optionsLine =
    `members=${members} preVote=${preVote} checkQuorum=${checkQuorum} membership=${membership} ` +
    `drop=${dropRate.toFixed(3)} dup=${dupRate.toFixed(3)} longDelay=${longDelayRate.toFixed(3)}`;

  const pool = nodeIds(membership ? 5 : members);
  /** Members that exist (running or crashed), in creation order. */
  const ids = membership ? pool.slice(0, 3) : [...pool];
  const cluster = new Cluster({
    ids: [...ids],
    seed: seed ^ 0x5eed,
    autoPersist: false,
    raft: {
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      preVote,
      checkQuorum,
      // small limits so flow control, probing and byte limits are exercised
      inflightMessagesMax: 1 + random.int(8),
      appendBytesMax: 128 + random.int(1024),
    },
  });

  const trace: string[] = [];
  const log = (line: string) => {
    if (options.trace) trace.push(line);
    else {
      trace.push(line);
      if (trace.length > traceKeep * 2) trace.splice(0, trace.length - traceKeep);
    }
  };

  const queue = new EventQueue();
  let now = 0;
  let calm = false;
  const blocked = new Set<string>();
  const syncScheduled = new Map<NodeId, boolean>();
  const incarnation = new Map<NodeId, number>();
  const down = new Set<NodeId>();
  let crashes = 0;
  let partitions = 0;
  let snapshotsSent = 0;
  let events = 0;
  let reads = 0;
  let nextPayload = 1;
  let nextToken = 1;
  /** Read token -> the highest commit index anywhere when the read was asked. */
  const readFloor = new Map<number, number>();
  const readCursor = new Map<NodeId, number>();

  const schedule = (id: NodeId) => {
    incarnation.set(id, 0);
    queue.push(now + random.int(TICK_MS), { kind: 'tick', id });
    queue.push(now + 1000 + random.int(2000), { kind: 'compact', id });
  };
  for (const id of ids) schedule(id);
  let confChanges = 0;
  queue.push(500, { kind: 'chaos' });
  queue.push(50, { kind: 'client' });

  const failWith = (message: string, cause?: unknown): never => {
    for (const n of cluster.nodes.values()) {
      if (!n.core) {
        trace.push(`state ${n.id} down`);
        continue;
      }
      const st = n.core.status();
      const progress = st.progress.map((p) => `${p.id.slice(-2)}:${p.state}/${p.match}/${p.next}${p.recentActive ? '' : '!'}`).join(' ');
      trace.push(
        `state ${n.id} ${st.role} term=${st.term} vote=${st.vote.slice(-2)} lead=${st.lead.slice(-2)} commit=${st.commit} applied=${st.applied} ` +
          `last=${st.lastIndex} stable=${st.stable} first=${st.firstIndex} pending=${n.disk.pending.length}/${syncScheduled.get(n.id)} voters=${st.confState.voters.map((v) => v.slice(-2)).join(',')} ${progress}`,
      );
    }
    throw new SimulationFailure(seed, `${message} [${optionsLine}]`, trace, cause);
  };

  const maxCommitNow = () => {
    let max = cluster.checker.maxCommit;
    for (const n of cluster.nodes.values()) if (n.core && n.core.log.committed > max) max = n.core.log.committed;
    return max;
  };

  /** Moves what members sent into the network, and schedules disk syncs. */
  const pump = () => {
    for (const e of cluster.takeOutbox()) {
      const isSnapshot = e.message.type === 'snap';
      if (isSnapshot) snapshotsSent++;
      if (!calm && (blocked.has(`${e.from}>${e.to}`) || random.next() < dropRate)) {
        if (isSnapshot) queue.push(now + 50 + random.int(500), { kind: 'snapshotStatus', from: e.from, to: e.to, ok: false });
        continue;
      }
      if (isSnapshot) {
        // the transfer succeeds; its status reaches the sender some time after the data arrived
        queue.push(now + 20 + random.int(500), { kind: 'deliver', envelope: e });
        queue.push(now + 600 + random.int(500), { kind: 'snapshotStatus', from: e.from, to: e.to, ok: true });
        continue;
      }
      const latency = () => {
        let ms = 1 + random.int(10);
        if (!calm && random.next() < longDelayRate) ms += 100 + random.int(900);
        return ms;
      };
      queue.push(now + latency(), { kind: 'deliver', envelope: e });
      if (!calm && random.next() < dupRate) queue.push(now + latency(), { kind: 'deliver', envelope: e });
    }
    for (const [id, node] of cluster.nodes) {
      if (node.core && node.disk.pending.length > 0 && !syncScheduled.get(id)) {
        syncScheduled.set(id, true);
        queue.push(now + 1 + random.int(8), { kind: 'sync', id, incarnation: incarnation.get(id)! });
      }
    }
  };

  const checkReads = () => {
    for (const [id, node] of cluster.nodes) {
      let cursor = readCursor.get(id) ?? 0;
      for (; cursor < node.readStates.length; cursor++) {
        const r = node.readStates[cursor]!;
        const floor = readFloor.get(r.token);
        if (floor === undefined) continue;
        readFloor.delete(r.token);
        if (r.index < floor) failWith(`read ${r.token} on ${id} got index ${r.index}, below the commit index ${floor} known when it was asked`);
      }
      readCursor.set(id, cursor);
    }
  };

  const crash = (id: NodeId) => {
    if (down.has(id)) return;
    log(`${now} crash ${id}`);
    cluster.crash(id);
    down.add(id);
    crashes++;
    incarnation.set(id, incarnation.get(id)! + 1);
    syncScheduled.set(id, false);
    queue.push(now + 200 + random.int(3000), { kind: 'restart', id });
  };

  const restart = (id: NodeId) => {
    if (!down.has(id)) return;
    log(`${now} restart ${id}`);
    down.delete(id);
    cluster.restart(id);
  };

  const chaos = () => {
    const roll = random.next();
    // half the faults aim at the leader, where they make elections, lost proposals and stale leaders
    const leader = cluster.leader();
    const target = leader !== undefined && random.int(2) === 0 ? leader : ids[random.int(ids.length)]!;
    if (roll < crashPerChaos) {
      crash(target);
    } else if (roll < crashPerChaos + 0.25) {
      // partition: the target alone or a random side, cut both ways or one way
      blocked.clear();
      const side = random.int(2) === 0 ? new Set([target]) : new Set(ids.filter(() => random.int(2) === 0));
      const oneWay = random.int(4) === 0;
      for (const a of ids) {
        for (const b of ids) {
          if (a === b || side.has(a) === side.has(b)) continue;
          if (!oneWay || side.has(a)) blocked.add(`${a}>${b}`);
        }
      }
      partitions++;
      log(`${now} partition ${[...side].join(',')} ${oneWay ? 'one-way' : ''}`);
    } else if (roll < crashPerChaos + 0.45) {
      blocked.clear();
      log(`${now} heal`);
    } else if (membership && roll < crashPerChaos + 0.65) {
      changeMembership();
    }
  };

  const changeMembership = () => {
    const leader = cluster.leader();
    if (!leader || down.has(leader)) return;
    const core = cluster.core(leader);
    const conf = core.confState();
    type Choice = { op: 'addLearner' | 'addVoter' | 'removeNode'; nodeId: NodeId };
    const choices: Choice[] = [];
    const fresh = pool.find((id) => !cluster.nodes.has(id));
    if (fresh) choices.push({ op: 'addLearner', nodeId: fresh });
    for (const id of conf.learners) choices.push({ op: 'addVoter', nodeId: id });
    if (conf.voters.length > 2) for (const id of conf.voters) choices.push({ op: 'removeNode', nodeId: id });
    for (const id of conf.learners) choices.push({ op: 'removeNode', nodeId: id });
    if (choices.length === 0) return;
    const choice = choices[random.int(choices.length)]!;
    if (choice.op === 'addLearner') {
      cluster.addMember(choice.nodeId);
      ids.push(choice.nodeId);
      schedule(choice.nodeId);
    }
    log(`${now} ${choice.op} ${choice.nodeId} via ${leader}`);
    confChanges++;
    core.proposeConfChange(nextToken++, { op: choice.op, nodeId: choice.nodeId, context: new Uint8Array(0) });
    cluster.process(leader);
  };

  const client = () => {
    const live = ids.filter((id) => !down.has(id));
    if (live.length === 0) return;
    const id = live[random.int(live.length)]!;
    const core = cluster.node(id).core!;
    if (random.int(4) === 0) {
      const token = nextToken++;
      readFloor.set(token, maxCommitNow());
      core.readIndex(token);
      reads++;
      log(`${now} read ${id} token ${token}`);
    } else {
      const count = 1 + random.int(3);
      const batch = [];
      for (let i = 0; i < count; i++) batch.push(payload(nextPayload++));
      core.propose(nextToken++, batch);
      log(`${now} propose ${id} x${count}`);
    }
    cluster.process(id);
  };

  const run = (event: Event) => {
    switch (event.kind) {
      case 'tick':
        queue.push(now + TICK_MS, event);
        if (!down.has(event.id)) cluster.tick(event.id);
        return;
      case 'deliver': {
        const m = event.envelope.message;
        if (options.trace) log(`${now} ${m.from}>${m.to} ${m.type} t${m.term}`);
        cluster.deliver(event.envelope);
        return;
      }
      case 'sync':
        if (event.incarnation !== incarnation.get(event.id)) return;
        syncScheduled.set(event.id, false);
        if (options.trace) log(`${now} sync ${event.id}`);
        {
          // half the time the group commit covers only the older writes; the rest wait for the next group
          const pending = cluster.node(event.id).disk.pending.length;
          cluster.persist(event.id, random.int(2) === 0 ? pending : 1 + random.int(Math.max(1, pending)));
        }
        return;
      case 'restart':
        restart(event.id);
        return;
      case 'chaos':
        if (!calm) {
          chaos();
          queue.push(now + 200 + random.int(1500), event);
        }
        return;
      case 'client':
        if (!calm) {
          client();
          queue.push(now + 10 + random.int(60), event);
        }
        return;
      case 'snapshotStatus': {
        const core = cluster.node(event.from).core;
        if (core) {
          core.reportSnapshot(event.to, event.ok);
          cluster.process(event.from);
        }
        return;
      }
      case 'compact':
        if (!down.has(event.id)) cluster.compact(event.id, random.int(3) === 0 ? 0 : random.int(20));
        queue.push(now + 1000 + random.int(2000), event);
        return;
    }
  };

  const step = (until: number): boolean => {
    const next = queue.pop();
    if (!next || next.at > until) {
      if (next) queue.push(next.at, next.event);
      return false;
    }
    now = next.at;
    events++;
    if (events > eventsMax) failWith(`more than ${eventsMax} events: livelock`);
    try {
      run(next.event);
      pump();
      cluster.checker.afterStep(cluster.nodes.values());
      checkReads();
      if (events % 500 === 0) logsMatchNaive([...cluster.nodes.values()]);
    } catch (error) {
      failWith(`${(error as Error).message} at ${now} ms, event ${events} (${next.event.kind})`, error);
    }
    return true;
  };

  // ---- phase 1: chaos ----
  while (step(chaosMs)) {
    // keep going
  }

  // ---- phase 2: calm ----
  calm = true;
  blocked.clear();
  const calmStart = now;
  log(`${now} calm`);
  for (const id of [...down]) restart(id);
  pump();

  /** Members of the configuration the current leader has applied (removed members are left out). */
  const currentMembers = (): NodeId[] => {
    const leader = cluster.leader();
    if (!leader) return ids;
    const conf = cluster.core(leader).confState();
    return [...conf.voters, ...conf.learners];
  };
  const agreedLeader = (): NodeId | undefined => {
    const leader = cluster.leader();
    if (!leader) return undefined;
    const core = cluster.core(leader);
    if (!core.confState().voters.includes(leader)) return undefined; // about to step down
    for (const id of currentMembers()) {
      const member = cluster.node(id).core;
      if (!member || member.lead !== leader || member.term !== core.term) return undefined;
    }
    return leader;
  };

  const electionDeadline = calmStart + electionBoundTicks * TICK_MS;
  let leader = agreedLeader();
  while (!leader) {
    if (!step(electionDeadline)) failWith(`no leader within ${electionBoundTicks} ticks after faults stopped`);
    leader = agreedLeader();
  }
  const electionTicks = Math.ceil((now - calmStart) / TICK_MS);

  // Every proposal made from now on must commit within a bound. The client behaves like a real one: a refused
  // batch is sent again at once, a batch not committed within clientRetryMs is sent again (accepted is not
  // committed: an election can still overwrite an uncommitted entry).
  const proposeStart = now;
  interface CalmBatch {
    payloads: Uint8Array[];
    numbers: number[];
    token: number;
    sentAt: number;
    committed: boolean;
  }
  const calmBatches: CalmBatch[] = [];
  const send = (b: CalmBatch, via: NodeId) => {
    b.token = nextToken++;
    b.sentAt = now;
    cluster.core(via).propose(b.token, b.payloads);
    cluster.process(via);
  };
  for (let k = 0; k < 5; k++) {
    const payloads = [payload(nextPayload++), payload(nextPayload++)];
    const b: CalmBatch = { payloads, numbers: payloads.map((p) => payloadNumber(p)!), token: 0, sentAt: now, committed: false };
    calmBatches.push(b);
    send(b, ids[random.int(ids.length)]!);
  }
  pump();
  const commitDeadline = proposeStart + commitBoundTicks * TICK_MS;
  const refusedCursor = new Map<NodeId, number>();
  const committedPayloads = new Set<number>();
  let committedScan = 1;
  const allCommitted = (): boolean => {
    const committed = cluster.checker.committed;
    for (; committedScan < committed.length; committedScan++) {
      const c = committed[committedScan];
      const n = c ? payloadNumber(c.data) : undefined;
      if (n !== undefined) committedPayloads.add(n);
    }
    const refused = new Set<number>();
    for (const [id, node] of cluster.nodes) {
      let cursor = refusedCursor.get(id) ?? 0;
      for (; cursor < node.proposals.length; cursor++) {
        const o = node.proposals[cursor]!;
        if (!o.accepted) refused.add(o.token);
      }
      refusedCursor.set(id, cursor);
    }
    let done = true;
    for (const b of calmBatches) {
      if (b.committed) continue;
      if (b.numbers.every((n) => committedPayloads.has(n))) {
        b.committed = true;
        continue;
      }
      done = false;
      if (refused.has(b.token) || now - b.sentAt >= clientRetryMs) {
        const leader = cluster.leader();
        send(b, leader ?? ids[random.int(ids.length)]!);
      }
    }
    return done;
  };
  while (!allCommitted()) {
    if (!step(commitDeadline)) {
      const missing = calmBatches.filter((b) => !b.committed).flatMap((b) => b.numbers);
      failWith(`proposals made after the faults stopped were not all committed within ${commitBoundTicks} ticks (missing ${missing.join(',')})`);
    }
    pump();
  }
  const commitTicks = Math.ceil((now - proposeStart) / TICK_MS);
  const catchUpDeadline = proposeStart + catchUpBoundTicks * TICK_MS;
  const target = cluster.checker.committed.length - 1;
  const allApplied = () => currentMembers().every((id) => cluster.node(id).sm.applied >= target);
  while (!allApplied()) {
    if (!step(catchUpDeadline)) failWith(`not every member applied the calm proposals within ${catchUpBoundTicks} ticks`);
  }
  try {
    logsMatchNaive([...cluster.nodes.values()]);
  } catch (error) {
    failWith((error as Error).message, error);
  }

  return {
    seed,
    members,
    events,
    messages: cluster.messagesSent,
    crashes,
    partitions,
    snapshotsSent,
    confChanges,
    leaderTerms: cluster.checker.leaders().size,
    committed: cluster.checker.committed.length - 1,
    reads,
    electionTicks,
    commitTicks,
    options: optionsLine,
    ...(options.trace ? { trace } : {}),
  };
}
