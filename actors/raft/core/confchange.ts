// Membership changes, one at a time.
//
// Why one at a time is safe: two configurations that differ by one voter have overlapping majorities (any majority
// of {a,b,c} and any majority of {a,b,c,d} share a member), so no two leaders can be elected in one term by the old
// and the new configuration. The core keeps it to one change in flight: a leader refuses a new change while its log
// holds one that is not yet applied, a new leader counts everything in its log as possibly a change until it has
// applied it, and a member never campaigns while a committed change is not yet applied.
//
// A change takes effect on a member when its committed entry is handed out for applying (the core applies it itself
// at that moment; the apply actors see the entry too, for their own member list).
//
// Encoding of a ConfChange entry's data (small and fixed, so the core needs no codec):
//   byte 0: operation (1 addVoter, 2 addLearner, 3 removeNode)
//   bytes 1..16: the member id, 16 lowercase hex characters in ASCII
//   bytes 17..: context, opaque to raft (the member's name and peer URLs, for the apply actors)
import { assert } from '../../../runtime/assert.js';
import type { ConfState, NodeId } from './types.js';

export type ConfChangeOp = 'addVoter' | 'addLearner' | 'removeNode';

export interface ConfChange {
  /** addVoter on an existing learner promotes it. */
  op: ConfChangeOp;
  nodeId: NodeId;
  /** Opaque to raft; carried to the apply actors. */
  context: Uint8Array;
}

const opCodes: Record<ConfChangeOp, number> = { addVoter: 1, addLearner: 2, removeNode: 3 };
const opNames: Record<number, ConfChangeOp> = { 1: 'addVoter', 2: 'addLearner', 3: 'removeNode' };
const idBytes = 16;

export function isNodeId(value: string): boolean {
  return /^[0-9a-f]{16}$/.test(value);
}

export function encodeConfChange(change: ConfChange): Uint8Array {
  assert(isNodeId(change.nodeId), `member id ${JSON.stringify(change.nodeId)} is not 16 lowercase hex digits`);
  const out = new Uint8Array(1 + idBytes + change.context.length);
  out[0] = opCodes[change.op];
  for (let i = 0; i < idBytes; i++) out[1 + i] = change.nodeId.charCodeAt(i);
  out.set(change.context, 1 + idBytes);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  assert(data.length >= 1 + idBytes, `conf change entry too short (${data.length} bytes)`);
  const op = opNames[data[0]!];
  assert(op !== undefined, `unknown conf change operation ${data[0]}`);
  let nodeId = '';
  for (let i = 0; i < idBytes; i++) nodeId += String.fromCharCode(data[1 + i]!);
  assert(isNodeId(nodeId), `conf change names a malformed member id ${JSON.stringify(nodeId)}`);
  return { op, nodeId, context: data.subarray(1 + idBytes) };
}

export type ConfChangeCheck = { ok: true; confState: ConfState } | { ok: false; reason: string };

/**
 * The configuration after `change`, or why the change does not apply. Pure: the same inputs give the same answer on
 * every member, which is what keeps members' configurations identical.
 */
export function applyConfChange(conf: ConfState, change: ConfChange): ConfChangeCheck {
  assert(conf.votersOutgoing.length === 0, 'joint configurations are not used by this core');
  const { nodeId } = change;
  const isVoter = conf.voters.includes(nodeId);
  const isLearner = conf.learners.includes(nodeId);
  switch (change.op) {
    case 'addVoter':
      if (isVoter) return { ok: false, reason: `${nodeId} is already a voter` };
      return {
        ok: true,
        confState: { voters: sorted([...conf.voters, nodeId]), learners: conf.learners.filter((id) => id !== nodeId), votersOutgoing: [] },
      };
    case 'addLearner':
      if (isVoter) return { ok: false, reason: `${nodeId} is a voter; demotion is not supported` };
      if (isLearner) return { ok: false, reason: `${nodeId} is already a learner` };
      return { ok: true, confState: { voters: conf.voters, learners: sorted([...conf.learners, nodeId]), votersOutgoing: [] } };
    case 'removeNode':
      if (!isVoter && !isLearner) return { ok: false, reason: `${nodeId} is not a member` };
      if (isVoter && conf.voters.length === 1) return { ok: false, reason: `${nodeId} is the last voter` };
      return {
        ok: true,
        confState: { voters: conf.voters.filter((id) => id !== nodeId), learners: conf.learners.filter((id) => id !== nodeId), votersOutgoing: [] },
      };
  }
}

function sorted(ids: NodeId[]): NodeId[] {
  return ids.sort();
}

export function emptyConfState(): ConfState {
  return { voters: [], learners: [], votersOutgoing: [] };
}

export function cloneConfState(conf: ConfState): ConfState {
  return { voters: [...conf.voters], learners: [...conf.learners], votersOutgoing: [...conf.votersOutgoing] };
}
