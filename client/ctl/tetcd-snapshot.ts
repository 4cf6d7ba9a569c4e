// tetcd's own snapshot files, offline: `snapshot status` and `snapshot restore` for what `snapshot save` gets from a
// tetcd member (its snapshot file format, actors/snapshot/format.ts, carrying an mvcc image, actors/mvcc/image.ts).
//
// status: what etcdctl prints for a bolt file, measured on tetcd's file: hash = CRC32C of the whole file, revision =
//   the image's revision, totalKey = key states the image holds (live keys below the compaction point plus history
//   records: the counterpart of the revisions in etcd's "key" bucket), totalSize = the file's bytes.
// restore: a new data dir from which bin/tetcd starts as a new cluster with the snapshot's data, as etcdctl restore
//   does for etcd: the image with its membership replaced by --initial-cluster (alarms dropped), as the snapshot file
//   of the new dir, and a WAL whose identity is the new member and cluster and whose log starts after that snapshot.
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { readImageEnd, readImageMeta, writeImageMeta } from '../../actors/mvcc/image.js';
import type { MemberRecord } from '../../actors/mvcc/members.js';
import { SnapshotReader, SnapshotWriter } from '../../actors/snapshot/file.js';
import { headerMagic } from '../../actors/snapshot/format.js';
import { snapDir } from '../../actors/snapshot/store.js';
import { Wal, walDir } from '../../actors/wal/wal.js';
import { crc32c } from '../../actors/wal/crc32c.js';
import { realDisk } from '../../runtime/disk.js';
import { silentLogger } from '../../runtime/log.js';
import { clusterIdFor, memberIdFor } from '../../runtime/config.js';
import type { SnapshotStatus } from './printer.js';

/** A file too short or malformed to be read as any snapshot. */
export class TetcdSnapshotError extends Error {
  override name = 'TetcdSnapshotError';
}

/** Whether the file starts with tetcd's snapshot magic (otherwise it is taken for etcd's bolt file). */
export function isTetcdSnapshot(file: string): boolean {
  const head = readFileSync(file).subarray(0, headerMagic.length);
  return head.length === headerMagic.length && head.every((b, i) => b === headerMagic[i]);
}

/** Reads the whole file (verifying every checksum) and measures it. */
export function tetcdSnapshotStatus(file: string): SnapshotStatus {
  const reader = SnapshotReader.open(realDisk, file);
  let revision = 0;
  let totalKey = 0;
  try {
    let first = true;
    for (let chunk = reader.next(); chunk !== undefined; chunk = reader.next()) {
      if (first) revision = readImageMeta(chunk).revision;
      first = false;
      const end = readImageEnd(chunk);
      if (end) {
        totalKey = end.bases + end.records;
        revision = end.revision;
      }
    }
  } finally {
    reader.close();
  }
  const bytes = readFileSync(file);
  return { hash: crc32c(0, bytes, 0, bytes.length), revision, totalKey, totalSize: statSync(file).size };
}

export interface RestoreOptions {
  file: string;
  dataDir: string;
  name: string;
  /** name=url,name=url (etcd's --initial-cluster). */
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string[];
}

/** The member list --initial-cluster describes, with IDs derived as the member itself derives them. */
function membersOf(options: RestoreOptions): MemberRecord[] {
  const urls = new Map<string, string[]>();
  for (const part of options.initialCluster.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) throw new TetcdSnapshotError(`invalid initial cluster entry ${JSON.stringify(part)}`);
    const name = part.slice(0, at);
    urls.set(name, [...(urls.get(name) ?? []), part.slice(at + 1)]);
  }
  return [...urls].map(([name, peerURLs]) => ({ id: memberIdFor(peerURLs, options.initialClusterToken), name, peerURLs, clientURLs: [], isLearner: false }));
}

/** Writes a new data dir from a tetcd snapshot file; returns the new member's and cluster's IDs. */
export function restoreTetcdSnapshot(options: RestoreOptions): { memberId: string; clusterId: string } {
  if (existsSync(options.dataDir)) throw new TetcdSnapshotError(`data-dir ${JSON.stringify(options.dataDir)} exists`);
  const members = membersOf(options);
  const memberId = memberIdFor(options.initialAdvertisePeerUrls, options.initialClusterToken);
  if (!members.some((m) => m.id === memberId)) {
    throw new TetcdSnapshotError(`couldn't find local name "${options.name}" in the initial cluster configuration`);
  }
  const clusterId = clusterIdFor(members.map((m) => m.id));
  const reader = SnapshotReader.open(realDisk, options.file);
  const snaps = snapDir(options.dataDir);
  realDisk.mkdirp(snaps);
  let writer: SnapshotWriter | undefined;
  let index = 0;
  let term = 0;
  try {
    for (let chunk = reader.next(); chunk !== undefined; chunk = reader.next()) {
      if (!writer) {
        // the log of the new cluster continues from the snapshot's own index and term
        const meta = readImageMeta(chunk);
        index = reader.metadata.index;
        term = reader.metadata.term;
        writer = new SnapshotWriter(realDisk, snaps, { index, term, confState: { voters: members.map((m) => m.id), learners: [], votersOutgoing: [] } });
        writer.write(writeImageMeta({ ...meta, members, alarms: [] }));
      } else {
        writer.write(chunk);
      }
    }
    if (!writer) throw new TetcdSnapshotError(`${options.file} holds no image`);
    writer.commit();
  } catch (error) {
    writer?.abort();
    throw error;
  } finally {
    reader.close();
  }
  const wal = { dir: walDir(options.dataDir), disk: realDisk, log: silentLogger };
  Wal.create(wal, { memberId, clusterId });
  const { wal: log } = Wal.open(wal);
  try {
    // as if the snapshot had been installed from a leader: the log restarts after it, everything in it committed
    log.snapshotMarker({ index, term, confState: { voters: members.map((m) => m.id), learners: [], votersOutgoing: [] }, installed: true });
    log.append([], { term, vote: '', commit: index });
    log.flush(true);
  } finally {
    log.close();
  }
  return { memberId, clusterId };
}

/** The default data dir of a restored member, as the member's own default ("<name>.tetcd"). */
export function defaultDataDir(name: string): string {
  return path.join('.', `${name}.tetcd`);
}
