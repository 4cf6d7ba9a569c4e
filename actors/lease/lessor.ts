// The lessor is the time-keeping half of leases. Which leases exist, their granted TTLs and attached keys are
// replicated state (the MVCC store applies grant/revoke/checkpoint entries on every member); how long each lease has
// left is local, measured on this member's own monotonic clock. Only the leader expires leases: it proposes a revoke
// through raft for each lease whose time is up, at a bounded rate.
//
// Remaining time survives a leader change without handing every lease a fresh full TTL:
//   - a keep-alive's renewal goes into the log as a checkpoint of the renewed remaining time before the keep-alive
//     is answered (the lease actor batches each turn's renewals into one proposal, not rate-limited), so what a holder
//     was told survives any leader change; renewals whose checkpoint failed are checkpointed later by the periodic,
//     rate-limited checkpoint of leases renewed since their last checkpoint (dueCheckpoints);
//   - every member notes, on its own clock, when it learned each lease's remaining time (at grant or checkpoint);
//   - a new leader sets expiry = now + (known remaining - time since it was learned) + one election timeout of grace,
//     so nothing is extended by more than an election timeout beyond what the last checkpoint promised, and a holder
//     that kept renewing has that grace to find the new leader;
//   - a new leader is promoted when it wins, before it has applied the old leader's last committed entries: a
//     checkpoint it applies after promotion for a lease it has not renewed itself resumes that lease the same way,
//     dated at the promotion (so such a lease may get the election's length on top of the one election timeout).
//
// Worked example (TTL 10 s, election timeout 1 s): grant applied at t=0 on all members; holder renews at t=3 and t=6
// on leader A, which checkpoints "10 s left" at once and answers when the checkpoint applied, at t=3.01 and t=6.01
// (B applies it by t=6.1). A crashes at t=7; B wins at t=8.5. B learned "10 s" at t=6.1, so it sets expiry
// = 8.5 + (10 - 2.4) + 1 = 17.1 (A would have expired it at 16). The holder renews with B at about t=9 and the lease
// lives on; a holder that died at t=6.5 loses it at 17.1, not at 18.5 + 10.
import { assert } from '../../runtime/assert.js';

export interface LessorOptions {
  /** Election timeout in ms: the grace a new leader grants, and the basis of the minimum TTL. */
  electionTimeoutMs: number;
  /** Revokes proposed at most per second (etcd: 1,000). */
  expiryRatePerSecond: number;
  /** Lease checkpoints proposed at most per second. */
  checkpointRatePerSecond: number;
  /** How long to wait for a proposed revoke to be applied before proposing it again. */
  revokeRetryMs: number;
}

/** etcd's MaxLeaseTTL: 9,000,000,000 seconds. */
export const leaseTtlMaxSeconds = 9_000_000_000;

export function minimumTtlSeconds(electionTimeoutMs: number): number {
  return Math.ceil((3 * electionTimeoutMs) / 2 / 1000);
}

interface LeaseTime {
  ttlSeconds: number;
  /** Remaining ms as last learned through the log (grant or checkpoint). */
  knownRemainingMs: number;
  /** When (local monotonic ms) knownRemainingMs was learned. */
  knownAtMs: number;
  /** Leader only: absolute expiry on the local clock. */
  expiryMs: number;
  /** Leader only: renewed since the last checkpoint was proposed. */
  dirty: boolean;
  /** Leader only: a revoke was proposed; do not propose again before this time. */
  revokeRetryAtMs: number;
  /** Leader only: renewed by this member since it was promoted (its expiry no longer comes from the log). */
  renewedAsLeader: boolean;
}

interface HeapNode {
  expiryMs: number;
  id: bigint;
}

export class Lessor {
  private readonly leases = new Map<bigint, LeaseTime>();
  /** Leader only: min-heap of expiries with lazy deletion (a node is stale if its expiry no longer matches). */
  private heap: HeapNode[] = [];
  private dirty = new Set<bigint>();
  private leader = false;
  /** When this member last became leader (local monotonic ms). */
  private promotedAtMs = 0;

