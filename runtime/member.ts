// One member: its actors, where each runs, how they are wired, and the order they start and stop in.
//
//   main thread: gateway (client API + EtcdServer), transport (peer streams)
//   workers:     raft, wal, mvcc (store + watch hub), lease, snapshot
//
// Start order: wal, snapshot, mvcc, lease, raft (boots from the WAL and replays into mvcc), transport, gateway (listens
// last, so no client is served before the member is whole). Stop order: the gateway first (stop accepting, let
// requests in flight finish), then the transport, lease, raft, mvcc, snapshot, and the WAL last (every append flushed).
import { randomInt } from 'node:crypto';
import { clusterIdFor, memberIdFor, type MemberConfig } from './config.js';
import { encodeValue } from './codec.js';
import type { MemberContext } from '../actors/mvcc/members.js';
import { realDisk } from './disk.js';
import { lockDataDir, type DataDirLock } from './lock.js';
import { Wal, walDir } from '../actors/wal/wal.js';
import type { Logger } from './log.js';
import { ActorSystem } from './system.js';
import type { GatewayActorConfig } from '../actors/server/actor.js';
import type { GatewayProtocol } from '../actors/server/protocol.js';
import type { LeaseActorConfig } from '../actors/lease/actor.js';
import type { MvccConfig } from '../actors/mvcc/protocol.js';
import type { RaftShellConfig } from '../actors/raft/protocol.js';
import type { SnapshotActorConfig } from '../actors/snapshot/protocol.js';
import type { TransportConfig } from '../actors/transport/actor.js';
import type { WalActorConfig } from '../actors/wal/protocol.js';
import { minimumTtlSeconds } from '../actors/lease/lessor.js';

const actor = (path: string) => new URL(`../actors/${path}`, import.meta.url);

export interface RunningMember {
  memberId: string;
  clusterId: string;
  system: ActorSystem;
  /** Graceful stop: drain the gateway, then stop every actor in order. */
  stop(): Promise<void>;
}

export const memberLimits = {
  /** How long a stopping member lets requests in flight finish. */
  drainMs: 5_000,
  /** A stop taking longer than this is logged as a warning with where the time went. */
  slowStopWarnMs: 3_000,
  /** How long a joining member keeps trying to reach the existing members. */
  joinDiscoveryMs: 60_000,
} as const;

