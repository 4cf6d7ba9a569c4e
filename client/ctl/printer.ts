// What tetcdctl prints, per output format, behind one interface, as etcdctl's printers are. Each format lives in its
// own module and is loaded only when -w asks for it. A format that has no rendering for a response throws
// UnsupportedFormatError, which exits 4 with etcdctl's "<format> not supported as output format" (after the request
// was made, as etcdctl does).
import type {
  DeleteRangeResponse,
  HashKVResponse,
  LeaseGrantResponse,
  LeaseKeepAliveResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveResponse,
  MemberListResponse,
  PutResponse,
  RangeResponse,
  StatusResponse,
  TxnResponse,
  WatchResponse,
} from '../../actors/api/types.js';
import type { AlarmResponse, HeaderOnlyResponse, MemberAddResponse, MemberChangeResponse } from '../types.js';

export type OutputFormat = 'simple' | 'json' | 'fields' | 'table' | 'protobuf';

export class UnsupportedFormatError extends Error {
  constructor(readonly format: string) {
    super(`${format} not supported as output format`);
  }
}

export interface EndpointHealth {
  endpoint: string;
  health: boolean;
  /** Go's Duration.String of the check. */
  took: string;
  error?: string;
}

export interface EndpointStatus {
  endpoint: string;
  status: StatusResponse;
}

export interface EndpointHashKV {
  endpoint: string;
  hashKV: HashKVResponse;
}

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

/** Where printers write. Buffered: a command's output leaves in one write per response. */
export interface Sink {
  /** Strings are written as UTF-8; bytes (keys and values) as they are. */
  out(data: string | Uint8Array): void;
  err(data: string | Uint8Array): void;
}

export interface Printer {
  get(r: RangeResponse): void;
  put(r: PutResponse): void;
  del(r: DeleteRangeResponse): void;
  txn(r: TxnResponse): void;
  watch(r: WatchResponse): void;
  leaseGrant(r: LeaseGrantResponse): void;
  leaseRevoke(id: bigint, r: LeaseRevokeResponse): void;
  timeToLive(r: LeaseTimeToLiveResponse, keys: boolean): void;
  leases(r: LeaseLeasesResponse): void;
  keepAlive(r: LeaseKeepAliveResponse): void;
  memberAdd(r: MemberAddResponse): void;
  memberRemove(id: string, r: MemberChangeResponse): void;
  memberUpdate(id: string, r: MemberChangeResponse): void;
  memberPromote(id: string, r: MemberChangeResponse): void;
  memberList(r: MemberListResponse): void;
  endpointHealth(list: EndpointHealth[]): void;
  endpointStatus(list: EndpointStatus[]): void;
  endpointHashKV(list: EndpointHashKV[]): void;
  moveLeader(leader: string, target: string, r: HeaderOnlyResponse): void;
  alarm(r: AlarmResponse): void;
  snapshotStatus(s: SnapshotStatus): void;
}

export interface PrinterOptions {
  hex: boolean;
  /** get --print-value-only */
  valueOnly: boolean;
}

export async function loadPrinter(format: OutputFormat, sink: Sink, options: PrinterOptions): Promise<Printer> {
  switch (format) {
    case 'simple':
      return new (await import('./print-simple.js')).SimplePrinter(sink, options);
    case 'json':
      return new (await import('./print-json.js')).JsonPrinter(sink);
    case 'fields':
      return new (await import('./print-fields.js')).FieldsPrinter(sink, options);
    case 'table':
      return new (await import('./print-table.js')).TablePrinter(sink, options);
    case 'protobuf':
      throw new UnsupportedFormatError('protobuf');
  }
}

/** A printer for a format etcdctl has no rendering of for some responses: those throw. */
export function unsupported(format: string): () => never {
  return () => {
    throw new UnsupportedFormatError(format);
  };
}
