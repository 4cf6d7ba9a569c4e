// Latency histograms: HDR histograms (3 significant digits, microseconds) so p99.9 and max stay exact enough at any
// request count, cheap to record into, and mergeable across worker threads (they travel as compressed base64).
import * as hdr from 'hdr-histogram-js';
import { limits } from './limits.js';

export type Histogram = hdr.Histogram;

export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

export function createHistogram(): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: limits.latencyUsMax, numberOfSignificantValueDigits: 3, autoResize: false });
}

/** Records one latency, clamped into the tracked range (a value past the top counts as the top). */
export function recordUs(histogram: Histogram, latencyUs: number): void {
  const v = latencyUs < 1 ? 1 : latencyUs > limits.latencyUsMax ? limits.latencyUsMax : Math.round(latencyUs);
  histogram.recordValue(v);
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

export function decodeHistogram(encoded: string): Histogram {
  return hdr.decodeFromCompressedBase64(encoded, 32, false);
}

/** Merges encoded histograms (one per worker) into a new histogram. */
export function mergeEncoded(encoded: string[]): Histogram {
  const merged = createHistogram();
  for (const e of encoded) merged.add(decodeHistogram(e));
  return merged;
}

export function summarize(histogram: Histogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count: 0, meanUs: 0, p50Us: 0, p90Us: 0, p99Us: 0, p999Us: 0, maxUs: 0 };
  return {
    count,
    meanUs: histogram.mean,
    p50Us: histogram.getValueAtPercentile(50),
    p90Us: histogram.getValueAtPercentile(90),
    p99Us: histogram.getValueAtPercentile(99),
    p999Us: histogram.getValueAtPercentile(99.9),
    maxUs: histogram.maxValue,
  };
}