export async function startMember(config: MemberConfig, log: Logger): Promise<RunningMember> {
  const lock: DataDirLock = lockDataDir(config.dataDir);
  try {
    return await boot(config, log, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

interface Identity {
  memberId: string;
  clusterId: string;
  /** Peers to link to before the replicated member table is known. */
  peers: Array<{ id: string; urls: string[] }>;
  /** Voters of a new cluster; empty when joining or restarting. */
  initialVoters: string[];
  /** Name and peer URLs of each initial voter, as its bootstrap entry carries them (so every member lists them at once). */
  initialVoterContexts?: Record<string, Uint8Array>;
}

/**
 * Who this member is: from its WAL when it has one (a restart), from --initial-cluster for a new cluster, or from
 * the existing members' /members when it joins a running cluster (--initial-cluster-state existing, after
 * `member add`).
 */
async function identity(config: MemberConfig, log: Logger): Promise<Identity> {
  const token = config.initialClusterToken;
  const configured = [...config.initialCluster].map(([name, urls]) => ({ id: memberIdFor(urls, token), name, urls }));
  const existing = Wal.readMetadata(realDisk, walDir(config.dataDir));
  const bootstrap = (): Identity => ({
    memberId: memberIdFor(config.initialAdvertisePeerUrls, token),
    clusterId: clusterIdFor(configured.map((m) => m.id)),
    peers: configured.map(({ id, urls }) => ({ id, urls })),
    initialVoters: configured.map((m) => m.id),
    initialVoterContexts: Object.fromEntries(configured.map((m) => [m.id, encodeValue({ peerURLs: [...m.urls], name: m.name } satisfies MemberContext)])),
  });
  if (existing) {
    // A member of a new cluster stopped after creating its WAL but before raft wrote anything (Ctrl-C during the
    // first start) would otherwise restart with no configuration and never elect. Its bootstrap is offered again;
    // raft takes it only when the log holds no term, entry or snapshot, so a member with any history restarts
    // from its history alone.
    if (config.initialClusterState === 'new') {
      const fresh = bootstrap();
      if (fresh.memberId === existing.memberId && fresh.clusterId === existing.clusterId) return fresh;
    }
    return { memberId: existing.memberId, clusterId: existing.clusterId, peers: configured.map(({ id, urls }) => ({ id, urls })), initialVoters: [] };
  }
  if (config.initialClusterState === 'new') return bootstrap();
  const mine = [...config.initialAdvertisePeerUrls].sort().join(',');
  const others = [...config.initialCluster].filter(([name]) => name !== config.name).flatMap(([, urls]) => urls);
  const deadline = Date.now() + memberLimits.joinDiscoveryMs;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    for (const url of others) {
      try {
        const response = await fetch(`${url}/members`, { signal: AbortSignal.timeout(2_000) });
        if (!response.ok) continue;
        const found = (await response.json()) as { clusterId: string; members: Array<{ id: string; peerURLs: string[] }> };
        const me = found.members.find((m) => [...m.peerURLs].sort().join(',') === mine);
        if (!me) {
          throw new MemberStartError(`this member (${config.initialAdvertisePeerUrls.join(',')}) is not in the cluster's member list: add it with 'member add' first`);
        }
        log.info('joining an existing cluster', { clusterId: found.clusterId, memberId: me.id, from: url });
        return { memberId: me.id, clusterId: found.clusterId, peers: found.members.map((m) => ({ id: m.id, urls: m.peerURLs })), initialVoters: [] };
      } catch (error) {
        if (error instanceof MemberStartError) throw error;
      }
    }
    await new Promise((r) => setTimeout(r, Math.min(1_000, 100 * 2 ** attempt)));
  }
  throw new MemberStartError(`could not reach any member of the existing cluster at ${others.join(', ')}`);
}

/**
 * Which worker thread each actor runs on.
 *   spread:    every actor on a thread of its own;
 *   consensus: raft and the WAL share a thread (no thread hop between appending and learning what is durable), the
 *              lease actor joins them (it is mostly idle); mvcc has its own, and so does the snapshot actor (writing
 *              and checksumming a large snapshot must not hold up appends or applies);
 *   compact:   every worker actor on one thread (fewest hops; for machines with very few cores).
 */
function placementGroups(name: string): Record<'wal' | 'snapshot' | 'mvcc' | 'lease' | 'raft', string | undefined> {
  switch (name) {
    case 'spread':
      return { wal: undefined, snapshot: undefined, mvcc: undefined, lease: undefined, raft: undefined };
    case 'consensus':
      return { wal: 'consensus', snapshot: undefined, mvcc: undefined, lease: 'consensus', raft: 'consensus' };
    case 'compact':
      return { wal: 'core', snapshot: 'core', mvcc: 'core', lease: 'core', raft: 'core' };
    default:
      throw new MemberStartError(`unknown placement ${JSON.stringify(name)} (spread, consensus or compact)`);
  }
}

export class MemberStartError extends Error {
  override name = 'MemberStartError';
}

async function boot(config: MemberConfig, log: Logger, lock: DataDirLock): Promise<RunningMember> {
  const { memberId, clusterId, peers, initialVoters, initialVoterContexts } = await identity(config, log);
  // a fresh number at every start: entries this member proposed in an earlier life are never taken for new requests
  const bootId = randomInt(1, 2 ** 31);
  log.info('starting member', { name: config.name, memberId, clusterId, dataDir: config.dataDir });

  const system = new ActorSystem({
    mode: 'threads',
    logLevel: config.logLevel,
    logger: log,
    stopOrder: ['gateway', 'transport', 'lease', 'raft', 'mvcc', 'snapshot', 'wal'],
  });
  const wal: WalActorConfig = { dataDir: config.dataDir, metadata: { memberId, clusterId }, unsafeNoFsync: config.unsafeNoFsync };
  const snapshot: SnapshotActorConfig = { dataDir: config.dataDir, raft: 'raft', transport: 'transport' };
  const mvcc: MvccConfig = {
    memberId,
    bootId,
    clusterId,
    responder: 'gateway',
    raft: 'raft',
    lease: 'lease',
    snapshot: 'snapshot',
    snapshotCount: config.snapshotCount,
    // etcd keeps its default interval when the flag is 0
    ...(config.watchProgressNotifyIntervalMs > 0 ? { progressNotifyIntervalMs: Math.max(1, Math.round(config.watchProgressNotifyIntervalMs)) } : {}),
    membersTo: ['transport', 'gateway'],
    leaseTTLMinSeconds: minimumTtlSeconds(config.electionTimeoutMs),
  };
  const lease: LeaseActorConfig = { memberId, electionTimeoutMs: config.electionTimeoutMs, raft: 'raft' };
  const raft: RaftShellConfig = {
    memberId,
    initialVoters,
    initialVoterContexts,
    tickMs: config.heartbeatIntervalMs,
    heartbeatTicks: 1,
    electionTicks: Math.max(2, Math.round(config.electionTimeoutMs / config.heartbeatIntervalMs)),
    keepEntriesAfterSnapshot: config.snapshotCatchupEntries,
    actors: { wal: 'wal', transport: 'transport', apply: ['mvcc'], notify: ['gateway', 'lease'], snapshot: 'snapshot' },
  };
  const transport: TransportConfig = {
    self: memberId,
    clusterId,
    listenPeerUrls: config.listenPeerUrls,
    peers,
    deliverTo: 'raft',
    snapshotIncomingDir: `${config.dataDir}/member/snap/incoming`,
    snapshotActor: 'snapshot',
    leaseActor: 'lease',
    faultInjection: process.env.TETCD_FAULT_INJECTION === '1',
  };
  const gateway: GatewayActorConfig = {
    server: {
      memberId,
      bootId,
      clusterId,
      name: config.name,
      peerUrls: config.initialAdvertisePeerUrls,
      clientUrls: config.advertiseClientUrls,
      clusterToken: config.initialClusterToken,
      maxTxnOps: config.maxTxnOps,
      quotaBackendBytes: config.quotaBackendBytes,
      electionTimeoutMs: config.electionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      actors: { raft: 'raft', mvcc: 'mvcc', lease: 'lease', transport: 'transport', wal: 'wal' },
    },
    listenClientUrls: config.listenClientUrls,
    maxRequestBytes: config.maxRequestBytes,
  };
  const group = placementGroups(process.env.TETCD_PLACEMENT ?? 'consensus');
  system
    .add({ name: 'wal', module: actor('wal/actor.js'), config: wal, group: group.wal, turnEnd: 'microtask' })
    .add({ name: 'snapshot', module: actor('snapshot/actor.js'), config: snapshot, group: group.snapshot })
    .add({ name: 'mvcc', module: actor('mvcc/actor.js'), config: mvcc, group: group.mvcc })
    .add({ name: 'lease', module: actor('lease/actor.js'), config: lease, group: group.lease })
    .add({ name: 'raft', module: actor('raft/actor.js'), config: raft, group: group.raft })
    .add({ name: 'transport', module: actor('transport/actor.js'), config: transport, thread: 'main' })
    .add({ name: 'gateway', module: actor('server/actor.js'), config: gateway, thread: 'main' });
  try {
    await system.start();
  } catch (error) {
    await system.stop();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const began = Date.now();
      try {
        const { unfinished } = await system
          .ref<GatewayProtocol>('gateway')
          .ask({ type: 'drain', timeoutMs: memberLimits.drainMs }, { timeoutMs: memberLimits.drainMs + 1_000 });
        if (unfinished > 0) log.warn('stopping with requests unfinished', { unfinished });
      } catch (error) {
        log.warn('could not drain the gateway', { error });
      }
      const drained = Date.now();
      await system.stop();
      lock.release();
      const ended = Date.now();
      const timings = { drainMs: drained - began, actorsMs: ended - drained };
      if (ended - began > memberLimits.slowStopWarnMs) log.warn('slow stop', timings);
      else log.info('stopped', timings);
    })();
    return stopping;
  };
  return { memberId, clusterId, system, stop };
}
