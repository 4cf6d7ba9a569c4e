// The lease actor: a shell over the lessor. It learns grants, revokes and checkpoints from the mvcc actor (the
// replicated lease table lives there), learns leadership from raft, renews leases for keep-alives, and — on the
// leader only — proposes a revoke through raft for every lease whose time is up and checkpoints renewed leases'
// remaining time, both at bounded rates, on a fixed tick. What it does with each input lives in driver.ts, which the
// raft simulator test drives too.
import { defineActor } from '../../runtime/actor.js';
import type { InternalOp } from '../api/internal.js';
import type { RaftProtocol } from '../raft/protocol.js';
import { applyLeaderChange, applyLeaseEvents, keepAlive, leaseOpPayload, tickProposals } from './driver.js';
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
    const proposals = ops.map((op) => ({ id: nextId++, payload: leaseOpPayload(config.memberId, op) }));
    // a full raft mailbox drops this tick's proposals; the next tick proposes them again
    raft.tell({ type: 'propose', proposals });
  };

  const rates = { tickMs, expiryRatePerSecond: expiryRate, checkpointRatePerSecond: checkpointRate };
  const tick = (): void => {
    const due = tickProposals(lessor, ctx.clock.now(), rates);
    if (due.ops.length === 0) return;
    stats.revokesProposed += due.revokes;
    stats.checkpointsProposed += due.checkpoints;
    if (due.revokes > 0) ctx.log.info('revoking expired leases', { count: due.revokes });
    propose(due.ops);
  };
  const timer = ctx.clock.setInterval(tickMs, tick);

  return {
    receive(message) {
      switch (message.type) {
        case 'leaseEvents':
          applyLeaseEvents(lessor, message, ctx.clock.now());
          return;
        case 'leaderChanged':
          if (applyLeaderChange(lessor, message.isLeader, ctx.clock.now()) === 'promoted') {
            ctx.log.info('lease expiry resumed on the new leader', { leases: lessor.size, term: message.term });
          }
          return;
        case 'proposalResults':
          return;
        case 'keepAlive': {
          const ttls = keepAlive(lessor, message.ids, ctx.clock.now());
          stats.renewals += message.ids.length;
          return ttls;
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
