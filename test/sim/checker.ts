// Safety properties of Raft, checked from the outside while a cluster runs (Raft paper, figure 3, plus the
// durability rules of our asynchronous-persistence interface):
//
// - Election safety: at most one leader per term, ever.
// - Vote safety: a member grants at most one vote per term, even across crashes.
// - Leader append-only: a leader only appends to its log, never overwrites or deletes.
// - Log matching: if two logs hold an entry with the same index and term, the logs are identical up to it. Checked
//   incrementally: every entry that enters any log passes through a Ready, and the registry remembers for each
//   (index, term) its data and the term of the entry before it; any log holding that (index, term) must agree on
//   both. By induction that is the whole property. A naive pairwise comparison runs too (logsMatchNaive) as a
//   cross-check of the incremental one.
// - Leader completeness: a new leader holds every entry committed before its term.
// - State machine safety: every member applies the same entry at each index, in order; a committed entry is never
//   lost or changed (checked against every member's commit index after every step).
// - Durability: an append acknowledgement or a vote grant never leaves a member before what it claims is durable.
import type { Entry, HardState, NodeId, SnapshotMetadata } from '../../actors/raft/core/types.js';
import type { RaftMessage } from '../../actors/raft/core/messages.js';
import type { RaftNode } from '../../actors/raft/core/raft.js';
import type { Ready } from '../../actors/raft/core/ready.js';

export class SafetyViolation extends Error {
  override name = 'SafetyViolation';
}

function fail(message: string): never {
  throw new SafetyViolation(message);
}

/** What a member's disk holds durably (the checker reads it to verify durability claims). */
export interface DurableView {
  hardState: HardState;
  snapshot: SnapshotMetadata | undefined;
  /** Term of the durable entry at `index`, if any. */
  termAt(index: number): number | undefined;
}

interface CommittedEntry {
  term: number;
  type: number;
  data: Uint8Array;
  /**
   * Lowest term of any member seen holding this index as committed: the term of the leader that committed it (no
   * member learns of a commit before that leader, and terms only grow).
   */
  commitTerm: number;
}

const TERM_LIMIT = 2 ** 21;

function key(index: number, term: number): number {
  if (term >= TERM_LIMIT) fail(`term ${term} too large for the checker`);
  return index * TERM_LIMIT + term;
}

