// etcdctl's "simple" output: keys and values as raw lines (or \x-escaped hex with --hex), "OK", counts, and one
// comma-separated line per member or endpoint. Byte for byte as etcdctl 3.4 prints them (checked by test/ctl).
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
  TxnResponse,
  WatchResponse,
} from '../../actors/api/types.js';
import { leaseIdHex } from '../keys.js';
import type { AlarmResponse, HeaderOnlyResponse, MemberAddResponse, MemberChangeResponse } from '../types.js';
import { alarmText, endpointStatusRow, memberRow, snapshotStatusRow } from './rows.js';
import { hexSpacePad } from './go.js';
import type { EndpointHashKV, EndpointHealth, EndpointStatus, Printer, PrinterOptions, Sink, SnapshotStatus } from './printer.js';

/** --hex: every byte as \xNN. */
export function hexEscape(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += '\\x' + b.toString(16).padStart(2, '0');
  return out;
}

/** Output built from text (UTF-8) and raw bytes (keys and values, written exactly as stored). */
class Parts {
  private readonly parts: Uint8Array[] = [];
  text(s: string): this {
    this.parts.push(Buffer.from(s, 'utf8'));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export class SimplePrinter implements Printer {
  constructor(private readonly sink: Sink, private readonly options: PrinterOptions) {}

  private value(out: Parts, b: Uint8Array): Parts {
    return this.options.hex ? out.text(hexEscape(b)) : out.bytes(b);
  }

  private kv(out: Parts, kv: KeyValue, valueOnly = false): void {
    if (!valueOnly) this.value(out, kv.key).text('\n');
    this.value(out, kv.value).text('\n');
  }

  private line(text: string): void {
    this.sink.out(text);
  }

  private getInto(out: Parts, r: RangeResponse): void {
    for (const kv of r.kvs) this.kv(out, kv, this.options.valueOnly);
  }

  private putInto(out: Parts, r: PutResponse): void {
    out.text('OK\n');
    if (r.prevKv) this.kv(out, r.prevKv);
  }

  private delInto(out: Parts, r: DeleteRangeResponse): void {
    out.text(`${r.deleted}\n`);
    for (const kv of r.prevKvs) this.kv(out, kv);
  }

  private txnInto(out: Parts, r: TxnResponse): void {
    out.text(r.succeeded ? 'SUCCESS\n' : 'FAILURE\n');
    for (const op of r.responses) {
      out.text('\n');
      if ('responsePut' in op) this.putInto(out, op.responsePut);
      else if ('responseRange' in op) this.getInto(out, op.responseRange);
      else if ('responseDeleteRange' in op) this.delInto(out, op.responseDeleteRange);
      else this.txnInto(out, op.responseTxn);
    }
  }

  get(r: RangeResponse): void {
    const out = new Parts();
    this.getInto(out, r);
    this.sink.out(out.done());
  }

  put(r: PutResponse): void {
    const out = new Parts();
    this.putInto(out, r);
    this.sink.out(out.done());
  }

  del(r: DeleteRangeResponse): void {
    const out = new Parts();
    this.delInto(out, r);
    this.sink.out(out.done());
  }

  txn(r: TxnResponse): void {
    const out = new Parts();
    this.txnInto(out, r);
    this.sink.out(out.done());
  }

  watch(r: WatchResponse): void {
    const out = new Parts();
    for (const e of r.events) {
      out.text(e.type === 1 ? 'DELETE\n' : 'PUT\n');
      if (e.prevKv) this.kv(out, e.prevKv);
      this.kv(out, e.kv);
    }
    this.sink.out(out.done());
  }

  leaseGrant(r: LeaseGrantResponse): void {
    this.line(`lease ${leaseIdHex(r.ID)} granted with TTL(${r.TTL}s)\n`);
  }

  leaseRevoke(id: bigint, _r: LeaseRevokeResponse): void {
    this.line(`lease ${leaseIdHex(id)} revoked\n`);
  }

  timeToLive(r: LeaseTimeToLiveResponse, keys: boolean): void {
    if (r.grantedTTL === 0 && r.TTL === -1) {
      this.line(`lease ${leaseIdHex(r.ID)} already expired\n`);
      return;
    }
    const out = new Parts().text(`lease ${leaseIdHex(r.ID)} granted with TTL(${r.grantedTTL}s), remaining(${r.TTL}s)`);
    if (keys) {
      out.text(', attached keys([');
      (r.keys ?? []).forEach((k, i) => (i > 0 ? out.text(' ') : out).bytes(k));
      out.text('])');
    }
    this.sink.out(out.text('\n').done());
  }

  leases(r: LeaseLeasesResponse): void {
    let out = `found ${r.leases.length} leases\n`;
    for (const l of r.leases) out += leaseIdHex(l.ID) + '\n';
    this.line(out);
  }

  keepAlive(r: LeaseKeepAliveResponse): void {
    this.line(`lease ${leaseIdHex(r.ID)} keepalived with TTL(${r.TTL})\n`);
  }

  memberAdd(r: MemberAddResponse): void {
    this.line(`Member ${hexSpacePad(r.member.ID)} added to cluster ${hexSpacePad(r.header.clusterId)}\n`);
  }

  memberRemove(id: string, r: MemberChangeResponse): void {
    this.line(`Member ${hexSpacePad(id)} removed from cluster ${hexSpacePad(r.header.clusterId)}\n`);
  }

  memberUpdate(id: string, r: MemberChangeResponse): void {
    this.line(`Member ${hexSpacePad(id)} updated in cluster ${hexSpacePad(r.header.clusterId)}\n`);
  }

  memberPromote(id: string, r: MemberChangeResponse): void {
    this.line(`Member ${hexSpacePad(id)} promoted in cluster ${hexSpacePad(r.header.clusterId)}\n`);
  }

  memberList(r: MemberListResponse): void {
    this.line(r.members.map((m) => memberRow(m).join(', ') + '\n').join(''));
  }

  endpointHealth(list: EndpointHealth[]): void {
    let out = '';
    for (const h of list) {
      out += h.error === undefined || h.error === ''
        ? `${h.endpoint} is healthy: successfully committed proposal: took = ${h.took}\n`
        : `${h.endpoint} is unhealthy: failed to commit proposal: ${h.error}\n`;
    }
    this.sink.err(out);
  }

  endpointStatus(list: EndpointStatus[]): void {
    this.line(list.map((s) => endpointStatusRow(s).join(', ') + '\n').join(''));
  }

  endpointHashKV(list: EndpointHashKV[]): void {
    this.line(list.map((h) => `${h.endpoint}, ${h.hashKV.hash}\n`).join(''));
  }

  moveLeader(leader: string, target: string, _r: HeaderOnlyResponse): void {
    this.line(`Leadership transferred from ${leader} to ${target}\n`);
  }

  alarm(r: AlarmResponse): void {
    this.line(r.alarms.map((a) => alarmText(a) + '\n').join(''));
  }

  snapshotStatus(s: SnapshotStatus): void {
    this.line(snapshotStatusRow(s).join(', ') + '\n');
  }
}
