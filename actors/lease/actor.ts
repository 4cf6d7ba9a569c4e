// The lease actor: a shell over the lessor. It learns grants, revokes and checkpoints from the mvcc actor (the
// replicated lease table lives there), learns leadership from raft, renews leases for keep-alives, and — on the
// leader only — proposes a revoke through raft for every lease whose time is up and checkpoints renewed leases'
// remaining time, both at bounded rates, on a fixed tick.
import { defineActor } from '../../runtime/actor.js';
import { encodeValue } from '../../runtime/codec.js';
import { Errors, etcdError } from '../api/errors.js';
import type { InternalOp, InternalRequest } from '../api/internal.js';
import type { RaftProtocol } from '../raft/protocol.js';
import { Lessor } from './lessor.js';
import type { LeaseProtocol, LeaseStats } from './protocol.js';

export interface LeaseActorConfig {
  memberId: string;
  electionTimeoutMs: number;
  raft: string;
  /** How often expiry and checkpoints are looked at. */
  tickMs?: number;
  expiryRatePerSecond?: number;
  checkpointRatePerSecond?: number;
}

export const leaseLimits = {
  tickMsDefault: 250,
  /** etcd revokes at most 1,000 leases a second. */
  expiryRatePerSecondDefault: 1_000,
  checkpointRatePerSecondDefault: 4_000,
  /** A revoke proposed and not applied within this is proposed again. */
  revokeRetryMs: 3_000,
} as const;

export default defineActor<LeaseProtocol, LeaseActorConfig>((ctx, config) => {
  const tickMs = config.tickMs ?? leaseLimits.tickMsDefault;
  const expiryRate = config.expiryRatePerSecond ?? leaseLimits.expiryRatePerSecondDefault;
  const checkpointRate = config.checkpointRatePerSecond ?? leaseLimits.checkpointRatePerSecondDefault;
  const lessor = new Lessor({
    electionTimeoutMs: config.electionTimeoutMs,
    expiryRatePerSecond: expiryRate,
    checkpointRatePerSecond: checkpointRate,
    revokeRetryMs: leaseLimits.revokeRetryMs,
  });
  const raft = ctx.ref<RaftProtocol>(config.raft);
  const stats: LeaseStats = { leases: 0, isLeader: false, revokesProposed: 0, checkpointsProposed: 0, renewals: 0 };
  let nextId = 1;

  const propose = (ops: InternalOp[]): void => {
    const proposals = ops.map((op) => {
      const request: InternalRequest = { id: 0, member: config.memberId, boot: 0, op };
      return { id: nextId++, payload: encodeValue(request) };
    });
    // a full raft mailbox drops this tick's proposals; the next tick proposes them again
    raft.tell({ type: 'propose', proposals });
  };

  const tick = (): void => {
    if (!lessor.isLeader) return;
    const now = ctx.clock.now();
    const expired = lessor.dueExpirations(now, Math.max(1, Math.floor((expiryRate * tickMs) / 1000)));
    const checkpoints = lessor.dueCheckpoints(now, Math.max(1, Math.floor((checkpointRate * tickMs) / 1000)));
    const ops: InternalOp[] = expired.map((ID) => ({ type: 'leaseRevoke', req: { ID } }));
    if (checkpoints.length > 0) ops.push({ type: 'leaseCheckpoint', checkpoints });
    if (ops.length === 0) return;
    stats.revokesProposed += expired.length;
    stats.checkpointsProposed += checkpoints.length;
    if (expired.length > 0) ctx.log.info('revoking expired leases', { count: expired.length });
    propose(ops);
  };
  const timer = ctx.clock.setInterval(tickMs, tick);

  return {
    receive(message) {
      switch (message.type) {
        case 'leaseEvents': {
          const now = ctx.clock.now();
          if (message.reset) {
            for (const id of lessor.ids()) lessor.revoked(id);
            for (const l of message.reset) {
              lessor.granted(l.ID, l.TTL, now);
              if (l.remainingMs > 0) lessor.checkpointed(l.ID, l.remainingMs, now);
            }
            if (lessor.isLeader) lessor.promote(now);
          }
          for (const g of message.granted) lessor.granted(g.ID, g.TTL, now);
          for (const id of message.revoked) lessor.revoked(id);
          for (const c of message.checkpoints) lessor.checkpointed(c.ID, c.remainingMs, now);
          return;
        }
        case 'leaderChanged':
          if (message.isLeader && !lessor.isLeader) {
            lessor.promote(ctx.clock.now());
            ctx.log.info('lease expiry resumed on the new leader', { leases: lessor.size, term: message.term });
          } else if (!message.isLeader && lessor.isLeader) {
            lessor.demote();
          }
          return;
        case 'proposalResults':
          return;
        case 'keepAlive': {
          if (!lessor.isLeader) throw etcdError(Errors.notLeader);
          const now = ctx.clock.now();
          stats.renewals += message.ids.length;
          return message.ids.map((id) => lessor.renew(id, now));
        }
        case 'remaining': {
          const now = ctx.clock.now();
          return message.ids.map((id) => lessor.remainingMs(id, now) ?? -1);
        }
        case 'stats':
          return { ...stats, leases: lessor.size, isLeader: lessor.isLeader } satisfies LeaseStats;
      }
    },
    stop() {
      timer.cancel();
    },
  };
});