export function sameData(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Checker {
  private readonly leaderOfTerm = new Map<number, NodeId>();
  private readonly voteOfTerm = new Map<string, NodeId>();
  private readonly registry = new Map<number, { prevTerm: number; type: number; data: Uint8Array }>();
  /** committed[i] for i >= 1: the entry committed at index i (once anyone committed it). */
  readonly committed: Array<CommittedEntry | undefined> = [undefined];
  /** Per member: commit index already checked against `committed`. */
  private readonly checkedCommit = new Map<NodeId, number>();
  /** Per member: applied index as seen through the Readies. */
  private readonly appliedIndex = new Map<NodeId, number>();
  /** Per member while leader: the term and the last index it appended in that term. */
  private readonly leaderLog = new Map<NodeId, { term: number; lastIndex: number }>();
  maxCommit = 0;
  checks = 0;

  /** Every Ready a member hands out, before the shell acts on it. */
  onReady(id: NodeId, node: RaftNode, rd: Ready): void {
    this.checks++;
    if (rd.softState?.role === 'leader') this.onLeader(id, node, rd);
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      const prev = node.log.term(first - 1);
      if (prev === undefined) fail(`${id}: Ready entries start at ${first} but the log has no term at ${first - 1}`);
      let prevTerm = prev;
      for (let k = 0; k < rd.entries.length; k++) {
        const e = rd.entries[k]!;
        if (e.index !== first + k) fail(`${id}: Ready entries not contiguous at ${e.index}`);
        this.register(id, e, prevTerm);
        prevTerm = e.term;
      }
      const lead = this.leaderLog.get(id);
      if (node.role === 'leader' && lead && lead.term === node.term) {
        if (first !== lead.lastIndex + 1) fail(`${id}: leader of term ${node.term} rewrote its log at ${first} (last ${lead.lastIndex})`);
        lead.lastIndex = rd.entries[rd.entries.length - 1]!.index;
      }
    }
    if (rd.snapshot) {
      const s = rd.snapshot;
      this.appliedIndex.set(id, s.index);
      const c = this.committed[s.index];
      if (c && c.term !== s.term) fail(`${id}: installed snapshot (${s.index}, ${s.term}) but index ${s.index} committed in term ${c.term}`);
    }
    for (const e of rd.committedEntries) this.onApply(id, e, node.term);
  }

  private onLeader(id: NodeId, node: RaftNode, rd: Ready): void {
    const term = node.term;
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== id) fail(`two leaders in term ${term}: ${other} and ${id}`);
    this.leaderOfTerm.set(term, id);
    // Leader completeness: every entry committed in an earlier term is in the new leader's log. (A leader of an old
    // term can still win late, when its votes were delayed past a newer leader's commits; those it need not hold.)
    const log = node.log;
    const before = rd.entries.length > 0 ? rd.entries[0]!.index - 1 : log.lastIndex();
    this.leaderLog.set(id, { term, lastIndex: before });
    for (let i = Math.max(1, log.snapshotIndex); i <= this.maxCommit; i++) {
      const c = this.committed[i];
      if (!c || c.commitTerm >= term) continue;
      if (i > log.lastIndex()) fail(`leader ${id} of term ${term} ends at ${log.lastIndex()}, before index ${i} committed in term ${c.commitTerm}`);
      const t = log.term(i);
      if (t !== c.term) fail(`leader ${id} of term ${term} lacks committed entry ${i} (term ${c.term}, has ${t})`);
      const e = log.entry(i);
      if (e && !sameData(e.data, c.data)) fail(`leader ${id} of term ${term} has other data at committed index ${i}`);
    }
  }

  private register(id: NodeId, e: Entry, prevTerm: number): void {
    const k = key(e.index, e.term);
    const seen = this.registry.get(k);
    if (!seen) {
      this.registry.set(k, { prevTerm, type: e.type, data: e.data });
      return;
    }
    if (seen.prevTerm !== prevTerm) fail(`log matching: ${id} holds (${e.index}, ${e.term}) after term ${prevTerm}, another log after term ${seen.prevTerm}`);
    if (seen.type !== e.type || !sameData(seen.data, e.data)) fail(`log matching: ${id} holds different data at (${e.index}, ${e.term})`);
  }

  private onApply(id: NodeId, e: Entry, term: number): void {
    const applied = this.appliedIndex.get(id) ?? 0;
    if (e.index !== applied + 1) fail(`${id} applies ${e.index} after ${applied}`);
    this.appliedIndex.set(id, e.index);
    this.recordCommitted(id, e.index, e, term);
  }

  private recordCommitted(id: NodeId, index: number, e: Entry, term: number): void {
    const c = this.committed[index];
    if (c) {
      if (term < c.commitTerm) c.commitTerm = term;
      if (c.term !== e.term || c.type !== e.type || !sameData(c.data, e.data)) {
        fail(`state machine safety: ${id} has (${index}, term ${e.term}) committed, but (${index}, term ${c.term}) was committed before`);
      }
      return;
    }
    if (index !== this.committed.length) {
      // a gap: the entries before were compacted everywhere we looked; record sparsely
      while (this.committed.length < index) this.committed.push(undefined);
    }
    this.committed[index] = { term: e.term, type: e.type, data: e.data, commitTerm: term };
  }

  /** A member restarted (its applied index restarts from its snapshot). */
  onRestart(id: NodeId, snapshotIndex: number): void {
    this.appliedIndex.set(id, snapshotIndex);
    this.checkedCommit.set(id, snapshotIndex);
    this.leaderLog.delete(id);
  }

  /** A message leaves a member: it must not claim anything that is not durable there. */
  onSend(id: NodeId, m: RaftMessage, node: RaftNode, durable: DurableView): void {
    if (m.type === 'voteResp' && !m.reject) {
      const k = `${id}@${m.term}`;
      const previous = this.voteOfTerm.get(k);
      if (previous !== undefined && previous !== m.to) fail(`${id} granted votes to ${previous} and ${m.to} in term ${m.term}`);
      this.voteOfTerm.set(k, m.to);
      const hs = durable.hardState;
      // durable: the vote itself, or a later term (after which no vote in m.term can ever be cast again)
      if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) fail(`${id} granted a vote to ${m.to} in term ${m.term} before it was durable (durable term ${hs.term}, vote ${JSON.stringify(hs.vote)})`);
    }
    if (m.type === 'appResp' && !m.reject && m.index > 0) {
      const snap = durable.snapshot;
      if (snap && m.index <= snap.index) return; // covered by a durable snapshot
      // An ack from an older term may be released after a later leader cut those entries (the entries were durable
      // when written; the cut came with the later term). That is the same as a synchronous ack delayed in the
      // network: it speaks only for its own term, and the member has durably left that term.
      if (durable.hardState.term > m.term) return;
      const durableTerm = durable.termAt(m.index);
      if (durableTerm === undefined) fail(`${id} acknowledged index ${m.index} before it was durable`);
      const t = node.log.term(m.index);
      if (t !== undefined && durableTerm !== t) fail(`${id} acknowledged index ${m.index} (term ${t}) but its disk holds term ${durableTerm} there`);
    }
  }

  /** After every step: commit indexes and leaders of every live member. */
  afterStep(nodes: Iterable<{ id: NodeId; core: RaftNode | undefined }>): void {
    this.checks++;
    for (const { id, core } of nodes) {
      if (!core) continue;
      if (core.role === 'leader') {
        const other = this.leaderOfTerm.get(core.term);
        if (other !== undefined && other !== id) fail(`two leaders in term ${core.term}: ${other} and ${id}`);
        this.leaderOfTerm.set(core.term, id);
      }
      const log = core.log;
      let checked = this.checkedCommit.get(id) ?? 0;
      if (checked < log.snapshotIndex) checked = log.snapshotIndex;
      for (let i = checked + 1; i <= log.committed; i++) {
        const e = log.entry(i);
        if (!e) fail(`${id} has commit ${log.committed} but no entry ${i}`);
        this.recordCommitted(id, i, e, core.term);
      }
      this.checkedCommit.set(id, Math.max(checked, log.committed));
      if (log.committed > this.maxCommit) this.maxCommit = log.committed;
    }
  }

  leaders(): ReadonlyMap<number, NodeId> {
    return this.leaderOfTerm;
  }
}

