// Messages between the runner (main thread) and its worker threads. A run: init → ready (clients connected, leases
// granted, watchers created) → start → [progress…] → (stop, for watch runs) → result.
import type { RunOptions } from './workload.js';

export type ToWorker =
  | { type: 'init'; options: RunOptions; workerIndex: number; workerCount: number }
  | { type: 'start' }
  | { type: 'stop' };

export interface WorkerResult {
  /** Requests (or keep-alives) answered without error during the measured window. */
  ok: number;
  errors: number;
  /** A few error messages, for the report. */
  errorSamples: string[];
  /** Request latency histogram (compressed base64). */
  histogram: string;
  /** Measured window of this worker. */
  elapsedMs: number;
  /** CPU time of this worker thread during the measured window. */
  threadCpuSeconds: number;
  /** Watch runs: events delivered, and put-to-event latency (compressed base64). */
  events: number;
  eventHistogram: string;
}

export type FromWorker =
  | { type: 'ready'; watchers: number; preparedMs: number; threadCpuSeconds: number }
  | { type: 'progress'; events: number; created: number }
  | { type: 'result'; result: WorkerResult }
  | { type: 'failed'; message: string };
