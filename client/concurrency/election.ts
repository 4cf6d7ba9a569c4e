// Leader election, laid out as etcd's: candidates write name/<lease-id-hex> = proposal on their session's lease; the
// leader is the candidate with the lowest create revision; a campaign waits like a lock waiter (wait.ts) until every
// earlier candidate is gone. Proclaim changes the leader's value and resign deletes its key, both only while my key
// still has the create revision I campaigned with, so a stale leader cannot overwrite its successor.
//
// Observe reports every leader in order. etcd's client re-reads the leader when the old one goes, and may miss a
// leader that came and went in between; here the next leader is read at the revision of the old leader's deletion
// (then followed from there), so each leader is seen, as long as that revision is not compacted.
import type { KeyValue, RangeResponse, ResponseHeader } from '../../actors/api/types.js';
import { EventType } from '../../actors/api/types.js';
import type { Client } from '../client.js';
import { CompactedError, ElectionNoLeaderError, ElectionNotLeaderError, RequestAbortedError } from '../errors.js';
import { leaseIdKeyHex, toBytes, type KeyInput } from '../keys.js';
import { cmp, op } from '../txn.js';
import type { Session } from './session.js';
import { waitDeletes, type WaitStats } from './wait.js';

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

export class Election {
  readonly prefix: string;
  /** My candidate key (prefix + lease hex); set by campaign. */
  key = '';
  /** Create revision of my candidate key; 0 when not campaigning. */
  revision = 0;
  header: ResponseHeader | undefined;
  readonly stats: WaitStats = { watchEvents: 0, waits: 0 };
  private readonly client: Client;

  /** A candidate needs a session; an observer (observe, leader) does not. */
  constructor(sessionOrClient: Session | Client, name: string) {
    if ('leaseId' in sessionOrClient) {
      this.session = sessionOrClient;
      this.client = sessionOrClient.client;
    } else {
      this.client = sessionOrClient;
    }
    this.prefix = name + '/';
  }

  private readonly session: Session | undefined;

  private requireSession(): Session {
    if (!this.session) throw new TypeError('campaigning needs an Election built with a Session');
    return this.session;
  }

  /** Becomes a candidate with `value` and waits until elected (or `signal` aborts, which resigns). */
  async campaign(value: KeyInput, options: { signal?: AbortSignal } = {}): Promise<void> {
    const session = this.requireSession();
    session.check();
    const key = this.prefix + leaseIdKeyHex(session.leaseId);
    const r = await this.client.kv
      .txn()
      .if(cmp.createRevision(key, '=', 0))
      .success(op.put(key, value, { lease: session.leaseId }))
      .failure(op.get(key))
      .commit();
    this.key = key;
    this.revision = r.header.revision;
    this.header = r.header;
    if (!r.succeeded) {
      const first = r.responses[0];
      const kv = first && 'responseRange' in first ? first.responseRange.kvs[0] : undefined;
      if (kv) {
        this.revision = kv.createRevision;
        if (!sameBytes(kv.value, toBytes(value))) await this.proclaim(value);
      }
    }
    try {
      this.header = await waitDeletes(this.client, this.prefix, this.revision - 1, this.stats, options.signal);
    } catch (error) {
      await this.resign().catch(() => {});
      throw error;
    }
  }

  /** Changes the leader's value; ElectionNotLeaderError unless I am still the candidate I campaigned as. */
  async proclaim(value: KeyInput): Promise<void> {
    if (this.revision === 0) throw new ElectionNotLeaderError();
    const r = await this.client.kv
      .txn()
      .if(cmp.createRevision(this.key, '=', this.revision))
      .success(op.put(this.key, value, { lease: this.requireSession().leaseId }))
      .commit();
    if (!r.succeeded) {
      this.key = '';
      this.revision = 0;
      throw new ElectionNotLeaderError();
    }
    this.header = r.header;
  }

  /** Gives up leadership (or candidacy). */
  async resign(): Promise<void> {
    if (this.revision === 0) return;
    const r = await this.client.kv.txn().if(cmp.createRevision(this.key, '=', this.revision)).success(op.delete(this.key)).commit();
    this.header = r.header;
    this.key = '';
    this.revision = 0;
  }

  /** The current leader's key and value; ElectionNoLeaderError when nobody leads. */
  async leader(): Promise<RangeResponse> {
    const r = await this.client.kv.get(this.prefix, { prefix: true, sort: { target: 'CREATE', order: 'ASCEND' }, limit: 1 });
    if (r.kvs.length === 0) throw new ElectionNoLeaderError();
    return r;
  }

  /** Every leader in order, and every value a leader proclaims, until `signal` aborts. */
  async *observe(options: { signal?: AbortSignal } = {}): AsyncGenerator<RangeResponse> {
    const signal = options.signal;
    let readAt = 0; // 0: now; otherwise the revision at which the previous leader went
    for (;;) {
      if (signal?.aborted) return;
      let first: RangeResponse;
      try {
        first = await this.client.kv.get(this.prefix, {
          prefix: true,
          sort: { target: 'CREATE', order: 'ASCEND' },
          limit: 1,
          ...(readAt ? { revision: readAt } : {}),
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        if (error instanceof CompactedError && readAt) {
          readAt = 0;
          continue;
        }
        if (error instanceof RequestAbortedError) return;
        throw error;
      }
      const at = readAt || first.header.revision;
      let leader: KeyValue | undefined = first.kvs[0];
      let header = first.header;
      if (!leader) {
        const found = await this.nextCandidate(at, signal);
        if (!found) return;
        ({ kv: leader, header } = found);
      }
      yield { header, kvs: [leader], more: false, count: 0 };

      // Follow the leader's key: each PUT is a proclaimed value, the DELETE ends its leadership.
      const watch = this.client.watch(leader.key, { startRevision: Math.max(at, leader.modRevision) + 1 });
      const onAbort = () => void watch.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort(); // aborted before the listener was there
      let deletedAt = 0;
      try {
        follow: for await (const r of watch) {
          for (const e of r.events) {
            if (e.type === EventType.DELETE) {
              deletedAt = e.kv.modRevision;
              break follow;
            }
            yield { header: r.header, kvs: [e.kv], more: false, count: 0 };
          }
        }
      } finally {
        signal?.removeEventListener('abort', onAbort);
        await watch.cancel();
      }
      if (deletedAt === 0) return;
      readAt = deletedAt;
    }
  }

  /** Waits for the first candidate key written after `revision` when there was no leader at it. */
  private async nextCandidate(revision: number, signal?: AbortSignal): Promise<{ kv: KeyValue; header: ResponseHeader } | undefined> {
    const watch = this.client.watch(this.prefix, { prefix: true, startRevision: revision + 1 });
    const onAbort = () => void watch.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort(); // aborted before the listener was there
    try {
      for await (const r of watch) {
        const put = r.events.find((e) => e.type === EventType.PUT);
        if (put) return { kv: put.kv, header: r.header };
      }
      return undefined;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await watch.cancel();
    }
  }
}