/**
 * The naive statement of log matching: for every pair of logs, find the highest index where both hold the same term,
 * and compare every entry below it. Quadratic; run now and then as a cross-check of the incremental registry.
 */
export function logsMatchNaive(nodes: ReadonlyArray<{ id: NodeId; core: RaftNode | undefined }>): void {
  const live = nodes.filter((n) => n.core !== undefined) as Array<{ id: NodeId; core: RaftNode }>;
  for (let a = 0; a < live.length; a++) {
    for (let b = a + 1; b < live.length; b++) {
      const la = live[a]!.core.log;
      const lb = live[b]!.core.log;
      const lo = Math.max(la.snapshotIndex, lb.snapshotIndex) + 1;
      let common = 0;
      for (let i = Math.min(la.lastIndex(), lb.lastIndex()); i >= lo; i--) {
        if (la.term(i) === lb.term(i)) {
          common = i;
          break;
        }
      }
      for (let i = lo; i <= common; i++) {
        const ea = la.entry(i)!;
        const eb = lb.entry(i)!;
        if (ea.term !== eb.term || !sameData(ea.data, eb.data)) {
          fail(`log matching (naive): ${live[a]!.id} and ${live[b]!.id} agree at ${common} but differ at ${i}`);
        }
      }
    }
  }
}
