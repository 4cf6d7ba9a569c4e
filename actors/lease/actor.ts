// The lease actor: a shell over the lessor. It learns grants, revokes and checkpoints from the mvcc actor (the
// replicated lease table lives there), learns leadership from raft, renews leases for keep-alives, and — on the
// leader only — proposes a revoke through raft for every lease whose time is up and checkpoints renewed leases'
// remaining time, both at bounded rates, on a fixed tick. What it does with each input lives in driver.ts, which the
// raft simulator test drives too.
import { defineActor } from '../../runtime/actor.js';
import { Errors, etcdError } from '../api/errors.js';
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
  /** Keep-alive batches waiting for raft to confirm this member still leads; more are refused as too many. */
  confirmationsPendingMax: 10_000,
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
  /** The term raft last reported; a confirmation counts only if leadership did not change while it was asked. */
  let term = 0;
  /** Keep-alive answers waiting for a ReadIndex round, by read id. */
  const confirmations = new Map<number, { term: number; resolve: () => void; reject: (error: Error) => void }>();

  /**
   * Resolves once raft has confirmed, by a heartbeat round with a quorum (ReadIndex), that this member still led
   * after the request came. A leader cut off from its peers still believes it leads until check-quorum makes it step
   * down; renewals it answered meanwhile would count nowhere, and a client talking to it would learn only when its
   * lease is gone. Refusing them sends the client to another member, which forwards to the real leader. (etcd does
   * the same since 3.4.25 / 3.5.8.)
   */
  const confirmLeadership = (): Promise<void> => {
    if (confirmations.size >= leaseLimits.confirmationsPendingMax) return Promise.reject(etcdError(Errors.tooManyRequests));
    const id = nextId++;
    if (!raft.tell({ type: 'readIndex', ids: [id] })) return Promise.reject(etcdError(Errors.tooManyRequests));
    return new Promise<void>((resolve, reject) => confirmations.set(id, { term, resolve, reject }));
  };

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
          term = message.term;
          if (applyLeaderChange(lessor, message.isLeader, ctx.clock.now()) === 'promoted') {
            ctx.log.info('lease expiry resumed on the new leader', { leases: lessor.size, term: message.term });
          }
          return;
        case 'proposalResults':
          return;
        case 'readIndexResults':
          for (const ready of message.ready) {
            for (const id of ready.ids) {
              const waiting = confirmations.get(id);
              if (!waiting) continue;
              confirmations.delete(id);
              // a follower's raft forwards the read and gets an index too: only a confirmation in the same term counts
              if (lessor.isLeader && waiting.term === term) waiting.resolve();
              else waiting.reject(etcdError(Errors.notLeader));
            }
          }
          for (const failed of message.failed) {
            for (const id of failed.ids) {
              const waiting = confirmations.get(id);
              if (!waiting) continue;
              confirmations.delete(id);
              waiting.reject(etcdError(Errors.notLeader));
            }
          }
          return;
        case 'keepAlive': {
          const ttls = keepAlive(lessor, message.ids, ctx.clock.now());
          stats.renewals += message.ids.length;
          return confirmLeadership().then(() => ttls);
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
      for (const waiting of confirmations.values()) waiting.reject(etcdError(Errors.notLeader));
      confirmations.clear();
    },
  };
});
