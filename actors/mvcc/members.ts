// The cluster's members as every member agrees on them: who is in the configuration (from applied membership
// changes) and what each published about itself (name, peer and client URLs). Replicated like the keys, so it is
// part of the snapshot image, and every member answers `member list` the same way.
//
// Sources, in log order:
//   - a membership change entry (raft's ConfChange): addVoter / addLearner add or update a member (its context may
//     carry peer URLs, for members added through the API); removeNode removes it;
//   - memberAttributes (a member publishes its name and URLs when it starts);
//   - memberUpdate (the API changes a member's peer URLs).
import { decodeValue } from '../../runtime/codec.js';
import { decodeConfChange } from '../raft/core/confchange.js';

export interface MemberRecord {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

/** What a membership change entry's context carries (CBOR), when the change came through the API. */
export interface MemberContext {
  peerURLs?: string[];
  name?: string;
}

export class MemberTable {
  private readonly members = new Map<string, MemberRecord>();
  /** Set when the table changed since the flag was last cleared (the actor tells its listeners). */
  changed = false;

  applyConfChange(data: Uint8Array): void {
    const change = decodeConfChange(data);
    if (change.op === 'removeNode') {
      this.changed = this.members.delete(change.nodeId) || this.changed;
      return;
    }
    let context: MemberContext = {};
    if (change.context.length > 0) {
      try {
        context = decodeValue<MemberContext>(change.context) ?? {};
      } catch {
        context = {};
      }
    }
    const existing = this.members.get(change.nodeId);
    const record: MemberRecord = existing ?? { id: change.nodeId, name: '', peerURLs: [], clientURLs: [], isLearner: false };
    record.isLearner = change.op === 'addLearner';
    if (Array.isArray(context.peerURLs) && context.peerURLs.length > 0) record.peerURLs = context.peerURLs.map(String);
    if (typeof context.name === 'string' && context.name !== '') record.name = context.name;
    this.members.set(change.nodeId, record);
    this.changed = true;
  }

  /** A member published its attributes; a member no longer in the configuration is ignored (as etcd does). */
  publish(id: string, name: string, clientURLs: string[], peerURLs: string[] | undefined): void {
    const record = this.members.get(id);
    if (!record) return;
    record.name = name;
    record.clientURLs = clientURLs.slice();
    if (peerURLs && peerURLs.length > 0) record.peerURLs = peerURLs.slice();
    this.changed = true;
  }

  updatePeerURLs(id: string, peerURLs: string[]): boolean {
    const record = this.members.get(id);
    if (!record) return false;
    record.peerURLs = peerURLs.slice();
    this.changed = true;
    return true;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  /** Every member, ordered by ID (as a number, as etcd orders them). */
  list(): MemberRecord[] {
    return [...this.members.values()]
      .map((m) => ({ ...m, peerURLs: m.peerURLs.slice(), clientURLs: m.clientURLs.slice() }))
      .sort((a, b) => (BigInt('0x' + a.id) < BigInt('0x' + b.id) ? -1 : 1));
  }

  clear(): void {
    this.members.clear();
    this.changed = true;
  }

  restore(record: MemberRecord): void {
    this.members.set(record.id, { ...record });
    this.changed = true;
  }
}
