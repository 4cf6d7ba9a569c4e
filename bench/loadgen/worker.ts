// A load generator worker thread: opens its share of the connections, drives its share of the client slots (or
// streams, leases, watchers), records latencies in its own histogram and reports them, with its own CPU time, when
// the run ends. Work is callback-driven: a client slot is a preallocated object whose `done` re-issues the next
// request, so the steady state allocates little beyond what the protocol needs.
import { parentPort } from 'node:worker_threads';
import { assertNever } from '../../runtime/assert.js';
import { createDriver } from './drivers/index.js';
import type { Done, Driver, KeepAliveStream, WatchStream } from './drivers/types.js';
import { createHistogram, encodeHistogram, recordUs } from './histogram.js';
import { limits } from './limits.js';
import { threadCpuSeconds } from './proc-stats.js';
import { nowUs } from './stamp.js';
import type { FromWorker, ToWorker, WorkerResult } from './worker-protocol.js';
import { keyFor, prefixEnd, share, type LeaseKeepAliveWorkload, type RunOptions, type WatchWorkload } from './workload.js';

const port = parentPort!;
// Errors made on hot paths (grpc-js ends each call's HTTP/2 stream through a Node error it then ignores) would each
// capture a stack trace; nothing in a worker reads one, and their cost showed as ~10% of the gRPC driver's CPU.
Error.stackTraceLimit = 0;
const errorSamplesMax = 5;
/** Pause of a client slot after a failed request before its next one. */
const errorPauseMs = 10;

function post(message: FromWorker): void {
  port.postMessage(message);
}

class WorkerRun {
  private driver!: Driver;
  private clients = 0;
  private connections = 0;
  private readonly histogram = createHistogram();
  private readonly eventHistogram = createHistogram();
  private ok = 0;
  private errors = 0;
  private readonly errorSamples: string[] = [];
  private measuring = false;
  private stopping = false;
  private inFlight = 0;
  private measureStartMs = 0;
  private measureStartCpu = 0;
  private measureEndMs = 0;
  private measureEndCpu = 0;
  private finished = false;
  // watch
  private readonly watchStreams: WatchStream[] = [];
  private watchersWanted = 0;
  private created = 0;
  private events = 0;
  private progressTimer: NodeJS.Timeout | undefined;
  // lease keep-alive
  private leaseIds: string[] = [];
  private readonly keepAliveStreams: KeepAliveStream[] = [];

  constructor(private readonly options: RunOptions, private readonly index: number, private readonly count: number) {}

  private error(error: Error): void {
    if (!this.measuring) return;
    this.errors++;
    if (this.errorSamples.length < errorSamplesMax && !this.errorSamples.includes(error.message)) this.errorSamples.push(error.message);
  }

  async init(): Promise<void> {
    const o = this.options;
    const started = performance.now();
    this.clients = share(o.clients, this.index, this.count);
    this.connections = Math.max(1, share(o.connections, this.index, this.count));
    let slots = Math.max(1, this.clients);
    if (o.workload.type === 'lease-keepalive') {
      // grants run many at a time over the connections, and each keep-alive stream gets a connection of its own
      this.connections = Math.max(this.connections, share(o.workload.streams, this.index, this.count));
      slots = Math.max(slots, limits.leaseGrantConcurrency);
      // uWebSockets.js (tetcd's gateway) closes a connection on which a request arrives before the answer to the one
      // before it is sent, so on HTTP/1.1 the grants in flight get a connection each instead of a pipeline
      if (o.driver === 'http') this.connections = Math.max(this.connections, slots);
    }
    this.driver = createDriver(o.driver, { endpoints: o.endpoints, connections: this.connections, clients: slots });
    await this.driver.open();
    const w = o.workload;
    let watchers = 0;
    if (w.type === 'watch' || w.type === 'watch-latency') watchers = await this.createWatchers(w);
    else if (w.type === 'lease-keepalive') await this.grantLeases(w);
    post({ type: 'ready', watchers, preparedMs: performance.now() - started, threadCpuSeconds: threadCpuSeconds() });
  }

  start(): void {
    const o = this.options;
    const w = o.workload;
    switch (w.type) {
      case 'put': {
        const value = Buffer.alloc(w.valueSizeBytes, 0x76);
        let sequence = 0;
        this.runSlots((slot, done) => {
          const i = w.sequentialKeys ? (this.index + this.count * sequence++) % w.keySpaceSize : Math.floor(Math.random() * w.keySpaceSize);
          this.driver.put(slot, keyFor(i, w.keySizeBytes), value, done);
        });
        return;
      }
      case 'txn-put': {
        const value = Buffer.alloc(w.valueSizeBytes, 0x76);
        this.runSlots((slot, done) => {
          // consecutive keys from a random start: one txn may not put the same key twice
          const first = Math.floor(Math.random() * w.keySpaceSize);
          const ops = [];
          for (let k = 0; k < w.opsPerTxn; k++) ops.push({ key: keyFor((first + k) % w.keySpaceSize, w.keySizeBytes), value });
          this.driver.txnPut(slot, ops, done);
        });
        return;
      }
      case 'range': {
        const key = Buffer.from(w.key);
        const spec = { key, rangeEnd: w.prefix ? prefixEnd(key) : Buffer.alloc(0), limit: w.limit, serializable: w.consistency === 's' };
        this.runSlots((slot, done) => this.driver.range(slot, spec, done));
        return;
      }
      case 'watch':
      case 'watch-latency':
        this.beginMeasure();
        this.progressTimer = setInterval(() => post({ type: 'progress', events: this.events, created: this.created }), 100);
        return;
      case 'lease-keepalive':
        this.runKeepAlive(w);
        return;
      default:
        assertNever(w, 'workload');
    }
  }

