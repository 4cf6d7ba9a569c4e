// The core's small modules, each checked against a deliberately naive version on random inputs.
import test from 'ava';
import fc from 'fast-check';
import { applyConfChange, decodeConfChange, encodeConfChange, type ConfChange } from '../../actors/raft/core/confchange.js';
import { EntryArray } from '../../actors/raft/core/entries.js';
import { RaftLog } from '../../actors/raft/core/log.js';
import { Inflights, Progress } from '../../actors/raft/core/progress.js';
import { majorityValue, voteResult } from '../../actors/raft/core/quorum.js';
import { EntryType, type ConfState, type Entry } from '../../actors/raft/core/types.js';
import { RaftSafetyError } from '../../actors/raft/core/errors.js';
import { nodeIds } from '../sim/cluster.js';

const ids = nodeIds(9);

test('majorityValue equals the naive "sort and take the median-rank value"', (t) => {
  fc.assert(
    fc.property(fc.array(fc.nat(1000), { minLength: 1, maxLength: 9 }), (values) => {
      const voters = ids.slice(0, values.length);
      const got = majorityValue(voters, (id) => values[voters.indexOf(id)]!);
      const sorted = [...values].sort((a, b) => b - a);
      const majority = Math.floor(values.length / 2) + 1;
      return got === sorted[majority - 1];
    }),
    { numRuns: 2000 },
  );
  t.is(majorityValue([], () => 0), Number.POSITIVE_INFINITY);
});

test('voteResult equals counting by hand', (t) => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom<boolean | undefined>(true, false, undefined), { minLength: 1, maxLength: 9 }), (answers) => {
      const voters = ids.slice(0, answers.length);
      const votes = new Map<string, boolean>();
      answers.forEach((a, i) => a !== undefined && votes.set(voters[i]!, a));
      const yes = answers.filter((a) => a === true).length;
      const no = answers.filter((a) => a === false).length;
      const need = Math.floor(answers.length / 2) + 1;
      const naive = yes >= need ? 'won' : answers.length - no < need ? 'lost' : 'pending';
      return voteResult(voters, votes) === naive;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('Inflights behaves like a plain array of (lastIndex, bytes) with the same limits', (t) => {
  type Op = { kind: 'add'; bytes: number } | { kind: 'free'; back: number } | { kind: 'freeFirst' };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), bytes: fc.integer({ min: 1, max: 100 }) }),
    fc.record({ kind: fc.constant('free' as const), back: fc.nat(5) }),
    fc.record({ kind: fc.constant('freeFirst' as const) }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 50, max: 400 }), fc.array(op, { maxLength: 200 }), (max, bytesMax, ops: Op[]) => {
      const fast = new Inflights(max, bytesMax);
      let naive: Array<{ index: number; bytes: number }> = [];
      let next = 1;
      for (const o of ops) {
        if (o.kind === 'add') {
          const full = naive.length >= max || naive.reduce((a, x) => a + x.bytes, 0) >= bytesMax;
          if (fast.full() !== full) return false;
          if (full) continue;
          fast.add(next, o.bytes);
          naive.push({ index: next, bytes: o.bytes });
          next += 1 + (o.bytes % 3);
        } else if (o.kind === 'free') {
          const upTo = next - o.back;
          fast.freeLE(upTo);
          naive = naive.filter((x) => x.index > upTo);
        } else {
          fast.freeFirstOne();
          naive = naive.slice(1);
        }
        if (fast.count !== naive.length || fast.bytes !== naive.reduce((a, x) => a + x.bytes, 0)) return false;
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('Progress keeps 0 <= match < next through its transitions', (t) => {
  const pr = new Progress(11, false, 4, 1 << 20);
  t.is(pr.next, 11);
  t.true(pr.maybeDecrTo(10, 3)); // probe: the rejection answers our last probe
  t.is(pr.next, 4);
  t.false(pr.maybeDecrTo(10, 3), 'a stale rejection is ignored');
  t.true(pr.maybeUpdate(5));
  pr.becomeReplicate();
  t.is(pr.next, 6);
  pr.sentEntries(3, 8, 90);
  t.is(pr.next, 9);
  t.false(pr.maybeDecrTo(4, 4), 'rejection at or below match is stale in replicate');
  t.true(pr.maybeDecrTo(8, 6));
  t.is(pr.next, 6);
  pr.becomeSnapshot(20);
  t.true(pr.isPaused());
  pr.becomeProbe();
  t.is(pr.next, 21, 'after a snapshot, probing starts past it');
  t.throws(() => new Progress(0, false, 1, 1));
});

function makeLog(terms: number[]): RaftLog {
  const entries: Entry[] = terms.map((term, i) => ({ term, index: i + 1, type: EntryType.Normal, data: new Uint8Array([i]) }));
  return new RaftLog(0, 0, entries, 0);
}

const nondecreasing = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 40 }).map((steps) => {
  let term = 1;
  return steps.map((s) => (term += s === 3 ? 1 : 0));
});

