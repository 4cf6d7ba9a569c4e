// Human-readable output of a run: throughput, the latency histogram's percentiles, errors, and the generator's own
// CPU, in the spirit of etcd's benchmark tool summary.
import type { LatencySummary } from './histogram.js';
import type { RunResult } from './runner.js';
import { describeWorkload } from './workload.js';

/** Microseconds as a short duration: 850us, 1.23ms, 12.3ms, 1.20s. */
export function formatUs(us: number): string {
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 10_000) return `${(us / 1000).toFixed(2)}ms`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)}ms`;
  return `${(us / 1e6).toFixed(2)}s`;
}

/** A rate with thousands separators and no decimals above 100. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 100) return Math.round(perSecond).toLocaleString('en-US');
  return perSecond.toFixed(1);
}

export function formatLatency(l: LatencySummary): string {
  if (l.count === 0) return 'no samples';
  return `p50 ${formatUs(l.p50Us)}  p90 ${formatUs(l.p90Us)}  p99 ${formatUs(l.p99Us)}  p99.9 ${formatUs(l.p999Us)}  max ${formatUs(l.maxUs)}  (mean ${formatUs(l.meanUs)}, ${l.count.toLocaleString('en-US')} samples)`;
}

export function formatResult(r: RunResult): string {
  const o = r.options;
  const lines: string[] = [];
  lines.push(`${describeWorkload(o.workload)}`);
  lines.push(`  driver ${o.driver} -> ${o.endpoints.join(',')}; ${o.clients} client(s) over ${o.connections} connection(s), ${o.workers} worker thread(s)${o.rate > 0 ? `, rate limit ${o.rate}/s` : ''}`);
  const unit = o.workload.type === 'lease-keepalive' ? 'keep-alives' : 'requests';
  if (r.watch === undefined) {
    lines.push(`  ${unit.padEnd(10)} ${r.ok.toLocaleString('en-US')} in ${r.elapsedSeconds.toFixed(2)} s = ${formatRate(r.throughput)}/s, errors ${r.errors}`);
    lines.push(`  latency    ${formatLatency(r.latency)}`);
  } else {
    const w = r.watch;
    lines.push(`  watchers   ${w.watchers.toLocaleString('en-US')} created in ${w.createSeconds.toFixed(2)} s (${formatRate(w.watchers / Math.max(w.createSeconds, 1e-9))}/s)`);
    lines.push(`  events     ${w.events.toLocaleString('en-US')} of ${w.expectedEvents.toLocaleString('en-US')} from ${w.puts} puts${w.putErrors > 0 ? ` (${w.putErrors} puts failed)` : ''} = ${formatRate(w.eventsPerSecond)} events/s, errors ${r.errors}`);
    lines.push(`  put->event ${formatLatency(w.eventLatency)}`);
  }
  if (r.errorSamples.length > 0) lines.push(`  error samples: ${r.errorSamples.join(' | ')}`);
  const c = r.cpu;
  lines.push(
    `  generator  CPU ${c.processCores.toFixed(2)} cores (workers ${c.workerCores.map((x) => x.toFixed(2)).join('+')}, main ${c.mainCores.toFixed(2)}), ${c.usPerOperation.toFixed(1)} us per ${r.watch === undefined ? 'request' : 'event'}`,
  );
  return lines.join('\n');
}