  /** The watch runner ends a watch run: the putter is done and the last events had their time to arrive. */
  stop(): void {
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer);
    this.endMeasure();
    for (const s of this.watchStreams) s.close();
    void this.finish();
  }

  private beginMeasure(): void {
    this.measuring = true;
    this.measureStartMs = performance.now();
    this.measureStartCpu = threadCpuSeconds();
  }

  private endMeasure(): void {
    if (this.measureEndMs !== 0) return;
    this.measureEndMs = performance.now();
    this.measureEndCpu = threadCpuSeconds();
    this.measuring = false;
    this.stopping = true;
  }

  /** Warm-up, then the measured window; stops on duration or on this worker's share of --total. */
  private schedulePhases(): void {
    const o = this.options;
    const measure = (): void => {
      this.beginMeasure();
      if (o.durationMs > 0) setTimeout(() => this.endMeasure(), o.durationMs).unref();
    };
    if (o.warmupMs > 0) setTimeout(measure, o.warmupMs);
    else measure();
    // a hard stop, whatever happens
    setTimeout(() => {
      this.endMeasure();
      void this.finish();
    }, o.warmupMs + (o.durationMs > 0 ? o.durationMs : limits.runMsMax) + limits.requestTimeoutMs).unref();
  }

  private runSlots(op: (slot: number, done: Done) => void): void {
    const o = this.options;
    const totalShare = o.total > 0 ? share(o.total, this.index, this.count) : Number.POSITIVE_INFINITY;
    const intervalMs = o.rate > 0 ? (1000 * this.count) / o.rate : 0;
    let nextAtMs = performance.now();
    let issuedMeasured = 0;
    this.schedulePhases();
    if (this.clients === 0) {
      this.endMeasure();
      void this.finish();
      return;
    }
    const slots = Array.from({ length: this.clients }, (_, slot) => {
      const state = { t0: 0, counted: false, done: undefined as unknown as Done, issue: undefined as unknown as () => void, send: undefined as unknown as () => void };
      state.send = () => {
        state.counted = this.measuring;
        if (state.counted) issuedMeasured++;
        this.inFlight++;
        state.t0 = performance.now();
        op(slot, state.done);
      };
      state.issue = () => {
        if (this.stopping || issuedMeasured >= totalShare) return this.slotIdle();
        if (intervalMs > 0) {
          const now = performance.now();
          const at = Math.max(nextAtMs, now);
          nextAtMs = at + intervalMs;
          if (at > now + 0.05) {
            setTimeout(state.send, at - now);
            return;
          }
        }
        state.send();
      };
      state.done = (error) => {
        this.inFlight--;
        if (this.measuring || (state.counted && !this.stopping)) {
          if (error === undefined) {
            this.ok++;
            recordUs(this.histogram, (performance.now() - state.t0) * 1000);
          } else this.error(error);
        }
        if (issuedMeasured >= totalShare && this.inFlight === 0) this.endMeasure();
        // a broken connection fails each request at once, inside send: re-issuing at once would spin (or recurse)
        // without ever letting the end-of-run timers fire, so a failed slot pauses before its next request
        if (error === undefined) state.issue();
        else setTimeout(state.issue, errorPauseMs);
      };
      return state;
    });
    for (const s of slots) s.issue();
  }

  private slotIdle(): void {
    if (this.inFlight === 0) {
      this.endMeasure();
      void this.finish();
    }
  }

  private async createWatchers(w: WatchWorkload): Promise<number> {
    const streams = share(w.streams, this.index, this.count);
    this.watchersWanted = streams * w.watchersPerStream;
    if (this.watchersWanted === 0) return 0;
    const key = Buffer.from(w.key);
    const creates = Array.from({ length: w.watchersPerStream }, () => ({ key, rangeEnd: Buffer.alloc(0) }));
    return new Promise((resolve, reject) => {
      let failed = false;
      const sink = {
        created: () => {
          if (++this.created === this.watchersWanted) resolve(this.created);
        },
        event: (sentUs: number) => {
          this.events++;
          if (!Number.isNaN(sentUs)) recordUs(this.eventHistogram, nowUs() - sentUs);
        },
        failed: (error: Error) => {
          if (this.created < this.watchersWanted && !failed) {
            failed = true;
            reject(error);
          }
          this.error(error);
        },
      };
      for (let s = 0; s < streams; s++) this.watchStreams.push(this.driver.watch(s, creates, sink));
      setTimeout(() => {
        if (this.created < this.watchersWanted) reject(new Error(`only ${this.created} of ${this.watchersWanted} watchers created in ${limits.watchCreateTimeoutMs} ms`));
      }, limits.watchCreateTimeoutMs).unref();
    });
  }

  private async grantLeases(w: LeaseKeepAliveWorkload): Promise<void> {
    const wanted = share(w.leases, this.index, this.count);
    let next = 0;
    const ids: string[] = [];
    await new Promise<void>((resolve, reject) => {
      if (wanted === 0) return resolve();
      let active = 0;
      const grantOne = (slot: number): void => {
        if (next >= wanted) {
          if (active === 0) resolve();
          return;
        }
        next++;
        active++;
        this.driver.leaseGrant(slot, w.ttlSeconds, (error, id) => {
          active--;
          if (error !== undefined) return reject(error);
          ids.push(id);
          grantOne(slot);
        });
      };
      for (let slot = 0; slot < Math.min(limits.leaseGrantConcurrency, wanted); slot++) grantOne(slot);
    });
    this.leaseIds = ids;
  }

  private runKeepAlive(w: LeaseKeepAliveWorkload): void {
    const streams = Math.min(share(w.streams, this.index, this.count), this.leaseIds.length);
    this.schedulePhases();
    if (streams === 0) {
      this.endMeasure();
      void this.finish();
      return;
    }
    const totalShare = this.options.total > 0 ? share(this.options.total, this.index, this.count) : Number.POSITIVE_INFINITY;
    let sentMeasured = 0;
    for (let s = 0; s < streams; s++) {
      const leases = this.leaseIds.filter((_, i) => i % streams === s);
      let cursor = 0;
      /** Leases of the batch in flight not yet answered (answers may skip leases the server dropped). */
      let pending = new Set<string>();
      let sentAtMs = 0;
      let counted = false;
      const counts = (): boolean => this.measuring || (counted && !this.stopping);
      const batchDone = (): void => {
        this.inFlight--;
        if (sentMeasured >= totalShare && this.inFlight === 0) this.endMeasure();
        sendBatch();
      };
      const sendBatch = (): void => {
        if (this.stopping || sentMeasured >= totalShare) return this.slotIdle();
        const batch: string[] = [];
        const batchSize = Math.min(w.batch, leases.length);
        const batchPending = new Set<string>();
        for (let i = 0; i < batchSize; i++) {
          const id = leases[cursor++ % leases.length]!;
          batch.push(id);
          batchPending.add(id);
        }
        pending = batchPending;
        counted = this.measuring;
        if (counted) sentMeasured += batch.length;
        this.inFlight++;
        sentAtMs = performance.now();
        stream.send(batch, () => {
          if (pending !== batchPending || batchPending.size === 0) return;
          if (counts()) {
            this.error(new Error(`the server ended a keep-alive batch after ${batchSize - batchPending.size} of ${batchSize} answers`));
            this.errors += batchPending.size - 1;
          }
          batchPending.clear();
          batchDone();
        });
      };
      const stream = this.driver.keepAlive(s, {
        answered: (id, ttl) => {
          if (!pending.delete(id)) {
            if (counts()) this.error(new Error(`keep-alive answer for lease ${id}, which was not in the batch`));
            return;
          }
          if (counts()) {
            if (ttl <= 0) this.error(new Error(`lease ${id} expired (TTL ${ttl})`));
            else {
              this.ok++;
              recordUs(this.histogram, (performance.now() - sentAtMs) * 1000);
            }
          }
          if (pending.size === 0) batchDone();
        },
        failed: (error) => {
          this.error(error);
          this.inFlight = Math.max(0, this.inFlight - 1);
          this.slotIdle();
        },
      });
      this.keepAliveStreams.push(stream);
      sendBatch();
    }
  }

  async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    for (const s of this.keepAliveStreams) s.close();
    await this.driver.close();
    const result: WorkerResult = {
      ok: this.ok,
      errors: this.errors,
      errorSamples: this.errorSamples,
      histogram: encodeHistogram(this.histogram),
      elapsedMs: this.measureEndMs - this.measureStartMs,
      threadCpuSeconds: this.measureEndCpu - this.measureStartCpu,
      events: this.events,
      eventHistogram: encodeHistogram(this.eventHistogram),
    };
    post({ type: 'result', result });
  }
}

let run: WorkerRun | undefined;

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init':
      run = new WorkerRun(message.options, message.workerIndex, message.workerCount);
      run.init().catch((error: unknown) => post({ type: 'failed', message: error instanceof Error ? error.message : String(error) }));
      return;
    case 'start':
      run?.start();
      return;
    case 'stop':
      run?.stop();
      return;
    default:
      assertNever(message, 'message to worker');
  }
});
