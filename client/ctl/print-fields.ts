// etcdctl's "fields" output: one `"Name" : value` line per field, strings and bytes in Go's %q quoting, numbers in
// decimal (uint64 IDs from bigint), for scripts that grep a field. Byte for byte as etcdctl 3.4.
import type {
  DeleteRangeResponse,
  KeyValue,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  TxnResponse,
  WatchResponse,
} from '../../actors/api/types.js';
import { alarmName } from '../json.js';
import type { AlarmResponse } from '../types.js';
import { goQuote, hexIdToUint } from './go.js';
import { unsupported, type EndpointHashKV, type EndpointHealth, type EndpointStatus, type Printer, type PrinterOptions, type Sink, type SnapshotStatus } from './printer.js';

const zeroHeader: ResponseHeader = { clusterId: '0000000000000000', memberId: '0000000000000000', revision: 0, raftTerm: 0 };

export class FieldsPrinter implements Printer {
  private lines: string[] = [];

  constructor(private readonly sink: Sink, _options: PrinterOptions) {}

  private line(name: string, value: string): void {
    this.lines.push(`"${name}" : ${value}\n`);
  }

  private flush(): void {
    this.sink.out(this.lines.join(''));
    this.lines = [];
  }

  private hdr(h: ResponseHeader | undefined): void {
    const header = h ?? zeroHeader;
    this.line('ClusterID', hexIdToUint(header.clusterId));
    this.line('MemberID', hexIdToUint(header.memberId));
    this.line('Revision', String(header.revision));
    this.line('RaftTerm', String(header.raftTerm));
  }

  private kv(prefix: string, kv: KeyValue): void {
    this.line(`${prefix}Key`, goQuote(kv.key));
    this.line(`${prefix}CreateRevision`, String(kv.createRevision));
    this.line(`${prefix}ModRevision`, String(kv.modRevision));
    this.line(`${prefix}Version`, String(kv.version));
    this.line(`${prefix}Value`, goQuote(kv.value));
    this.line(`${prefix}Lease`, String(kv.lease));
  }

  private getLines(r: RangeResponse): void {
    this.hdr(r.header);
    for (const kv of r.kvs) this.kv('', kv);
    this.line('More', String(r.more));
    this.line('Count', String(r.count));
  }

  private putLines(r: PutResponse): void {
    this.hdr(r.header);
    if (r.prevKv) this.kv('Prev', r.prevKv);
  }

  private delLines(r: DeleteRangeResponse): void {
    this.hdr(r.header);
    this.line('Deleted', String(r.deleted));
    for (const kv of r.prevKvs) this.kv('Prev', kv);
  }

  private txnLines(r: TxnResponse): void {
    this.hdr(r.header);
    this.line('Succeeded', String(r.succeeded));
    for (const op of r.responses) {
      if ('responseRange' in op) this.getLines(op.responseRange);
      else if ('responsePut' in op) this.putLines(op.responsePut);
      else if ('responseDeleteRange' in op) this.delLines(op.responseDeleteRange);
      else this.txnLines(op.responseTxn);
    }
  }

  get(r: RangeResponse): void {
    this.getLines(r);
    this.flush();
  }

  put(r: PutResponse): void {
    this.putLines(r);
    this.flush();
  }

  del(r: DeleteRangeResponse): void {
    this.delLines(r);
    this.flush();
  }

  txn(r: TxnResponse): void {
    this.txnLines(r);
    this.flush();
  }

  watch(r: WatchResponse): void {
    this.hdr(r.header);
    for (const e of r.events) {
      this.line('Type', e.type === 1 ? 'DELETE' : 'PUT');
      if (e.prevKv) this.kv('Prev', e.prevKv);
      this.kv('', e.kv);
    }
    this.flush();
  }

  leaseGrant(r: LeaseGrantResponse): void {
    this.hdr(r.header);
    this.line('ID', String(r.ID));
    this.line('TTL', String(r.TTL));
    this.flush();
  }

  leaseRevoke(_id: bigint, r: LeaseRevokeResponse): void {
    this.hdr(r.header);
    this.flush();
  }

  timeToLive(r: LeaseTimeToLiveResponse): void {
    this.hdr(r.header);
    this.line('ID', String(r.ID));
    this.line('TTL', String(r.TTL));
    this.line('GrantedTTL', String(r.grantedTTL));
    for (const k of r.keys ?? []) this.line('Key', goQuote(k));
    this.flush();
  }

  leases(r: LeaseLeasesResponse): void {
    this.hdr(r.header);
    for (const l of r.leases) this.line('ID', String(l.ID));
    this.flush();
  }

  keepAlive(r: LeaseKeepAliveResponse): void {
    this.hdr(r.header);
    this.line('ID', String(r.ID));
    this.line('TTL', String(r.TTL));
    this.flush();
  }

  memberAdd = unsupported('fields');
  memberRemove = unsupported('fields');
  memberUpdate = unsupported('fields');
  memberPromote = unsupported('fields');
  moveLeader = unsupported('fields');

  memberList(r: MemberListResponse): void {
    this.hdr(r.header);
    for (const m of r.members) {
      this.line('ID', hexIdToUint(m.ID));
      this.line('Name', goQuote(m.name));
      for (const u of m.peerURLs) this.line('PeerURL', goQuote(u));
      for (const u of m.clientURLs) this.line('ClientURL', goQuote(u));
      this.line('IsLearner', String(m.isLearner ?? false));
      this.lines.push('\n');
    }
    this.flush();
  }

  endpointHealth(list: EndpointHealth[]): void {
    for (const h of list) {
      this.line('Endpoint', goQuote(h.endpoint));
      this.line('Health', String(h.health));
      this.line('Took', h.took);
      this.line('Error', h.error ?? '');
      this.lines.push('\n');
    }
    this.flush();
  }

  endpointStatus(list: EndpointStatus[]): void {
    for (const { endpoint, status: s } of list) {
      this.hdr(s.header);
      this.line('Version', goQuote(s.version));
      this.line('DBSize', String(s.dbSize));
      this.line('Leader', hexIdToUint(s.leader));
      this.line('IsLearner', String(s.isLearner ?? false));
      this.line('RaftIndex', String(s.raftIndex));
      this.line('RaftTerm', String(s.raftTerm));
      this.line('RaftAppliedIndex', String(s.raftAppliedIndex));
      this.line('Errors', `[${(s.errors ?? []).join(' ')}]`);
      this.line('Endpoint', goQuote(endpoint));
      this.lines.push('\n');
    }
    this.flush();
  }

  endpointHashKV(list: EndpointHashKV[]): void {
    for (const h of list) {
      this.hdr(h.hashKV.header);
      this.line('Endpoint', goQuote(h.endpoint));
      this.line('Hash', String(h.hashKV.hash));
      this.lines.push('\n');
    }
    this.flush();
  }

  /** etcd 3.4's alarm answer has no header, on which etcdctl's fields printer crashes; a zero header is printed. */
  alarm(r: AlarmResponse): void {
    this.hdr(r.header);
    for (const a of r.alarms) {
      this.line('MemberID', hexIdToUint(a.memberID));
      this.line('AlarmType', alarmName(a.alarm));
    }
    this.flush();
  }

  snapshotStatus(s: SnapshotStatus): void {
    this.line('Hash', String(s.hash));
    this.line('Revision', String(s.revision));
    this.line('Keys', String(s.totalKey));
    this.line('Size', String(s.totalSize));
    this.flush();
  }
}