test('findConflictByTerm equals a backwards scan for the last entry with term <= t', (t) => {
  fc.assert(
    fc.property(nondecreasing, fc.nat(45), fc.nat(15), (terms, index, term) => {
      const log = makeLog(terms);
      const got = log.findConflictByTerm(index, term);
      let i = Math.min(index, terms.length);
      while (i > 0 && terms[i - 1]! > term) i--;
      return got.index === i && got.term === (i === 0 ? 0 : terms[i - 1]);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('maybeAppend: matching appends keep the log equal to "prefix up to prev + new entries" (naive model)', (t) => {
  fc.assert(
    fc.property(nondecreasing, fc.nat(40), fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 10 }), (terms, prevRaw, bumps) => {
      const log = makeLog(terms);
      const prev = Math.min(prevRaw, terms.length);
      const prevTerm = prev === 0 ? 0 : terms[prev - 1]!;
      let term = Math.max(prevTerm, terms.at(-1) ?? 0);
      const incoming: Entry[] = bumps.map((b, k) => ({ term: (term += b), index: prev + 1 + k, type: EntryType.Normal, data: new Uint8Array([100 + k]) }));
      const last = log.maybeAppend(prev, prevTerm, 0, incoming);
      if (last !== prev + incoming.length) return false;
      // naive: entries that agree stay (with their data), the first disagreement cuts the rest
      const model: number[] = terms.slice(0, prev);
      let cut = false;
      for (let k = 0; k < incoming.length; k++) {
        const i = prev + k;
        if (!cut && i < terms.length && terms[i] === incoming[k]!.term) model.push(terms[i]!);
        else {
          cut = true;
          model.push(incoming[k]!.term);
        }
      }
      if (!cut) for (let i = prev + incoming.length; i < terms.length; i++) model.push(terms[i]!);
      const got: number[] = [];
      for (let i = 1; i <= log.lastIndex(); i++) got.push(log.term(i)!);
      log.checkInvariants();
      return JSON.stringify(got) === JSON.stringify(model);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('a committed entry can never be overwritten', (t) => {
  const log = makeLog([1, 1, 2]);
  log.commitTo(2);
  t.throws(() => log.maybeAppend(1, 1, 2, [{ term: 3, index: 2, type: EntryType.Normal, data: new Uint8Array() }]), { instanceOf: RaftSafetyError });
});

test('conf change entries round-trip through their encoding', (t) => {
  fc.assert(
    fc.property(fc.constantFrom<ConfChange['op']>('addVoter', 'addLearner', 'removeNode'), fc.integer({ min: 0, max: 8 }), fc.uint8Array({ maxLength: 64 }), (op, who, context) => {
      const change: ConfChange = { op, nodeId: ids[who]!, context };
      const back = decodeConfChange(encodeConfChange(change));
      return back.op === op && back.nodeId === change.nodeId && Buffer.from(back.context).equals(Buffer.from(context));
    }),
  );
  t.throws(() => encodeConfChange({ op: 'addVoter', nodeId: 'not-hex', context: new Uint8Array() }));
  t.throws(() => decodeConfChange(new Uint8Array([9, 1, 2])));
});

test('one change at a time: any two consecutive voter sets have overlapping majorities', (t) => {
  const change = fc.record({ op: fc.constantFrom<ConfChange['op']>('addVoter', 'addLearner', 'removeNode'), who: fc.integer({ min: 0, max: 6 }) });
  fc.assert(
    fc.property(fc.array(change, { maxLength: 40 }), (changes) => {
      let conf: ConfState = { voters: [ids[0]!], learners: [], votersOutgoing: [] };
      for (const c of changes) {
        const result = applyConfChange(conf, { op: c.op, nodeId: ids[c.who]!, context: new Uint8Array() });
        if (!result.ok) continue;
        const before = conf.voters;
        const after = result.confState.voters;
        // every majority of `before` meets every majority of `after`: the smallest majorities cannot be disjoint
        const changed = before.filter((v) => !after.includes(v)).length + after.filter((v) => !before.includes(v)).length;
        if (changed > 1) return false;
        if (after.length === 0) return false;
        if (result.confState.learners.some((l) => after.includes(l))) return false;
        conf = result.confState;
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('EntryArray (chunked) behaves like a plain array under push, truncate, dropFront and slice', (t) => {
  type Op = { kind: 'push'; n: number } | { kind: 'truncate'; keep: number } | { kind: 'drop'; n: number } | { kind: 'slice'; lo: number; len: number };
  const op = fc.oneof(
    fc.record({ kind: fc.constant('push' as const), n: fc.integer({ min: 1, max: 9000 }) }),
    fc.record({ kind: fc.constant('truncate' as const), keep: fc.double({ min: 0, max: 1, noNaN: true }) as unknown as fc.Arbitrary<number> }),
    fc.record({ kind: fc.constant('drop' as const), n: fc.integer({ min: 0, max: 9000 }) }),
    fc.record({ kind: fc.constant('slice' as const), lo: fc.nat(20000), len: fc.nat(9000) }),
  );
  let next = 0;
  const make = (): Entry => ({ term: 1, index: next++, type: EntryType.Normal, data: new Uint8Array(0) });
  fc.assert(
    fc.property(fc.array(op, { maxLength: 30 }), (ops: Op[]) => {
      const fast = new EntryArray();
      let naive: Entry[] = [];
      for (const o of ops) {
        if (o.kind === 'push') {
          const batch = Array.from({ length: o.n }, make);
          fast.pushAll(batch);
          naive.push(...batch);
        } else if (o.kind === 'truncate') {
          const keep = Math.floor(naive.length * o.keep);
          fast.truncate(keep);
          naive = naive.slice(0, keep);
        } else if (o.kind === 'drop') {
          const n = Math.min(o.n, naive.length);
          fast.dropFront(n);
          naive = naive.slice(n);
        } else {
          const lo = Math.min(o.lo, naive.length);
          const hi = Math.min(lo + o.len, naive.length);
          const got = fast.slice(lo, hi);
          const want = naive.slice(lo, hi);
          if (got.length !== want.length || got.some((e, i) => e !== want[i])) return false;
        }
        if (fast.length !== naive.length) return false;
        if (naive.length > 0 && (fast.at(0) !== naive[0] || fast.at(naive.length - 1) !== naive[naive.length - 1])) return false;
        const k = Math.floor(naive.length / 3);
        if (naive.length > 0 && fast.at(k) !== naive[k]) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.pass();
});
