// Shared helpers for the mvcc tests: byte strings, requests as entries, result normalisation.
import { encodeInternalRequest } from '../../actors/api/entry-codec.js';
import type { InternalOp, InternalRequest } from '../../actors/api/internal.js';
import { EntryType, type Entry } from '../../actors/raft/core/types.js';
import type { ApplyResult } from '../../actors/mvcc/store.js';

/** Latin1 bytes of a string (so "\xff" is the single byte 0xff). */
export function b(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function str(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

/** A result with its error reduced to { code, message } (how it crosses actors, and how the model reports it). */
export function plain(result: ApplyResult): { response: unknown } | { error: { code: number; message: string } } {
  if ('error' in result) return { error: { code: result.error.code, message: result.error.message } };
  return result;
}

/** Runs `fn`; an EtcdError it throws becomes { error }, a value becomes { response }. */
export function caught(fn: () => unknown): { response: unknown } | { error: { code: number; message: string } } {
  try {
    return { response: fn() };
  } catch (error) {
    const e = error as { code?: number; message: string };
    if (typeof e.code !== 'number') throw error;
    return { error: { code: e.code, message: e.message } };
  }
}

export function entry(index: number, op: InternalOp, options: { id?: number; member?: string; term?: number; boot?: number } = {}): Entry {
  const request: InternalRequest = { id: options.id ?? index, member: options.member ?? 'm1', boot: options.boot ?? 0, op };
  return { term: options.term ?? 1, index, type: EntryType.Normal, data: encodeInternalRequest(request) };
}

export function noop(index: number, term = 1): Entry {
  return { term, index, type: EntryType.Normal, data: new Uint8Array(0) };
}

/** kvs as "key=value@mod" strings, for compact assertions. */
export function kvList(kvs: Array<{ key: Uint8Array; value: Uint8Array; modRevision: number }>): string[] {
  return kvs.map((kv) => `${str(kv.key)}=${str(kv.value)}@${kv.modRevision}`);
}
