// The replicated part of leases: which leases exist, their granted TTL, the remaining TTL from the newest checkpoint,
// and which keys are attached. Every member applies the same grants, revokes, checkpoints and puts in the same order,
// so every member agrees on this table; time (expiry, keep-alive) belongs to the lease actor, which turns an expiry
// into a revoke proposal.
import { AssertionError } from '../../runtime/assert.js';
import type { KeyEntry } from './key-entry.js';

export interface Lease {
  readonly id: bigint;
  /** TTL in seconds as granted (after raising to the minimum). */
  readonly ttlSeconds: number;
  /** Remaining time in ms from the newest checkpoint; 0 when never checkpointed. */
  remainingMs: number;
  readonly keys: Set<KeyEntry>;
}

export class LeaseTable {
  private readonly leases = new Map<bigint, Lease>();

  get size(): number {
    return this.leases.size;
  }

  get(id: bigint): Lease | undefined {
    return this.leases.get(id);
  }

  has(id: bigint): boolean {
    return this.leases.has(id);
  }

  grant(id: bigint, ttlSeconds: number, remainingMs = 0): Lease {
    if (this.leases.has(id)) throw new AssertionError(`lease ${id} granted twice`);
    const lease: Lease = { id, ttlSeconds, remainingMs, keys: new Set() };
    this.leases.set(id, lease);
    return lease;
  }

  /** Removes the lease; returns its keys sorted by key (etcd deletes them in this order, so every member agrees). */
  remove(id: bigint): KeyEntry[] {
    const lease = this.leases.get(id);
    if (!lease) throw new AssertionError(`lease ${id} removed but unknown`);
    this.leases.delete(id);
    return [...lease.keys].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  attach(id: bigint, entry: KeyEntry): void {
    const lease = this.leases.get(id);
    if (!lease) throw new AssertionError(`attach to unknown lease ${id}`);
    lease.keys.add(entry);
  }

  detach(id: bigint, entry: KeyEntry): void {
    // the lease may be gone already (revoke removes it before deleting its keys)
    this.leases.get(id)?.keys.delete(entry);
  }

  /** Every lease, in ascending ID order (a deterministic order for images and listings). */
  list(): Lease[] {
    return [...this.leases.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  clear(): void {
    this.leases.clear();
  }
}
