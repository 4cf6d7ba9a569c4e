// A session is a lease kept alive for as long as its holder lives. Locks and election candidacies are keys attached
// to the session's lease, so when the holder dies (or is cut off for longer than the TTL) the lease expires and its
// keys vanish: nobody waits forever on a dead holder.
import type { Client } from '../client.js';
import { SessionExpiredError, type ClientError } from '../errors.js';
import type { LeaseKeepAlive } from '../lease.js';
import { clientLimits } from '../limits.js';

export interface SessionOptions {
  /** Lease TTL in seconds (default 60, as etcd's). */
  ttlSeconds?: number;
  /** Use an existing lease instead of granting one. */
  leaseId?: bigint;
}

export class Session {
  /** Resolves when the session ends: undefined after close()/orphan(), otherwise why the lease was lost. */
  readonly done: Promise<ClientError | undefined>;
  private closed = false;

  private constructor(
    readonly client: Client,
    readonly leaseId: bigint,
    readonly ttlSeconds: number,
    private readonly keepAlive: LeaseKeepAlive,
  ) {
    this.done = keepAlive.ended;
  }

  static async create(client: Client, options: SessionOptions = {}): Promise<Session> {
    const ttlSeconds = options.ttlSeconds ?? clientLimits.sessionTtlSecondsDefault;
    let leaseId = options.leaseId;
    if (leaseId === undefined) leaseId = (await client.lease.grant(ttlSeconds)).ID;
    return new Session(client, leaseId, ttlSeconds, client.lease.keepAlive(leaseId));
  }

  /** True once the lease is known lost or the session was closed. */
  get expired(): boolean {
    return this.keepAlive.done;
  }

  /** Throws SessionExpiredError when the lease is gone. */
  check(): void {
    if (this.keepAlive.done && !this.closed) throw new SessionExpiredError(this.leaseId);
  }

  /** Stops renewing without revoking: the lease (and its keys) live on until the TTL runs out. */
  orphan(): void {
    this.closed = true;
    this.keepAlive.close();
  }

  /** Stops renewing and revokes the lease, deleting every key attached to it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.orphan();
    try {
      await this.client.lease.revoke(this.leaseId, { timeoutMs: this.ttlSeconds * 1000 });
    } catch {
      // Already gone, or unreachable: the lease then expires on its own within its TTL.
    }
  }
}
