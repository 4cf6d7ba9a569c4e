// A fair, first-come distributed lock, laid out as etcd's: the lock "name" is a key prefix; each contender writes
// name/<lease ID in hex, no leading zeros> attached to its session's lease; the holder is the key with the lowest
// create revision; the others wait, each for the deletion of the one key created just before its own (see wait.ts).
// Unlock deletes the key; a holder that dies loses the lock when its lease expires.
//
// Worked example, lock "job", three sessions with leases a, b, c:
//   A: put job/a at rev 10 -> lowest create revision -> A holds the lock.
//   B: put job/b at rev 11 -> waits for job/a's DELETE.   C: put job/c at rev 12 -> waits for job/b's.
//   A unlocks (delete at rev 13) -> only B's watch sees an event; B finds nothing older than 11 left -> B holds it.
import type { ResponseHeader } from '../../actors/api/types.js';
import type { Client } from '../client.js';
import { SessionExpiredError } from '../errors.js';
import { leaseIdKeyHex } from '../keys.js';
import { cmp, op } from '../txn.js';
import type { Session } from './session.js';
import { waitDeletes, type WaitStats } from './wait.js';

export class Mutex {
  readonly prefix: string;
  /** name/<lease ID in hex, no leading zeros> (etcd writes it with %x) */
  readonly key: string;
  /** Create revision of my key once I contend; 0 before. */
  myRevision = 0;
  /** Header of the answer that made me the holder. */
  header: ResponseHeader | undefined;
  readonly stats: WaitStats = { watchEvents: 0, waits: 0 };
  private readonly client: Client;

  constructor(private readonly session: Session, name: string) {
    this.client = session.client;
    this.prefix = name + '/';
    this.key = this.prefix + leaseIdKeyHex(session.leaseId);
  }

  /** Takes the lock, waiting as long as it takes (or until `signal` aborts, which withdraws my key). */
  async lock(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.session.check();
    const holder = await this.contend();
    if (holder) return;
    try {
      await waitDeletes(this.client, this.prefix, this.myRevision - 1, this.stats, options.signal);
      // My key must still be there: if my lease expired while I waited, the lock is not mine.
      const mine = await this.client.kv.get(this.key);
      if (mine.kvs.length === 0) throw new SessionExpiredError(this.session.leaseId);
      this.header = mine.header;
    } catch (error) {
      await this.withdraw();
      throw error;
    }
  }

  /** Takes the lock only if nobody holds it; returns whether I hold it now. */
  async tryLock(): Promise<boolean> {
    this.session.check();
    if (await this.contend()) return true;
    await this.withdraw();
    return false;
  }

  /** Releases the lock (or withdraws from the queue). */
  async unlock(): Promise<void> {
    await this.client.kv.delete(this.key);
    this.myRevision = 0;
  }

  /** A compare that holds while I hold the lock, for transactions guarded by it. */
  isOwner() {
    return cmp.createRevision(this.key, '=', this.myRevision);
  }

  /** Puts my key (or finds it) and tells whether I am the holder. */
  private async contend(): Promise<boolean> {
    const firstCreated = op.get(this.prefix, { prefix: true, sort: { target: 'CREATE', order: 'ASCEND' }, limit: 1 });
    const r = await this.client.kv
      .txn()
      .if(cmp.createRevision(this.key, '=', 0))
      .success(op.put(this.key, '', { lease: this.session.leaseId }), firstCreated)
      .failure(op.get(this.key), firstCreated)
      .commit();
    if (r.succeeded) {
      this.myRevision = r.header.revision;
    } else {
      const mine = r.responses[0];
      const kv = mine && 'responseRange' in mine ? mine.responseRange.kvs[0] : undefined;
      this.myRevision = kv ? kv.createRevision : r.header.revision;
    }
    const first = r.responses[1];
    const owner = first && 'responseRange' in first ? first.responseRange.kvs[0] : undefined;
    if (!owner || owner.createRevision === this.myRevision) {
      this.header = r.header;
      return true;
    }
    return false;
  }

  private async withdraw(): Promise<void> {
    try {
      await this.client.kv.delete(this.key);
    } catch {
      // Unreachable: the key goes with the session's lease.
    }
    this.myRevision = 0;
  }
}
