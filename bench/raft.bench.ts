// Raft core throughput: three cores in one thread with no I/O, proposals of 256-byte entries in batches, messages
// delivered in rounds. Each round every member's Ready is taken and its writes are reported durable one round later
// (as an asynchronous WAL would answer), so the numbers include the held-back acknowledgements. Members compact their
// logs every 100,000 entries as a real member would. Up to four proposals are uncommitted at once; the leader packs
// whatever is pending into one append per follower per round. Reports committed
// entries per second and messages per committed entry. Target: at least 500,000 entries/s.
import { RaftNode } from '../actors/raft/core/raft.js';
import type { RaftMessage } from '../actors/raft/core/messages.js';
import { report, type BenchResult } from './report.js';

const ids = ['0000000000000001', '0000000000000002', '0000000000000003'];
const ENTRY_BYTES = 256;
/** etcd 3.4's default --snapshot-count, and the entries a member keeps below a snapshot. */
const SNAPSHOT_ENTRIES = 100_000;
const KEEP_ENTRIES = 5_000;

interface Member {
  node: RaftNode;
  /** Ready ids handed out this round, reported persisted next round. */
  toPersist: number;
  inbox: RaftMessage[];
}

class BenchCluster {
  readonly members = new Map<string, Member>();
  messages = 0;

  constructor() {
    let seed = 1;
    for (const id of ids) this.members.set(id, { node: RaftNode.bootstrap({ id, seed: seed++ }, ids), toPersist: 0, inbox: [] });
  }

  /** One round: report last round's writes durable, deliver, and take every Ready. */
  round(): void {
    for (const m of this.members.values()) {
      if (m.toPersist > 0) {
        m.node.persisted(m.toPersist);
        m.toPersist = 0;
      }
      const inbox = m.inbox;
      m.inbox = [];
      for (const msg of inbox) m.node.step(msg);
    }
    for (const m of this.members.values()) {
      const node = m.node;
      while (node.hasReady()) {
        const rd = node.ready();
        if (rd.mustSync || rd.entries.length > 0 || rd.hardState) m.toPersist = rd.id;
        for (const msg of rd.messages) {
          this.members.get(msg.to)!.inbox.push(msg);
          this.messages++;
        }
        const n = rd.committedEntries.length;
        if (n > 0) {
          const applied = rd.committedEntries[n - 1]!.index;
          node.applied(applied);
          // as a member does: a snapshot every SNAPSHOT_ENTRIES entries, keeping a catch-up margin of the log
          if (applied - node.latestSnapshot().index >= SNAPSHOT_ENTRIES) node.compact(applied, KEEP_ENTRIES);
        }
      }
    }
  }

  leader(): RaftNode | undefined {
    for (const m of this.members.values()) if (m.node.role === 'leader') return m.node;
    return undefined;
  }

  elect(): RaftNode {
    for (let i = 0; i < 1000; i++) {
      const leader = this.leader();
      if (leader && leader.log.committed === leader.log.lastIndex()) return leader;
      this.members.get(ids[0]!)!.node.tick();
      this.round();
    }
    throw new Error('no leader');
  }
}

/** Commits `total` entries proposed in batches of `batch`, keeping `window` batches in flight. */
function run(total: number, batch: number, window: number): { entriesPerSecond: number; entriesPerCpuSecond: number; messagesPerEntry: number; rounds: number } {
  const cluster = new BenchCluster();
  const leader = cluster.elect();
  const payloads: Uint8Array[] = Array.from({ length: batch }, () => new Uint8Array(ENTRY_BYTES).fill(7));
  const start = leader.log.committed;
  const target = start + total;
  const messagesBefore = cluster.messages;
  let proposed = 0;
  let token = 1;
  let rounds = 0;
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  while (leader.log.committed < target) {
    while (proposed < total && leader.log.lastIndex() - leader.log.committed < window * batch) {
      leader.propose(token++, payloads);
      proposed += batch;
    }
    cluster.round();
    rounds++;
    if (rounds > total * 10) throw new Error('bench did not converge');
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const committed = leader.log.committed - start;
  return {
    entriesPerSecond: committed / seconds,
    entriesPerCpuSecond: committed / cpuSeconds,
    messagesPerEntry: (cluster.messages - messagesBefore) / committed,
    rounds,
  };
}

export async function raftBenchmarks(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  run(200_000, 1000, 4); // warm-up
  for (const batch of [100, 1000, 10_000]) {
    const total = batch === 100 ? 500_000 : 2_000_000;
    const r = run(total, batch, 4);
    results.push({
      name: `raft core: 3 members in-process, ${ENTRY_BYTES}-byte entries, batches of ${batch}`,
      value: r.entriesPerSecond,
      unit: 'entries/s',
      note: `${r.messagesPerEntry.toFixed(4)} messages per committed entry; ${Math.round(r.entriesPerCpuSecond).toLocaleString('en-US')} entries per CPU-second`,
    });
  }
  const one = run(50_000, 1, 4);
  results.push({
    name: `raft core: 3 members in-process, one entry per proposal`,
    value: one.entriesPerSecond,
    unit: 'entries/s',
    note: `${one.messagesPerEntry.toFixed(2)} messages per committed entry; ${Math.round(one.entriesPerCpuSecond).toLocaleString('en-US')} entries per CPU-second`,
  });
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  report('raft', await raftBenchmarks());
}
