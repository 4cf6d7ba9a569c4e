// Runs one load: starts the worker threads, waits until all are connected (and, for watch and keep-alive runs,
// prepared), starts them together, drives the putter of watch runs from this thread, merges the workers' histograms
// and measures the generator's own CPU (whole process, and per thread) so every figure comes with its cost.
import { Worker } from 'node:worker_threads';
import { createDriver } from './drivers/index.js';
import { TimeoutError } from './errors.js';
import { mergeEncoded, summarize, type LatencySummary } from './histogram.js';
import { limits } from './limits.js';
import { threadCpuSeconds } from './proc-stats.js';
import { stampedValue } from './stamp.js';
import type { FromWorker, WorkerResult } from './worker-protocol.js';
import { validate, type RunOptions, type WatchWorkload } from './workload.js';

export interface GeneratorCpu {
  /** Process CPU (all threads, user + system) over the measured window, in cores (CPU seconds per second). */
  processCores: number;
  /** Worker threads' own CPU over their measured windows, in cores. */
  workerCores: number[];
  /** Main thread CPU over the window, in cores. */
  mainCores: number;
  /** Process CPU microseconds per answered request (or per delivered event for watch runs). */
  usPerOperation: number;
}

export interface WatchFigures {
  watchers: number;
  /** Time from the first create sent to the last `created` seen. */
  createSeconds: number;
  /** Puts answered without error (each should reach every watcher). */
  puts: number;
  putErrors: number;
  expectedEvents: number;
  events: number;
  /** Delivered events per second, from the first put to the last event (or the drain deadline). */
  eventsPerSecond: number;
  eventLatency: LatencySummary;
}

export interface RunResult {
  options: RunOptions;
  ok: number;
  errors: number;
  errorSamples: string[];
  elapsedSeconds: number;
  /** Answered requests per second over the measured window (keep-alives per second for lease runs). */
  throughput: number;
  latency: LatencySummary;
  cpu: GeneratorCpu;
  watch?: WatchFigures;
}

const workerUrl = new URL('./worker.js', import.meta.url);
/**
 * A young generation larger than V8's default: grpc-js makes a lot of short-lived garbage per call, and fewer,
 * larger scavenges cost the worker noticeably less CPU.
 */
const youngGenerationMb = 64;

class WorkerHandle {
  readonly worker: Worker;
  private readonly waiters = new Map<FromWorker['type'], (m: FromWorker) => void>();
  lastProgress = { events: 0, created: 0 };
  failure: Error | undefined;

  constructor(private readonly onFailure: (error: Error) => void) {
    this.worker = new Worker(workerUrl, { resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } });
    this.worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') this.lastProgress = m;
      if (m.type === 'failed') return this.fail(new Error(`worker failed: ${m.message}`));
      const waiter = this.waiters.get(m.type);
      if (waiter !== undefined) {
        this.waiters.delete(m.type);
        waiter(m);
      }
    });
    this.worker.on('error', (error) => this.fail(error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.onFailure(error);
  }

  next<T extends FromWorker['type']>(type: T, timeoutMs: number): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`worker did not report '${type}' within ${timeoutMs} ms`)), timeoutMs);
      // The worker keeps the process alive while it runs; a wait left over after a failure must not (it kept the
      // comparison hanging for minutes after a worker failed and every worker was terminated).
      timer.unref();
      this.waiters.set(type, (m) => {
        clearTimeout(timer);
        resolve(m as Extract<FromWorker, { type: T }>);
      });
    });
  }
}