  constructor(readonly options: LessorOptions) {
    assert(options.electionTimeoutMs > 0, 'election timeout must be positive');
    assert(options.expiryRatePerSecond > 0 && options.checkpointRatePerSecond > 0, 'rates must be positive');
  }

  get isLeader(): boolean {
    return this.leader;
  }

  get size(): number {
    return this.leases.size;
  }

  has(id: bigint): boolean {
    return this.leases.has(id);
  }

  // ---- replicated facts, applied in log order on every member ----

  granted(id: bigint, ttlSeconds: number, nowMs: number): void {
    const lease: LeaseTime = {
      ttlSeconds,
      knownRemainingMs: ttlSeconds * 1000,
      knownAtMs: nowMs,
      expiryMs: nowMs + ttlSeconds * 1000,
      dirty: false,
      revokeRetryAtMs: 0,
      renewedAsLeader: false,
    };
    this.leases.set(id, lease);
    if (this.leader) this.push(id, lease.expiryMs);
  }

  revoked(id: bigint): void {
    this.leases.delete(id);
    this.dirty.delete(id);
  }

  checkpointed(id: bigint, remainingMs: number, nowMs: number): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    lease.knownRemainingMs = remainingMs;
    lease.knownAtMs = nowMs;
    // A new leader is promoted when it wins the election, before it has applied what the old leader committed last:
    // a checkpoint applied now may be newer than what promote() resumed from. Resume from it as promote() would have
    // had it applied in time (never shortening). It was proposed before this member's term began, so it is dated
    // at the promotion rather than now: that extends it by the election's length plus the election timeout at most.
    // Leases renewed here keep their own expiry.
    if (this.leader && !lease.renewedAsLeader) {
      const expiryMs = Math.min(nowMs, this.promotedAtMs) + remainingMs + this.options.electionTimeoutMs;
      if (expiryMs > lease.expiryMs) {
        lease.expiryMs = expiryMs;
        lease.revokeRetryAtMs = 0;
        this.push(id, expiryMs);
      }
    }
  }

  // ---- leadership ----

  /** This member became leader: resume every lease from what the log told it, plus one election timeout. */
  promote(nowMs: number): void {
    this.leader = true;
    this.promotedAtMs = nowMs;
    this.heap = [];
    this.dirty.clear();
    for (const [id, lease] of this.leases) {
      const left = Math.max(0, lease.knownRemainingMs - (nowMs - lease.knownAtMs));
      lease.expiryMs = nowMs + left + this.options.electionTimeoutMs;
      lease.dirty = false;
      lease.revokeRetryAtMs = 0;
      lease.renewedAsLeader = false;
      this.heap.push({ expiryMs: lease.expiryMs, id });
    }
    this.heapify();
  }

  demote(): void {
    this.leader = false;
    this.heap = [];
    this.dirty.clear();
  }

  // ---- leader operations ----

  /**
   * Renews a lease; returns its TTL in seconds, or 0 when it does not exist (etcd answers a keep-alive so).
   * `checkpoint`: 'now' when the caller proposes the renewed remaining time itself (a keep-alive, answered only once
   * that checkpoint applied), 'tick' to leave it to the periodic checkpoint (dueCheckpoints).
   */
  renew(id: bigint, nowMs: number, checkpoint: 'now' | 'tick'): number {
    assert(this.leader, 'only the leader renews leases');
    const lease = this.leases.get(id);
    if (!lease) return 0;
    lease.expiryMs = nowMs + lease.ttlSeconds * 1000;
    lease.revokeRetryAtMs = 0;
    lease.renewedAsLeader = true;
    this.push(id, lease.expiryMs);
    if (checkpoint === 'now') {
      // the caller's checkpoint carries this renewal, newer than anything the periodic one would still send
      if (lease.dirty) {
        lease.dirty = false;
        this.dirty.delete(id);
      }
    } else if (!lease.dirty) {
      lease.dirty = true;
      this.dirty.add(id);
    }
    return lease.ttlSeconds;
  }

  /** A renewal whose own checkpoint failed: leave it to the periodic checkpoint (no-op off the leader). */
  checkpointLater(id: bigint): void {
    const lease = this.leases.get(id);
    if (!this.leader || !lease || lease.dirty) return;
    lease.dirty = true;
    this.dirty.add(id);
  }

  /** Remaining ms on this member's clock: exact on the leader, an estimate from the log elsewhere. */
  remainingMs(id: bigint, nowMs: number): number | undefined {
    const lease = this.leases.get(id);
    if (!lease) return undefined;
    if (this.leader) return Math.max(0, lease.expiryMs - nowMs);
    return Math.max(0, lease.knownRemainingMs - (nowMs - lease.knownAtMs));
  }

  ttlSeconds(id: bigint): number | undefined {
    return this.leases.get(id)?.ttlSeconds;
  }

  /** Leases whose time is up, at most `max`, each not proposed again before revokeRetryMs has passed. */
  dueExpirations(nowMs: number, max: number): bigint[] {
    if (!this.leader) return [];
    const due: bigint[] = [];
    const retry: HeapNode[] = [];
    // bound the work of one call: revokes waiting to be applied stay in the heap and are skipped, not re-proposed
    let scanBudget = 4 * max + 64;
    while (due.length < max && scanBudget-- > 0 && this.heap.length > 0 && this.heap[0]!.expiryMs <= nowMs) {
      const node = this.pop();
      const lease = this.leases.get(node.id);
      if (!lease || lease.expiryMs !== node.expiryMs) continue; // stale node
      if (lease.revokeRetryAtMs > nowMs) {
        retry.push(node);
        continue;
      }
      lease.revokeRetryAtMs = nowMs + this.options.revokeRetryMs;
      due.push(node.id);
      retry.push(node); // stays due until the revoke is applied
    }
    for (const node of retry) this.push(node.id, node.expiryMs, false);
    if (this.heap.length > 4 * this.leases.size + 1024) this.rebuildHeap();
    return due;
  }

  /** Remaining times of leases renewed since their last checkpoint, at most `max`. */
  dueCheckpoints(nowMs: number, max: number): Array<{ ID: bigint; remainingMs: number }> {
    if (!this.leader) return [];
    const out: Array<{ ID: bigint; remainingMs: number }> = [];
    for (const id of this.dirty) {
      if (out.length >= max) break;
      this.dirty.delete(id);
      const lease = this.leases.get(id);
      if (!lease) continue;
      lease.dirty = false;
      out.push({ ID: id, remainingMs: Math.max(0, lease.expiryMs - nowMs) });
    }
    return out;
  }

  /** Every lease ID, for listing. */
  ids(): bigint[] {
    return [...this.leases.keys()];
  }

  // ---- heap ----

  private push(id: bigint, expiryMs: number, compact = true): void {
    const heap = this.heap;
    heap.push({ expiryMs, id });
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.expiryMs <= heap[i]!.expiryMs) break;
      [heap[parent], heap[i]] = [heap[i]!, heap[parent]!];
      i = parent;
    }
    if (compact && heap.length > 4 * this.leases.size + 1024) this.rebuildHeap();
  }

  private pop(): HeapNode {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private siftDown(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && heap[l]!.expiryMs < heap[m]!.expiryMs) m = l;
      if (r < heap.length && heap[r]!.expiryMs < heap[m]!.expiryMs) m = r;
      if (m === i) return;
      [heap[m], heap[i]] = [heap[i]!, heap[m]!];
      i = m;
    }
  }

  private heapify(): void {
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Drops stale nodes: one node per live lease. */
  private rebuildHeap(): void {
    this.heap = [];
    for (const [id, lease] of this.leases) this.heap.push({ expiryMs: lease.expiryMs, id });
    this.heapify();
  }
}
