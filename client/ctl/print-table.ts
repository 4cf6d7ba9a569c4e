// etcdctl's "table" output, for the commands that have one (member list, endpoint status/health/hashkv, snapshot
// status): ASCII borders, headers centred, cells right-aligned, and cells wider than 30 characters wrapped at spaces
// into several lines with the fewest ragged ends (a minimum-raggedness line break), as etcdctl's table library does.
import type { MemberListResponse } from '../../actors/api/types.js';
import {
  endpointStatusHeader,
  endpointStatusRow,
  memberHeader,
  memberRow,
  snapshotStatusHeader,
  snapshotStatusRow,
} from './rows.js';
import { unsupported, type EndpointHashKV, type EndpointHealth, type EndpointStatus, type Printer, type PrinterOptions, type Sink, type SnapshotStatus } from './printer.js';

const wrapWidthMax = 30;

/** Breaks words into lines of at most `limit` characters, minimising the sum of squared slack (last line free). */
export function wrapWords(words: string[], limit: number): string[][] {
  const n = words.length;
  if (n === 0) return [];
  const length = (i: number, j: number) => {
    let sum = j - i; // spaces
    for (let k = i; k <= j; k++) sum += words[k]!.length;
    return sum;
  };
  const cost = new Array<number>(n).fill(Number.MAX_SAFE_INTEGER);
  const breakAt = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (length(i, n - 1) <= limit) {
      cost[i] = 0;
      breakAt[i] = n;
      continue;
    }
    for (let j = i + 1; j < n; j++) {
      const slack = limit - length(i, j - 1);
      let c = slack * slack + cost[j]!;
      if (length(i, j - 1) > limit) c += 1_000_000; // a line that overflows is the last resort
      if (c < cost[i]!) {
        cost[i] = c;
        breakAt[i] = j;
      }
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = breakAt[i]!) lines.push(words.slice(i, breakAt[i]!));
  return lines;
}

/** A cell's lines: split on newlines, each paragraph wrapped to the column limit. */
function cellLines(text: string): { lines: string[]; width: number } {
  const paragraphs = text.split('\n');
  let natural = 0;
  for (const p of paragraphs) natural = Math.max(natural, p.length);
  let limit = Math.min(natural, wrapWidthMax);
  const lines: string[] = [];
  let width = limit;
  paragraphs.forEach((p, index) => {
    const words = p.split(' ');
    for (const w of words) limit = Math.max(limit, w.length);
    const wrapped = wrapWords(words, limit).map((ws) => ws.join(' '));
    for (const l of wrapped) width = Math.max(width, l.length);
    if (index > 0) lines.push(' ');
    lines.push(...wrapped);
  });
  return { lines, width };
}

function center(text: string, width: number): string {
  const gap = width - text.length;
  if (gap <= 0) return text;
  const left = Math.floor(gap / 2);
  return ' '.repeat(left) + text + ' '.repeat(gap - left);
}

export function renderTable(header: string[], rows: string[][]): string {
  const columns = header.length;
  const widths = new Array<number>(columns).fill(0);
  const headerCells = header.map((h, i) => {
    const c = cellLines(h);
    widths[i] = Math.max(widths[i]!, c.width);
    return c.lines;
  });
  const bodyCells = rows.map((row) =>
    row.map((cell, i) => {
      const c = cellLines(cell);
      widths[i] = Math.max(widths[i]!, c.width);
      return c.lines;
    }),
  );
  const border = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+\n';
  const renderRow = (cells: string[][], align: (text: string, width: number) => string) => {
    const height = Math.max(...cells.map((c) => c.length));
    let out = '';
    for (let line = 0; line < height; line++) {
      out += '|' + cells.map((c, i) => ' ' + align(c[line] ?? '', widths[i]!) + ' ').join('|') + '|\n';
    }
    return out;
  };
  let out = border + renderRow(headerCells, center) + border;
  for (const cells of bodyCells) out += renderRow(cells, (t, w) => t.padStart(w, ' '));
  return out + border;
}

export class TablePrinter implements Printer {
  constructor(private readonly sink: Sink, _options: PrinterOptions) {}

  get = unsupported('table');
  put = unsupported('table');
  del = unsupported('table');
  txn = unsupported('table');
  watch = unsupported('table');
  leaseGrant = unsupported('table');
  leaseRevoke = unsupported('table');
  timeToLive = unsupported('table');
  leases = unsupported('table');
  keepAlive = unsupported('table');
  memberAdd = unsupported('table');
  memberRemove = unsupported('table');
  memberUpdate = unsupported('table');
  memberPromote = unsupported('table');
  moveLeader = unsupported('table');
  alarm = unsupported('table');

  memberList(r: MemberListResponse): void {
    this.sink.out(renderTable(memberHeader, r.members.map(memberRow)));
  }

  endpointHealth(list: EndpointHealth[]): void {
    const rows = list.map((h) => [h.endpoint, String(h.health), h.took, h.error ?? '']);
    this.sink.out(renderTable(['ENDPOINT', 'HEALTH', 'TOOK', 'ERROR'], rows));
  }

  endpointStatus(list: EndpointStatus[]): void {
    this.sink.out(renderTable(endpointStatusHeader, list.map(endpointStatusRow)));
  }

  endpointHashKV(list: EndpointHashKV[]): void {
    this.sink.out(renderTable(['ENDPOINT', 'HASH'], list.map((h) => [h.endpoint, String(h.hashKV.hash)])));
  }

  snapshotStatus(s: SnapshotStatus): void {
    this.sink.out(renderTable(snapshotStatusHeader, [snapshotStatusRow(s)]));
  }
}