function cores(cpuSeconds: number, seconds: number): number {
  return seconds > 0 ? cpuSeconds / seconds : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the load described by `options` and returns its figures. */
export async function runLoad(requested: RunOptions): Promise<RunResult> {
  validate(requested);
  // every worker opens at least one connection: say so in the result rather than report fewer than were opened
  const unary = requested.workload.type === 'put' || requested.workload.type === 'range' || requested.workload.type === 'txn-put';
  const workerCount = unary ? Math.min(requested.workers, requested.clients) : requested.workers;
  const options: RunOptions = { ...requested, workers: workerCount, connections: Math.max(requested.connections, workerCount) };
  let rejectFailure: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    rejectFailure = reject;
  });
  failed.catch(() => {});
  const handles = Array.from({ length: workerCount }, () => new WorkerHandle((error) => rejectFailure(error)));
  const race = <T>(p: Promise<T>): Promise<T> => Promise.race([p, failed]);
  try {
    const prepareMs = limits.runMsMax;
    const ready = handles.map((h) => h.next('ready', prepareMs));
    handles.forEach((h, i) => h.worker.postMessage({ type: 'init', options, workerIndex: i, workerCount }));
    const prepareStart = performance.now();
    const readies = await race(Promise.all(ready));
    const prepareSeconds = (performance.now() - prepareStart) / 1000;

    const results = handles.map((h) => h.next('result', limits.runMsMax + limits.requestTimeoutMs * 2));
    const cpu0 = process.cpuUsage();
    const main0 = threadCpuSeconds();
    const wall0 = performance.now();
    let windowCpu = cpu0;
    let windowMain = main0;
    let windowWall = wall0;
    // the process-wide CPU window starts after the warm-up, like the workers' own windows
    const warmupTimer = setTimeout(() => {
      windowCpu = process.cpuUsage();
      windowMain = threadCpuSeconds();
      windowWall = performance.now();
    }, options.warmupMs);
    for (const h of handles) h.worker.postMessage({ type: 'start' });

    const w = options.workload;
    let watch: WatchFigures | undefined;
    let putterErrorSamples: string[] = [];
    if (w.type === 'watch' || w.type === 'watch-latency') {
      clearTimeout(warmupTimer);
      const watchers = readies.reduce((sum, r) => sum + r.watchers, 0);
      const putter = await runPutter(options, w, handles, watchers);
      for (const h of handles) h.worker.postMessage({ type: 'stop' });
      const { putErrorSamples, ...figures } = putter;
      watch = { ...figures, watchers, createSeconds: prepareSeconds, eventLatency: summarize(mergeEncoded([])) };
      putterErrorSamples = putErrorSamples;
    }
    const workerResults: WorkerResult[] = (await race(Promise.all(results))).map((m) => m.result);
    clearTimeout(warmupTimer);
    const cpu = process.cpuUsage(windowCpu);
    const wallSeconds = (performance.now() - windowWall) / 1000;
    const mainCpu = threadCpuSeconds() - windowMain;

    const ok = workerResults.reduce((sum, r) => sum + r.ok, 0);
    const errors = workerResults.reduce((sum, r) => sum + r.errors, 0);
    const elapsedSeconds = Math.max(...workerResults.map((r) => r.elapsedMs)) / 1000;
    const processCpuSeconds = (cpu.user + cpu.system) / 1e6;
    const result: RunResult = {
      options,
      ok,
      errors: errors + (watch?.putErrors ?? 0),
      errorSamples: [...new Set([...putterErrorSamples, ...workerResults.flatMap((r) => r.errorSamples)])].slice(0, 5),
      elapsedSeconds,
      throughput: elapsedSeconds > 0 ? ok / elapsedSeconds : 0,
      latency: summarize(mergeEncoded(workerResults.map((r) => r.histogram))),
      cpu: {
        processCores: cores(processCpuSeconds, wallSeconds),
        workerCores: workerResults.map((r) => cores(r.threadCpuSeconds, r.elapsedMs / 1000)),
        mainCores: cores(mainCpu, wallSeconds),
        usPerOperation: 0,
      },
    };
    if (watch !== undefined) {
      const events = workerResults.reduce((sum, r) => sum + r.events, 0);
      watch.events = events;
      watch.eventLatency = summarize(mergeEncoded(workerResults.map((r) => r.eventHistogram)));
      result.watch = watch;
      result.cpu.usPerOperation = events > 0 ? (processCpuSeconds * 1e6) / events : 0;
    } else result.cpu.usPerOperation = ok > 0 ? (processCpuSeconds * 1e6) / ok : 0;
    return result;
  } finally {
    await Promise.all(handles.map((h) => h.worker.terminate()));
  }
}

/**
 * The watch runs' writer: puts stamped values to the watched key at --put-rate on this thread, each when it is due
 * whether or not the ones before it were answered (up to a few in flight, one per connection), so a server that is
 * slow to answer a write while it fans out the last one still gets the offered rate. Then it waits until every
 * watcher has seen every put (or the drain deadline passes).
 */
async function runPutter(
  options: RunOptions,
  w: WatchWorkload,
  handles: WorkerHandle[],
  watchers: number,
): Promise<Omit<WatchFigures, 'watchers' | 'createSeconds' | 'eventLatency'> & { putErrorSamples: string[] }> {
  const slotsMax = Math.max(1, Math.min(limits.watchPutsInFlightMax, w.putTotal));
  const driver = createDriver(options.driver, { endpoints: options.endpoints.slice(0, 1), connections: slotsMax, clients: slotsMax });
  await driver.open();
  const key = Buffer.from(w.key);
  const intervalMs = 1000 / w.putRate;
  const eventsNow = (): number => handles.reduce((sum, h) => sum + h.lastProgress.events, 0);
  const baseline = eventsNow();
  const started = performance.now();
  let puts = 0;
  let putErrors = 0;
  const putErrorSamples: string[] = [];
  const freeSlots = Array.from({ length: slotsMax }, (_, i) => i);
  let slotFreed: (() => void) | undefined;
  const waitForSlot = (): Promise<void> =>
    new Promise((resolve) => {
      slotFreed = resolve;
    });
  try {
    for (let i = 0; i < w.putTotal; i++) {
      const due = started + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      while (freeSlots.length === 0) await waitForSlot();
      const slot = freeSlots.pop()!;
      // a failed put (an overloaded server timing out) is counted, not fatal: its events are simply not expected
      driver.put(slot, key, stampedValue(w.valueSizeBytes), (error) => {
        if (error === undefined) puts++;
        else {
          putErrors++;
          if (putErrorSamples.length < 3) putErrorSamples.push(error.message);
        }
        freeSlots.push(slot);
        const wake = slotFreed;
        slotFreed = undefined;
        wake?.();
      });
    }
    while (freeSlots.length < slotsMax) await waitForSlot();
    const expectedEvents = puts * watchers;
    // progress reports arrive every 100 ms: the end time is known to that precision, fine for runs of seconds
    const drainUntil = performance.now() + limits.watchDrainMs;
    let lastEvents = eventsNow();
    let lastChangeMs = performance.now();
    while (performance.now() < drainUntil && lastEvents - baseline < expectedEvents && performance.now() - lastChangeMs < limits.watchDrainIdleMs) {
      await sleep(20);
      const e = eventsNow();
      if (e !== lastEvents) {
        lastEvents = e;
        lastChangeMs = performance.now();
      }
    }
    const delivered = lastEvents - baseline;
    const seconds = (lastChangeMs - started) / 1000;
    return { puts, putErrors, putErrorSamples, expectedEvents, events: delivered, eventsPerSecond: seconds > 0 ? delivered / seconds : 0 };
  } finally {
    await driver.close();
  }
}
