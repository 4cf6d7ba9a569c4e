// TEMP stall probe
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
export function stallProbe(name: string): void {
  if (!process.env.TETCD_STALL_PROBE) return;
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const gcs: number[] = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) gcs.push(e.duration); }).observe({ entryTypes: ['gc'] });
  setInterval(() => {
    const big = gcs.filter((d) => d > 10);
    process.stderr.write(`STALL ${name} p99=${(h.percentile(99) / 1e6).toFixed(1)}ms max=${(h.max / 1e6).toFixed(1)}ms gcs=${gcs.length} gcTotal=${gcs.reduce((a, b) => a + b, 0).toFixed(0)}ms gc>10ms=${big.length} gcMax=${Math.max(0, ...gcs).toFixed(1)}\n`);
    h.reset();
    gcs.length = 0;
  }, 3000).unref();
}
