// Renders a comparison as bench/RESULTS.md: the machine and settings, the generator's calibration, one table per
// workload (medians over rounds; the first server is the reference the others are divided by), every run in detail,
// and the exact command lines of the members and of each load.
import { formatRate, formatUs } from '../loadgen/format.js';
import type { LatencySummary } from '../loadgen/histogram.js';
import type { CompareReport, Measurement, PathKind } from './compare.js';
import { compareWorkloads, type CompareWorkload } from './matrix.js';
import { servers } from './servers.js';

/** Median; the mean of the middle two for an even count. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function mib(bytes: number): string {
  return Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(0)} MiB` : 'n/a';
}

function num(value: number, format: (v: number) => string): string {
  return Number.isFinite(value) ? format(value) : 'n/a';
}

function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a';
}

interface Cell {
  rate: number;
  p50Us: number;
  p99Us: number;
  rssBytes: number;
  cores: number;
  /** watch runs: bytes of server memory per watcher */
  bytesPerWatcher: number;
  /** watch runs: the lowest share of expected events delivered over the rounds (1 otherwise) */
  deliveredFraction: number;
  runs: number;
  missing: string | undefined;
}

function latencyOf(m: Measurement): LatencySummary | undefined {
  return m.result?.watch?.eventLatency ?? m.result?.latency;
}

function cell(ms: Measurement[]): Cell {
  const done = ms.filter((m) => m.result !== undefined && m.figures !== undefined);
  const rate = (m: Measurement): number => (m.result!.watch !== undefined ? m.result!.watch.eventsPerSecond : m.result!.throughput);
  return {
    rate: median(done.map(rate)),
    p50Us: median(done.map((m) => latencyOf(m)!.p50Us)),
    p99Us: median(done.map((m) => latencyOf(m)!.p99Us)),
    rssBytes: median(done.map((m) => m.figures!.rssMaxBytes)),
    cores: median(done.map((m) => m.figures!.cores)),
    bytesPerWatcher: median(done.filter((m) => m.result!.watch !== undefined && m.result!.watch.watchers > 0).map((m) => (m.figures!.rssMaxBytes - m.figures!.rssBeforeBytes) / m.result!.watch!.watchers)),
    deliveredFraction: Math.min(1, ...done.map((m) => (m.result!.watch !== undefined && m.result!.watch.expectedEvents > 0 ? m.result!.watch.events / m.result!.watch.expectedEvents : 1))),
    runs: done.length,
    missing: done.length === 0 ? (ms.find((m) => m.missing !== undefined)?.missing ?? 'not run') : undefined,
  };
}

const pathTitle: Record<PathKind, string> = { best: 'fastest path', json: 'JSON path' };

function driverName(serverName: string, path: PathKind): string {
  const def = servers[serverName];
  if (def === undefined) return '?';
  const kind = path === 'best' ? def.drivers.best : def.drivers.json;
  switch (kind) {
    case 'grpc':
      return 'gRPC';
    case 'grpc-h2':
      return 'gRPC/h2';
    case 'http':
      return serverName === 'etcd' ? 'gateway' : 'HTTP';
    case 'ws':
      return 'WS';
  }
}

