// The rows etcdctl shows for members, endpoints and snapshots: the simple format joins a row with ", ", the table
// format puts it in cells, so both take them from here.
import type { Member } from '../../actors/api/types.js';
import type { AlarmMember } from '../types.js';
import { alarmName } from '../json.js';
import { hexIdToUint, hexNoPad, humanizeBytes } from './go.js';
import type { EndpointStatus, SnapshotStatus } from './printer.js';

export const memberHeader = ['ID', 'STATUS', 'NAME', 'PEER ADDRS', 'CLIENT ADDRS', 'IS LEARNER'];

export function memberRow(m: Member): string[] {
  return [
    hexNoPad(m.ID),
    m.name === '' ? 'unstarted' : 'started',
    m.name,
    m.peerURLs.join(','),
    m.clientURLs.join(','),
    String(m.isLearner ?? false),
  ];
}

export const endpointStatusHeader = ['ENDPOINT', 'ID', 'VERSION', 'DB SIZE', 'IS LEADER', 'IS LEARNER', 'RAFT TERM', 'RAFT INDEX', 'RAFT APPLIED INDEX', 'ERRORS'];

export function endpointStatusRow(e: EndpointStatus): string[] {
  const s = e.status;
  return [
    e.endpoint,
    hexNoPad(s.header.memberId),
    s.version,
    humanizeBytes(s.dbSize),
    String(s.leader === s.header.memberId),
    String(s.isLearner ?? false),
    String(s.raftTerm),
    String(s.raftIndex),
    String(s.raftAppliedIndex),
    (s.errors ?? []).join(', '),
  ];
}

export const snapshotStatusHeader = ['HASH', 'REVISION', 'TOTAL KEYS', 'TOTAL SIZE'];

export function snapshotStatusRow(s: SnapshotStatus): string[] {
  return [s.hash.toString(16), String(s.revision), String(s.totalKey), humanizeBytes(s.totalSize)];
}

/** An alarm as protobuf's compact text form prints it (etcdctl's %+v): "memberID:N alarm:NOSPACE ". */
export function alarmText(a: AlarmMember): string {
  let text = '';
  const id = hexIdToUint(a.memberID);
  if (id !== '0') text += `memberID:${id} `;
  if (a.alarm !== 0) text += `alarm:${alarmName(a.alarm)} `;
  return text;
}
