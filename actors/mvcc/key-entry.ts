// One object per key the store knows: the key itself, where its newest record sits in the history log, and its
// "base" — the key's state as of the last physical compaction, kept here once the record it came from has been freed.
//
// A worked example (C = compaction revision):
//   put a@2, put a@3, delete a@4, put a@5            log: [a@2 v1] [a@3 v2] [a@4 tomb] [a@5 v1 (new generation)]
//   compact 3:  a@2 is superseded, a@3 is the newest record <= 3 and not a tombstone -> it becomes the base
//               log: [a@4 tomb] [a@5]   base: a@3 (create 2, version 2)
//   compact 5:  the state at 5 is a@5 itself, still in the log; the base is dropped
//               log: [a@5]              base: none
// A key whose newest state is a tombstone at or below C, with nothing after it, is removed from the index entirely.
import type { KeyString } from './keys.js';

export const NO_LEASE = 0n;

export class KeyEntry {
  /** Seq of the newest record of this key in the history log; -1 when the key has none there (its state is the base). */
  last = -1;
  /** Base state (meaningful only when baseValue !== null): the newest non-deleted state at or below the compaction. */
  baseMod = 0;
  baseCreate = 0;
  baseVersion = 0;
  baseLease: bigint = NO_LEASE;
  /** The base value as a binary string (24 bytes of header instead of ~200 for a Uint8Array); null: no base. */
  baseValue: string | null = null;

  constructor(readonly key: KeyString) {}

  hasBase(): boolean {
    return this.baseValue !== null;
  }

  clearBase(): void {
    this.baseValue = null;
    this.baseLease = NO_LEASE;
  }
}
