// Waiting for the keys ahead of mine to go, the heart of the fair lock and of the election.
//
// Each contender's key is prefix/<lease-id-hex>; the store gives it a create revision, and contenders are served in
// create-revision order. To wait its turn a contender finds the key created just before its own (the one with the
// greatest create revision below mine), watches that one key for its deletion, and repeats until no key created
// before mine is left. Every contender watches a different key, so a release wakes exactly one waiter: no herd.
import type { Bytes, ResponseHeader } from '../../actors/api/types.js';
import { EventType } from '../../actors/api/types.js';
import type { Client } from '../client.js';
import { RequestAbortedError } from '../errors.js';
import type { Watch } from '../watch.js';

export interface WaitStats {
  /** Watch events this contender received while waiting (each one is a wake-up). */
  watchEvents: number;
  /** Predecessor keys waited on. */
  waits: number;
}

/** Waits until no key under `prefix` with create revision <= maxCreateRevision is left. */
export async function waitDeletes(client: Client, prefix: string, maxCreateRevision: number, stats: WaitStats, signal?: AbortSignal): Promise<ResponseHeader> {
  for (;;) {
    if (signal?.aborted) throw new RequestAbortedError();
    const r = await client.kv.get(prefix, {
      prefix: true,
      maxCreateRevision,
      sort: { target: 'CREATE', order: 'DESCEND' },
      limit: 1,
      ...(signal ? { signal } : {}),
    });
    const last = r.kvs[0];
    if (!last) return r.header;
    stats.waits++;
    await waitDelete(client, last.key, r.header.revision, stats, signal);
  }
}

/** Waits for the deletion of `key`, which existed at `revision`. */
export async function waitDelete(client: Client, key: Bytes, revision: number, stats: WaitStats, signal?: AbortSignal): Promise<void> {
  const watch: Watch = client.watch(key, { startRevision: revision + 1 });
  const onAbort = () => void watch.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort(); // aborted before the listener was there
  try {
    for await (const response of watch) {
      stats.watchEvents += response.events.length;
      if (response.events.some((e) => e.type === EventType.DELETE)) return;
    }
    if (signal?.aborted) throw new RequestAbortedError();
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await watch.cancel();
  }
}