function workloadTable(report: CompareReport, workload: CompareWorkload, footnotes: string[]): string {
  const names = report.settings.serverNames;
  const reference = names[0]!;
  const watch = workload.metric === 'events';
  const unit = watch ? 'events/s' : workload.metric === 'keep-alives' ? 'keep-alives/s' : 'req/s';
  const header: string[] = ['members', 'path'];
  for (const n of names) {
    if (watch) header.push(`${n} ${unit}`, `${n} put→event p50`, `${n} p99`, `${n} memory/watcher`, `${n} CPU`);
    else header.push(`${n} ${unit}`, `${n} p50`, `${n} p99`, `${n} RSS`, `${n} CPU`);
  }
  for (const n of names.slice(1)) header.push(`${n}/${reference}`);
  const rows: string[][] = [];
  const sizes = [...new Set(report.measurements.filter((m) => m.workload.id === workload.id).map((m) => m.clusterSize))].sort();
  for (const size of sizes) {
    for (const path of ['best', 'json'] as PathKind[]) {
      if (workload.paths !== undefined && !workload.paths.includes(path)) continue;
      const row: string[] = [String(size), pathTitle[path]];
      const cells = names.map((n) => cell(report.measurements.filter((m) => m.workload.id === workload.id && m.clusterSize === size && m.path === path && m.server === n)));
      cells.forEach((c, i) => {
        const n = names[i]!;
        if (c.missing !== undefined) {
          const note = c.missing.startsWith('n/a') || report.unavailable.has(n) ? 'n/a' : c.missing.startsWith('skipped') ? 'skipped' : 'failed';
          if (note === 'failed') footnotes.push(`${workload.id}, ${size} member(s), ${n} ${driverName(n, path)}: ${c.missing}`);
          row.push(note, '', '', '', '');
          return;
        }
        const d = driverName(n, path);
        const rate = `${num(c.rate, formatRate)} (${d}${c.deliveredFraction < 0.999 ? `, ${Math.floor(c.deliveredFraction * 100)}% delivered` : ''})`;
        if (watch) row.push(rate, num(c.p50Us, formatUs), num(c.p99Us, formatUs), num(c.bytesPerWatcher, (v) => `${Math.max(0, v / 1024).toFixed(1)} KiB`), num(c.cores, (v) => v.toFixed(2)));
        else row.push(rate, num(c.p50Us, formatUs), num(c.p99Us, formatUs), mib(c.rssBytes), num(c.cores, (v) => v.toFixed(2)));
      });
      for (let i = 1; i < cells.length; i++) row.push(ratio(cells[i]!.rate, cells[0]!.rate));
      rows.push(row);
    }
  }
  const lines = [`| ${header.join(' | ')} |`, `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  return lines.join('\n');
}

function cellOf(report: CompareReport, server: string, workloadId: string, size: number, path: PathKind): Cell {
  return cell(report.measurements.filter((m) => m.server === server && m.workload.id === workloadId && m.clusterSize === size && m.path === path));
}

const putIds = ['put-1', 'put-64', 'put-256'];

interface PutPick {
  workloadId: string;
  path: PathKind;
  cell: Cell;
}

/** The highest median put rate of `server` on a cluster of `size` over the put workloads and the given paths. */
function bestPut(report: CompareReport, server: string, size: number, paths: PathKind[]): PutPick | undefined {
  let best: PutPick | undefined;
  for (const workloadId of putIds) {
    for (const path of paths) {
      const c = cellOf(report, server, workloadId, size, path);
      if (c.missing === undefined && Number.isFinite(c.rate) && (best === undefined || c.rate > best.cell.rate)) best = { workloadId, path, cell: c };
    }
  }
  return best;
}

function putTarget(report: CompareReport, size: number, factor: number, p99Matters: boolean): string {
  const e = bestPut(report, 'etcd', size, ['best']);
  const t = bestPut(report, 'tetcd', size, ['best', 'json']);
  const goal = `${size === 1 ? 'single-member' : `${size}-member`} durable puts at least ${factor}x etcd's best gRPC rate${p99Matters ? ' at equal or better p99' : ''}`;
  if (e === undefined || t === undefined) return `- **not measured**: ${goal} (no put runs of both servers on ${size} member(s))`;
  const tDriver = driverName('tetcd', t.path);
  const sameRow = cellOf(report, 'etcd', t.workloadId, size, 'best');
  const rateRatio = t.cell.rate / e.cell.rate;
  const p99Ok = sameRow.missing === undefined && t.cell.p99Us <= sameRow.p99Us;
  const met = rateRatio >= factor && (!p99Matters || p99Ok);
  const rows = putIds
    .map((id) => {
      const ec = cellOf(report, 'etcd', id, size, 'best');
      const tw = cellOf(report, 'tetcd', id, size, 'best');
      const tj = cellOf(report, 'tetcd', id, size, 'json');
      const tc = tj.missing === undefined && (tw.missing !== undefined || tj.rate > tw.rate) ? { c: tj, d: driverName('tetcd', 'json') } : { c: tw, d: driverName('tetcd', 'best') };
      if (ec.missing !== undefined || tc.c.missing !== undefined) return undefined;
      return `${id}: ${ratio(tc.c.rate, ec.rate)} (tetcd ${formatRate(tc.c.rate)}/s ${tc.d}, p99 ${formatUs(tc.c.p99Us)}; etcd ${formatRate(ec.rate)}/s, p99 ${formatUs(ec.p99Us)})`;
    })
    .filter((r): r is string => r !== undefined);
  return (
    `- **${met ? 'met' : 'not met'}**: ${goal}. etcd's best: ${formatRate(e.cell.rate)}/s (${e.workloadId}, p99 ${formatUs(e.cell.p99Us)}); ` +
    `tetcd's best: ${formatRate(t.cell.rate)}/s (${t.workloadId}, ${tDriver}, p99 ${formatUs(t.cell.p99Us)}; etcd's p99 at that concurrency ${num(sameRow.p99Us, formatUs)}): ` +
    `**${rateRatio.toFixed(2)}x**${p99Matters ? `, p99 ${p99Ok ? 'equal or better' : 'worse'}` : ''}. Per concurrency, tetcd's faster path against etcd gRPC: ${rows.join('; ')}.`
  );
}

function watchTarget(report: CompareReport): string {
  const goal = 'watch fan-out at 100,000 watchers: at least 2x etcd\'s delivered events/s, with lower put-to-event p99 and less memory per watcher';
  const e = cellOf(report, 'etcd', 'watch-100k', 1, 'best');
  const t = cellOf(report, 'tetcd', 'watch-100k', 1, 'best');
  if (e.missing !== undefined || t.missing !== undefined) return `- **not measured**: ${goal} (${e.missing ?? t.missing})`;
  const rateRatio = t.rate / e.rate;
  const p99Lower = t.p99Us < e.p99Us;
  const memoryLower = t.bytesPerWatcher < e.bytesPerWatcher;
  const met = rateRatio >= 2 && p99Lower && memoryLower;
  const kib = (v: number): string => `${Math.max(0, v / 1024).toFixed(2)} KiB`;
  const parts = [
    `events/s **${rateRatio.toFixed(2)}x** (tetcd ${formatRate(t.rate)}, etcd ${formatRate(e.rate)}${t.deliveredFraction < 0.999 || e.deliveredFraction < 0.999 ? `; delivered tetcd ${Math.floor(t.deliveredFraction * 100)}%, etcd ${Math.floor(e.deliveredFraction * 100)}%` : ''})`,
    `p99 ${p99Lower ? 'lower' : 'not lower'} (tetcd ${formatUs(t.p99Us)}, etcd ${formatUs(e.p99Us)})`,
    `memory per watcher ${memoryLower ? 'less' : 'not less'} (tetcd ${kib(t.bytesPerWatcher)}, etcd ${kib(e.bytesPerWatcher)})`,
  ];
  return `- **${met ? 'met' : 'not met'}**: ${goal}: ${parts.join('; ')}.`;
}

/** Where each target of the comparison stands, from the medians above (tetcd's fastest paths against etcd's gRPC). */
function targetsSection(report: CompareReport): string[] {
  const names = report.settings.serverNames;
  if (!names.includes('etcd') || !names.includes('tetcd')) return [];
  return [
    '## Targets',
    '',
    'From the medians above; tetcd on the faster of its two paths (WebSocket or HTTP JSON) against etcd on gRPC. On a 2-core machine shared with other work, a ratio within about 20% of its goal is within the noise of one run.',
    '',
    putTarget(report, 1, 1.5, true),
    putTarget(report, 3, 1.5, false),
    watchTarget(report),
    '',
  ];
}

function rawTable(report: CompareReport): string {
  const lines = [
    '| server | members | round | workload | driver | rate | p50 | p99 | errors | server CPU | server RSS max | generator CPU | generator us/op |',
    '| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const m of report.measurements) {
    if (m.result === undefined || m.figures === undefined) continue;
    const r = m.result;
    const l = latencyOf(m)!;
    const rate = r.watch !== undefined ? `${formatRate(r.watch.eventsPerSecond)} ev/s (${r.watch.events}/${r.watch.expectedEvents}, ${r.watch.watchers} watchers in ${r.watch.createSeconds.toFixed(1)} s)` : `${formatRate(r.throughput)}/s`;
    lines.push(
      `| ${m.server} | ${m.clusterSize} | ${m.round} | ${m.workload.id} | ${r.options.driver} | ${rate} | ${formatUs(l.p50Us)} | ${formatUs(l.p99Us)} | ${r.errors} | ${m.figures.cores.toFixed(2)} | ${mib(m.figures.rssMaxBytes)} | ${r.cpu.processCores.toFixed(2)} | ${r.cpu.usPerOperation.toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

export function renderResults(report: CompareReport): string {
  const s = report.settings;
  const out: string[] = [];
  out.push('# tetcd and etcd side by side (`make bench-compare`)');
  out.push('');
  if (report.unavailable.size > 0) {
    const list = [...report.unavailable].map(([n, why]) => `${n}: ${why}`).join('; ');
    out.push(`> **Sample output.** Some servers could not run, so their columns read n/a (${list}). Re-run \`make bench-compare\` once they can.`);
    out.push('');
  }
  out.push(`- machine: ${report.machine}`);
  out.push(`- started ${report.startedAt}, took ${report.elapsedSeconds.toFixed(0)} s; commit ${report.gitCommit}; 1-minute load average ${report.loadAverage[0].toFixed(1)} at the start, ${report.loadAverage[1].toFixed(1)} at the end (above the core count, other work shared the machine and the figures are low and noisy)`);
  out.push(`- servers: ${s.serverNames.join(', ')} (the first is the reference of the ratios); cluster sizes: ${s.clusterSizes.join(', ')}; ${s.rounds} round(s), each server on a fresh cluster with new data dirs per round, in turn (A, B, A, B)`);
  out.push(`- each run: ${s.warmupMs / 1000} s warm-up, then ${s.durationMs / 1000} s measured (watch runs: until every put reached every watcher, or events stopped coming for 3 s, or 30 s after the last put)`);
  out.push('- durability: etcd fsyncs its WAL on every commit; tetcd runs with its default durability (fsync on), never --unsafe-no-fsync');
  out.push('- figures are medians over rounds (the mean of the middle two when even); latencies are per request (watch: from the put being sent to the event arriving); RSS and CPU are all members together, sampled from /proc every 200 ms during the run; the generator runs on the same cores');
  out.push('- paths: "fastest" is gRPC for etcd (unary calls on the generator\'s own HTTP/2 client, "gRPC/h2": grpc-js would be the ceiling; streams on grpc-js) and WebSocket for tetcd; "JSON" is the HTTP/1.1 JSON gateway for both');
  out.push('- watch runs: every watcher watches one key; the writer sends each put when it is due (up to 8 in flight), not after the answer to the previous put; events/s counts events delivered from the first put to the last event; "x% delivered" marks runs where events were still missing at the end; memory per watcher is the rise of the members\' RSS while the watchers were created and served, over the watchers');
  out.push('- writes (put, txn-put) on 3 members go to the leader alone (found from each member\'s maintenance status); reads, watches and leases spread their connections over every member');
  out.push('- etcd 3.4\'s gateway stops reading a stream request\'s body once it has flushed its first answer: the generator sends gateway watch creates 40 per POST (re-sending unanswered ones) and keep-alives 25 per POST; keep-alives the gateway never answered count as errors');
  out.push('');
  out.push('## The generator\'s own ceiling (calibration)');
  out.push('');
  out.push('The same generator against a trivial endpoint in another process (uWebSockets.js answering a fixed body; for gRPC, Node\'s http2 server answering a fixed PutResponse, itself a bottleneck, so that row is a lower bound). A server result close to these rates measures the generator, not the server.');
  out.push('');
  out.push('| driver | requests/s | p50 | p99 | generator CPU (cores) | generator us/request | endpoint CPU (cores) |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const c of report.calibration) {
    out.push(`| ${c.options.driver} | ${formatRate(c.throughput)} | ${formatUs(c.latency.p50Us)} | ${formatUs(c.latency.p99Us)} | ${c.cpu.processCores.toFixed(2)} | ${c.cpu.usPerOperation.toFixed(1)} | ${c.serverCores.toFixed(2)} |`);
  }
  out.push('');
  const footnotes: string[] = [];
  for (const w of compareWorkloads) {
    if (!report.measurements.some((m) => m.workload.id === w.id)) continue;
    out.push(`## ${w.id}: ${w.title}`);
    out.push('');
    out.push(workloadTable(report, w, footnotes));
    out.push('');
  }
  out.push(...targetsSection(report));
  if (footnotes.length > 0) {
    out.push('## Failed runs');
    out.push('');
    for (const f of footnotes) out.push(`- ${f}`);
    out.push('');
  }
  out.push('## Every run');
  out.push('');
  out.push(rawTable(report));
  out.push('');
  out.push('## Commands');
  out.push('');
  out.push('Members (data dirs under a fresh temp dir, shown as `<tmp>`; ports picked free per cluster):');
  out.push('');
  out.push('```');
  for (const [key, lines] of report.serverCommands) {
    out.push(`# ${key} member(s)`);
    for (const l of lines) out.push(l);
  }
  out.push('```');
  out.push('');
  out.push('Loads (endpoints are those of the cluster of that run):');
  out.push('');
  out.push('```');
  for (const c of report.calibrationCommands) out.push(c);
  const seen = new Set<string>();
  for (const m of report.measurements) {
    if (m.command === '') continue;
    const generic = m.command.replace(/--endpoints \S+/, '--endpoints <cluster>');
    if (seen.has(generic)) continue;
    seen.add(generic);
    out.push(generic);
  }
  out.push('```');
  out.push('');
  out.push(`Regenerate: \`make bench-compare\` (settings: BENCH_DURATION=${s.durationMs / 1000} BENCH_WARMUP=${s.warmupMs / 1000} BENCH_ROUNDS=${s.rounds} BENCH_CLUSTERS=${s.clusterSizes.join(',')} BENCH_SERVERS=${s.serverNames.join(',')}${s.workloadIds !== undefined ? ` BENCH_WORKLOADS=${s.workloadIds.join(',')}` : ''}).`);
  out.push('');
  return out.join('\n');
}
