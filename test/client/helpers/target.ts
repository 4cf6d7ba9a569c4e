// The server the client and tetcdctl tests talk to: by default a real tetcd member started from this repository
// (bin/tetcd with etcd's flags, loopback, a temp data dir, stopped by pid), so the tests check tetcd itself.
// TETCD_CTL_TARGET=etcd runs them against a real etcd 3.4 instead (how the client and tetcdctl were first checked);
// TETCD_CTL_TARGET=host:port against a server someone else runs (its state is wiped by the differential tests).
//
// The member is named "default", as the test etcd, so member lists compare equal. Member and cluster IDs are
// derived from the peer URL (as etcd does); ports are picked so neither ID starts with a zero hex digit, because
// etcdctl prints member IDs with %x and a shorter ID would differ from the other side's in length, not just value.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from '../../../client/client.js';
import { clusterIdFor, memberIdFor } from '../../../runtime/config.js';
import { Member, freePort } from '../../helpers/tetcd.js';
import { startEtcd, type Etcd, type EtcdOptions } from './etcd.js';

export type TargetKind = 'tetcd' | 'etcd' | 'external';

export interface Target {
  kind: TargetKind;
  /** host:port */
  endpoint: string;
  clientPort: number;
  /** The tetcd member when kind is 'tetcd'. */
  member?: Member;
  stop(): Promise<void>;
}

export function targetKind(): TargetKind {
  const setting = process.env.TETCD_CTL_TARGET;
  if (setting === undefined || setting === '' || setting === 'tetcd') return 'tetcd';
  if (setting === 'etcd') return 'etcd';
  return 'external';
}

/** etcd's default --initial-cluster-token: with it, both servers derive their IDs the same way. */
const clusterToken = 'etcd-cluster';

const fullLength = (id: string) => !id.startsWith('0');

/** Starts a one-member tetcd named "default" and waits until it has a leader. */
export async function startTetcd(options: { flags?: string[]; name?: string } = {}): Promise<Member> {
  const name = options.name ?? 'default';
  let clientPort = 0;
  let peerPort = 0;
  for (let attempt = 0; attempt < 64; attempt++) {
    clientPort = await freePort();
    peerPort = await freePort();
    const memberId = memberIdFor([`http://127.0.0.1:${peerPort}`], clusterToken);
    if (fullLength(memberId) && fullLength(clusterIdFor([memberId]))) break;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tetcd-ctl-target-'));
  const dataDir = path.join(root, 'data');
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const member = new Member(
    { name, clientPort, peerPort, dataDir },
    [
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `${name}=${peerUrl}`,
      '--initial-cluster-token', clusterToken,
      ...(options.flags ?? []),
    ],
    { TETCD_LOG_LEVEL: 'warn' },
  );
  member.start();
  try {
    await member.ready(30_000);
  } catch (error) {
    await member.kill();
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const stop = member.stop.bind(member);
  member.stop = async (graceMs?: number) => {
    const code = await stop(graceMs);
    fs.rmSync(root, { recursive: true, force: true });
    return code;
  };
  return member;
}

/** Starts etcd, again on other ports if its member or cluster ID would print shorter than 16 hex digits. */
export async function startFullIdEtcd(options: EtcdOptions = {}): Promise<Etcd> {
  for (let attempt = 0; ; attempt++) {
    const etcd = await startEtcd(options);
    const client = new Client({ endpoints: [etcd.endpoint], transport: 'http' });
    try {
      const { header } = await client.maintenance.status();
      if ((fullLength(header.memberId) && fullLength(header.clusterId)) || attempt >= 8) return etcd;
    } finally {
      client.close();
    }
    await etcd.stop();
  }
}

/** The server under test, as TETCD_CTL_TARGET says (a fresh tetcd member by default). */
export async function startTarget(options: { flags?: string[]; etcd?: EtcdOptions } = {}): Promise<Target> {
  const kind = targetKind();
  if (kind === 'external') {
    const endpoint = process.env.TETCD_CTL_TARGET!.replace(/^https?:\/\//, '');
    return { kind, endpoint, clientPort: Number(endpoint.split(':').pop()), stop: async () => {} };
  }
  if (kind === 'etcd') {
    const etcd = await startFullIdEtcd(options.etcd);
    return { kind, endpoint: etcd.endpoint, clientPort: etcd.clientPort, stop: () => etcd.stop() };
  }
  const member = await startTetcd(options);
  return {
    kind,
    endpoint: `127.0.0.1:${member.spec.clientPort}`,
    clientPort: member.spec.clientPort,
    member,
    stop: async () => {
      await member.stop();
    },
  };
}
