// The lease actor: a shell over the lessor. It learns grants, revokes and checkpoints from the mvcc actor (the
// replicated lease table lives there), learns leadership from raft, and — on the leader only — renews leases for
// keep-alives, proposes a revoke through raft for every lease whose time is up, and checkpoints remaining time.
//
// The rule for keep-alives: an answered renewal is in the log. Each turn's keep-alives renew at once and their
// leases' new remaining times go to raft as one checkpoint proposal (not rate-limited); the keep-alives are answered
// when raft reports that proposal applied, so a leader lost right after answering cannot take the renewal with it.
// The commit in this member's term also proves it led, so no ReadIndex round is needed. Renewals whose checkpoint
// failed are left to the periodic checkpoint, which runs with expiry on a fixed tick, each at a bounded rate. What
// the actor does with each input lives in driver.ts, which the raft simulator test drives too.
import { defineActor } from '../../runtime/actor.js';
import { Errors, etcdError, EtcdError } from '../api/errors.js';
import type { InternalOp } from '../api/internal.js';
import type { RaftProtocol } from '../raft/protocol.js';
import { assert } from '../../runtime/assert.js';
import { applyLeaderChange, applyLeaseEvents, KeepAliveCheckpoints, leaseOpPayload, tickProposals } from './driver.js';
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
  /** Renewals waiting for their checkpoint to apply (about a second of keep-alives at 100,000/s); more are refused as too many. */
  keepAliveRenewalsPendingMax: 100_000,
  /** Leases in one keep-alive checkpoint entry (about 20 bytes each): a turn with more proposes several entries. */
  keepAliveCheckpointLeasesMax: 10_000,
} as const;

assert(leaseLimits.keepAliveCheckpointLeasesMax <= leaseLimits.keepAliveRenewalsPendingMax, 'one checkpoint entry fits in the pending renewals');
assert(leaseLimits.tickMsDefault < leaseLimits.revokeRetryMs, 'a revoke is retried only after ticks have passed');

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
  const keepAlives = new KeepAliveCheckpoints({
    renewalsPendingMax: leaseLimits.keepAliveRenewalsPendingMax,
    leasesPerEntryMax: leaseLimits.keepAliveCheckpointLeasesMax,
  });

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
          keepAlives.leaderChanged(message.term, message.isLeader);
          if (applyLeaderChange(lessor, message.isLeader, ctx.clock.now()) === 'promoted') {
            ctx.log.info('lease expiry resumed on the new leader', { leases: lessor.size, term: message.term });
          }
          return;
        case 'proposalResults':
          // revokes and periodic checkpoints need nothing (the tick proposes again what did not apply)
          keepAlives.applied(lessor, message.applied);
          for (const f of message.failed) keepAlives.failed(lessor, f.id, new EtcdError(f.code, f.message));
          return;
        case 'keepAlive': {
          stats.renewals += message.ids.length;
          return new Promise<number[]>((resolve, reject) => {
            keepAlives.add(lessor, message.ids, ctx.clock.now(), (outcome) => ('ttls' in outcome ? resolve(outcome.ttls) : reject(outcome.error)));
          });
        }
        case 'remaining': {
          const now = ctx.clock.now();
          return message.ids.map((id) => lessor.remainingMs(id, now) ?? -1);
        }
        case 'stats':
          return { ...stats, leases: lessor.size, isLeader: lessor.isLeader } satisfies LeaseStats;
      }
    },
    endOfTurn() {
      const proposals = keepAlives.takeTurn(() => nextId++);
      if (proposals.length === 0) return;
      for (const p of proposals) if (p.op.type === 'leaseCheckpoint') stats.checkpointsProposed += p.op.checkpoints.length;
      const sent = raft.tell({ type: 'propose', proposals: proposals.map((p) => ({ id: p.id, payload: leaseOpPayload(config.memberId, p.op) })) });
      if (!sent) for (const p of proposals) keepAlives.failed(lessor, p.id, etcdError(Errors.tooManyRequests));
    },
    stop() {
      timer.cancel();
      keepAlives.failAll(etcdError(Errors.stopped));
    },
  };
});
