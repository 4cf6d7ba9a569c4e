// The actor system: spawns every actor where its placement says, gives each pair of actors its own MessageChannel
// (so raft talks to wal without passing through the main thread), starts them in order, supervises them, and stops
// them in order with their mailboxes drained.
//
// Two modes:
// - 'threads' (production): each actor with thread 'worker' gets its own worker thread; actors with thread 'main'
//   (the gateway) run on the main thread. Time, randomness and disk are real.
// - 'deterministic' (tests): every actor runs on the calling thread under a seeded scheduler with a manual clock.
//   Messages still go through the same cells, frames and CBOR codec; the scheduler picks which pending frame is
//   delivered next, so one seed always gives one trace.
import { EventEmitter } from 'node:events';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { ActorFactory, ActorModule, ActorRef, AnyProtocol, Behaviour, Message } from './actor.js';
import { assert } from './assert.js';
import { Cell, type Channel } from './cell.js';
import { ManualClock, RealClock, type Clock } from './clock.js';
import { decodeFrame } from './codec.js';
import { realDisk, withDeferredSyncs, type Disk } from './disk.js';
import { ActorCrashedError, RemoteError } from './errors.js';
import { limits } from './limits.js';
import { createLogger, type Logger, type LogLevel } from './log.js';
import { SeededRandom, systemRandom } from './random.js';
import { portChannel, type ControlFromWorker, type ControlToWorker, type WorkerBoot } from './placement.js';

export interface ActorSpec {
  name: string;
  /** URL of the module whose default export is the actor factory. */
  module?: URL | string;
  /** A factory given directly; only for actors on the main thread or in deterministic mode. */
  factory?: ActorFactory<AnyProtocol, any>;
  config?: unknown;
  /** Default 'worker'. Ignored in deterministic mode, where every actor shares the calling thread. */
  thread?: 'worker' | 'main';
  /**
   * Actors with the same group share one worker thread (default: a thread of their own). Messages between them
   * still go as frames with credits and turns, handed over inside the thread instead of through a MessagePort.
   */
  group?: string;
  mailboxLimit?: number;
  /**
   * When this actor's turn ends on a worker thread. 'loop' (default): in the next round of the event loop, so a turn
   * gathers everything that arrived meanwhile. 'microtask': right after the delivery that began it, for an actor
   * whose input is already batched by one sender of its own thread (the WAL behind raft): its batch then does not
   * wait a loop round. Ignored on the main thread and in deterministic mode.
   */
  turnEnd?: 'loop' | 'microtask';
  /** What the supervisor does when this actor crashes. Default 'shutdown'. */
  onCrash?: 'shutdown' | 'restart';
  /** Restarts allowed before a crash shuts the system down anyway. */
  restartsMax?: number;
}

export interface SystemOptions {
  mode?: 'threads' | 'deterministic';
  seed?: number;
  logLevel?: LogLevel;
  logger?: Logger;
  disk?: Disk;
  /** Order in which actors are stopped; actors not listed stop last, in reverse start order. */
  stopOrder?: string[];
}

export interface CrashReport {
  actor: string;
  error: ActorCrashedError;
  restarted: boolean;
}

const ROOT = '$root';

interface Host {
  spec: ActorSpec;
  mailboxLimit: number;
  restarts: number;
  stopped: boolean;
  /** Threads mode, worker placement: the worker thread (shared by the group's actors). */
  group?: WorkerGroup;
  /** Main thread or deterministic placement. */
  cell?: Cell;
  /** Ports held by a main-thread cell, for draining at stop. */
  ports: Map<string, MessagePort>;
  started?: Promise<void>;
  /** The module's default export, once imported (main-thread and deterministic cells). */
  loaded?: Promise<unknown>;
  stoppedSignal?: () => void;
}

/** One worker thread and the actors placed on it. */
interface WorkerGroup {
  name: string;
  worker: Worker | undefined;
  hosts: Host[];
  exited: boolean;
}

export class ActorSystem extends EventEmitter {
  readonly mode: 'threads' | 'deterministic';
  readonly clock: Clock;
  readonly log: Logger;
  readonly sim: Simulation | undefined;
  private readonly hosts = new Map<string, Host>();
  private readonly groups = new Map<string, WorkerGroup>();
  private readonly order: string[] = [];
  private readonly disk: Disk;
  private readonly seed: number;
  private readonly logLevel: LogLevel;
  private stopping: Promise<void> | undefined;
  private failure: ActorCrashedError | undefined;
  private failureWaiters: Array<(error: ActorCrashedError) => void> = [];

  constructor(private readonly options: SystemOptions = {}) {
    super();
    this.mode = options.mode ?? 'threads';
    this.seed = options.seed ?? 1;
    this.logLevel = options.logLevel ?? 'info';
    this.log = options.logger ?? createLogger('runtime', this.logLevel);
    if (this.mode === 'deterministic') {
      const clock = new ManualClock();
      this.clock = clock;
      const sim = new Simulation(clock, this.seed);
      this.sim = sim;
      this.disk = withDeferredSyncs(options.disk ?? realDisk, (callback) => sim.defer(callback));
    } else {
      this.disk = options.disk ?? realDisk;
      this.clock = new RealClock();
      this.sim = undefined;
    }
    this.hosts.set(ROOT, this.mainHost({ name: ROOT, factory: () => ({ receive: () => undefined }), thread: 'main' }));
  }

  /** Declares an actor. All actors are declared before start(). */
  add(spec: ActorSpec): this {
    assert(!this.hosts.has(spec.name), `actor ${spec.name} declared twice`);
    assert(spec.module !== undefined || spec.factory !== undefined, `actor ${spec.name} has neither module nor factory`);
    const onWorker = this.mode === 'threads' && (spec.thread ?? 'worker') === 'worker';
    assert(!onWorker || spec.module !== undefined, `actor ${spec.name} runs on a worker and needs a module URL`);
    this.hosts.set(spec.name, onWorker ? this.workerHost(spec) : this.mainHost(spec));
    this.order.push(spec.name);
    return this;
  }

  /** Links every pair of actors and starts them in declaration order; resolves when all have started. */
  async start(): Promise<void> {
    const names = [ROOT, ...this.order];
    for (let i = 0; i < names.length; i++) {
      for (let j = i + 1; j < names.length; j++) this.connect(names[i]!, names[j]!);
    }
    if (this.sim) {
      // Load every module before simulated time starts: an import is real I/O, and a runWhile waiting on one would
      // advance the simulated clock by however long the disk took, so one seed could give two traces.
      await Promise.all([ROOT, ...this.order].map((name) => this.loadFactory(this.hosts.get(name)!)));
    }
    await this.startHost(this.hosts.get(ROOT)!);
    for (const name of this.order) {
      const started = this.startHost(this.hosts.get(name)!);
      if (this.sim) {
        // deterministic factories may wait on asks to actors declared before them
        await this.sim.runWhile(started);
      }
      await started;
    }
  }

  /** A handle for talking to any actor from outside (the main thread's root actor). */
  ref<P extends AnyProtocol>(name: string): ActorRef<P> {
    return this.hosts.get(ROOT)!.cell!.context.ref<P>(name);
  }

  /** Resolves with the crash that made the system shut down (never resolves for a clean stop). */
  failed(): Promise<ActorCrashedError> {
    if (this.failure) return Promise.resolve(this.failure);
    return new Promise((resolve) => this.failureWaiters.push(resolve));
  }

  /** Stops every actor in order, each after draining its mailbox. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  /** Worker threads that have not exited yet. */
  threadsAlive(): number {
    let alive = 0;
    for (const group of this.groups.values()) if (group.worker && !group.exited) alive++;
    return alive;
  }

  /** Statistics of an actor running on this thread (main placement or deterministic mode). */
  cellStats(name: string) {
    const cell = this.hosts.get(name)?.cell;
    assert(cell, `${name} does not run on this thread`);
    return cell.stats;
  }

  private async stopAll(): Promise<void> {
    const listed = this.options.stopOrder ?? [];
    const rest = [...this.order].reverse().filter((n) => !listed.includes(n));
    for (const name of [...listed.filter((n) => this.hosts.has(n)), ...rest, ROOT]) {
      await this.stopHost(this.hosts.get(name)!);
    }
  }

  // ---- placement: main thread and deterministic ----

  private mainHost(spec: ActorSpec): Host {
    const host: Host = { spec, mailboxLimit: spec.mailboxLimit ?? limits.mailboxMessagesDefault, restarts: 0, stopped: false, ports: new Map() };
    host.cell = this.newLocalCell(host);
    return host;
  }

  private newLocalCell(host: Host): Cell {
    const name = host.spec.name;
    const sim = this.sim;
    return new Cell({
      name,
      clock: this.clock,
      random: sim ? new SeededRandom(this.seed ^ hashName(name)) : systemRandom,
      disk: this.disk,
      log: this.log.child(name),
      scheduler: sim ? { defer: (callback) => sim.defer(callback) } : { defer: (callback) => setImmediate(callback) },
      onCrash: (error) => this.onCrash(host, error),
    });
  }

  // ---- placement: worker threads ----

  private workerHost(spec: ActorSpec): Host {
    const groupName = spec.group ?? spec.name;
    let group = this.groups.get(groupName);
    if (!group) {
      group = { name: groupName, worker: undefined, hosts: [], exited: false };
      this.groups.set(groupName, group);
    }
    const host: Host = { spec, mailboxLimit: spec.mailboxLimit ?? limits.mailboxMessagesDefault, restarts: 0, stopped: false, ports: new Map(), group };
    group.hosts.push(host);
    return host;
  }

  private spawnWorker(group: WorkerGroup): Worker {
    const boot: WorkerBoot = {
      group: group.name,
      actors: group.hosts.map((h) => ({ name: h.spec.name, moduleUrl: String(h.spec.module), config: h.spec.config, turnEnd: h.spec.turnEnd ?? 'loop' })),
      logLevel: this.logLevel,
    };
    const worker = new Worker(new URL('./worker-host.js', import.meta.url), { workerData: boot, name: group.name });
    const hostOf = (actor: string) => group.hosts.find((h) => h.spec.name === actor);
    worker.on('message', (message: ControlFromWorker) => {
      const host = hostOf(message.actor);
      if (!host) return;
      if (message.type === 'crash') {
        const error = new RemoteError(message.error.name, message.error.message, message.error.code, host.spec.name);
        if (message.error.stack) error.stack = message.error.stack;
        this.onCrash(host, error);
      } else if (message.type === 'stopped') {
        host.stoppedSignal?.();
      }
    });
    // the thread itself failing takes every actor it hosts with it
    worker.on('error', (error) => {
      for (const host of group.hosts) this.onCrash(host, error);
    });
    worker.on('exit', (code) => {
      if (group.worker === worker) group.exited = true;
      for (const host of group.hosts) {
        if (!host.stopped && group.worker === worker) this.onCrash(host, new Error(`worker exited with code ${code}`));
        host.stoppedSignal?.();
      }
    });
    group.worker = worker;
    group.exited = false;
    return worker;
  }

  private workerOf(host: Host): Worker {
    const group = host.group!;
    return group.worker ?? this.spawnWorker(group);
  }

  private control(host: Host, message: ControlToWorker, transfer: MessagePort[] = []): void {
    this.workerOf(host).postMessage(message, transfer);
  }

  // ---- wiring ----

  private connect(a: string, b: string): void {
    const ha = this.hosts.get(a)!;
    const hb = this.hosts.get(b)!;
    if (this.sim) {
      ha.cell!.addLink(b, this.sim.channel(a, b, hb.cell!), hb.mailboxLimit);
      hb.cell!.addLink(a, this.sim.channel(b, a, ha.cell!), ha.mailboxLimit);
      return;
    }
    if (ha.group && ha.group === hb.group) {
      // same worker: an in-thread channel, no MessagePort
      this.control(ha, { type: 'localLink', a, b, limitAB: hb.mailboxLimit, limitBA: ha.mailboxLimit });
      return;
    }
    const { port1, port2 } = new MessageChannel();
    this.attach(ha, b, port1, hb.mailboxLimit);
    this.attach(hb, a, port2, ha.mailboxLimit);
  }

  private attach(host: Host, peer: string, port: MessagePort, peerMailboxLimit: number): void {
    if (host.cell) {
      const cell = host.cell;
      host.ports.get(peer)?.close();
      host.ports.set(peer, port);
      cell.addLink(peer, portChannel(port), peerMailboxLimit);
      port.on('message', (frame: Uint8Array) => cell.receiveFrame(peer, frame));
      // main-thread ports must not keep the process alive on their own
      port.unref();
    } else {
      this.control(host, { type: 'link', actor: host.spec.name, peer, port, peerMailboxLimit }, [port]);
    }
  }

  /** The actor's factory: given in its spec, or its module's default export (imported once). */
  private async loadFactory(host: Host): Promise<unknown> {
    const spec = host.spec;
    if (spec.factory) return spec.factory;
    host.loaded ??= import(String(spec.module)).then((module: ActorModule) => module.default);
    return host.loaded;
  }

  private startHost(host: Host): Promise<void> {
    if (host.cell) {
      const spec = host.spec;
      host.started = (async () => {
        const factory = await this.loadFactory(host);
        await host.cell!.start(factory as (c: unknown, k: unknown) => Behaviour<Message>, spec.config);
      })();
      return host.started;
    }
    const worker = this.workerOf(host);
    const name = host.spec.name;
    host.started = new Promise<void>((resolve, reject) => {
      const onMessage = (message: ControlFromWorker) => {
        if (message.actor !== name) return;
        if (message.type === 'started') {
          worker.off('message', onMessage);
          resolve();
        } else if (message.type === 'start-failed' || message.type === 'crash') {
          worker.off('message', onMessage);
          reject(new ActorCrashedError(host.spec.name, new RemoteError(message.error.name, message.error.message, message.error.code)));
        }
      };
      worker.on('message', onMessage);
      worker.once('exit', (code) => reject(new ActorCrashedError(host.spec.name, new Error(`worker exited with code ${code} while starting`))));
    });
    this.control(host, { type: 'start', actor: name });
    return host.started;
  }

  private async stopHost(host: Host): Promise<void> {
    if (host.stopped) return;
    host.stopped = true;
    const began = Date.now();
    try {
      await this.stopPlacement(host);
      const ms = Date.now() - began;
      if (ms > limits.slowStopWarnMs) this.log.warn('slow actor stop', { actor: host.spec.name, ms });
    } finally {
      this.unlinkEverywhere(host.spec.name, 'stopped');
    }
  }

  /** Every other actor forgets `name`: asks waiting on it fail now, and new ones fail at once. */
  private unlinkEverywhere(name: string, reason: string): void {
    for (const [peerName, peer] of this.hosts) {
      if (peerName === name) continue;
      if (peer.cell) peer.cell.unlink(name, reason);
      else if (peer.group?.worker && !peer.group.exited && !peer.stopped) this.control(peer, { type: 'unlink', actor: peerName, peer: name, reason });
    }
  }

  private async stopPlacement(host: Host): Promise<void> {
    if (host.cell) {
      for (const [peer, port] of host.ports) {
        for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) host.cell.receiveFrame(peer, next.message as Uint8Array);
      }
      if (this.sim) this.sim.drainTo(host.cell);
      await host.cell.stop();
      if (this.sim) await this.sim.runUntilIdle();
      return;
    }
    const group = host.group!;
    const worker = group.worker;
    if (!worker || group.exited) return;
    const stopped = new Promise<void>((resolve) => (host.stoppedSignal = resolve));
    try {
      this.control(host, { type: 'stop', actor: host.spec.name });
    } catch {
      // the worker is already gone
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, limits.stopTimeoutMs)))]);
    clearTimeout(timer);
    // the thread goes once every actor it hosts has stopped
    if (group.hosts.every((h) => h.stopped)) await worker.terminate();
  }

  // ---- supervision ----

  private onCrash(host: Host, cause: unknown): void {
    if (host.stopped) return;
    const name = host.spec.name;
    const error = cause instanceof ActorCrashedError ? cause : new ActorCrashedError(name, cause);
    // only an actor alone on its thread can be restarted on its own
    const alone = !host.group || host.group.hosts.length === 1;
    const restart = alone && host.spec.onCrash === 'restart' && host.restarts < (host.spec.restartsMax ?? 3) && !this.stopping;
    this.log.error('actor crashed', { actor: name, error: error.message, restart });
    this.emit('crash', { actor: name, error, restarted: restart } satisfies CrashReport);
    if (restart) {
      host.restarts++;
      void this.restart(host).catch((e) => this.fail(new ActorCrashedError(name, e)));
      return;
    }
    this.fail(error);
  }

  private fail(error: ActorCrashedError): void {
    if (this.failure) return;
    this.failure = error;
    const waiters = this.failureWaiters;
    this.failureWaiters = [];
    for (const wake of waiters) wake(error);
    void this.stop();
  }

  private async restart(host: Host): Promise<void> {
    const name = host.spec.name;
    this.unlinkEverywhere(name, 'restarting');
    if (host.group) {
      const old = host.group.worker;
      host.group.worker = undefined;
      await old?.terminate();
    } else {
      host.cell = this.newLocalCell(host);
      host.ports.clear();
    }
    // the system may have begun stopping while the old incarnation went: then there is nothing to restart
    if (this.stopping || host.stopped) return;
    for (const peerName of this.hosts.keys()) {
      if (peerName !== name && !this.hosts.get(peerName)!.stopped) this.connect(name, peerName);
    }
    await this.startHost(host);
    // stopped while the new incarnation started: stopAll passed it by with no worker to stop
    if (host.stopped && host.group?.worker) await host.group.worker.terminate();
  }
}

function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

// ---- deterministic scheduler ----

interface SimQueue {
  from: string;
  to: string;
  target: Cell;
  frames: Uint8Array[];
}

/**
 * Runs actors on one thread: a step either runs the deferred end-of-turn work (always first, in order) or delivers the
 * oldest frame of one non-empty channel, chosen by the seeded random generator. Per-channel order is kept, as with real
 * MessagePorts; the interleaving across channels is what the seed decides.
 */
export class Simulation {
  readonly trace: string[] = [];
  private readonly random: SeededRandom;
  private readonly queues = new Map<string, SimQueue>();
  private deferred: Array<() => void> = [];
  steps = 0;

  constructor(readonly clock: ManualClock, seed: number) {
    this.random = new SeededRandom(seed);
  }

  channel(from: string, to: string, target: Cell): Channel {
    const key = `${from}->${to}`;
    const queue: SimQueue = { from, to, target, frames: [] };
    this.queues.set(key, queue);
    return {
      post: (frame) => queue.frames.push(frame),
      close: () => {
        queue.frames = [];
        this.queues.delete(key);
      },
    };
  }

  defer(callback: () => void): void {
    this.deferred.push(callback);
  }

  /** Delivers everything waiting for `cell` (used when stopping it). */
  drainTo(cell: Cell): void {
    for (const queue of this.queues.values()) {
      if (queue.target !== cell) continue;
      while (queue.frames.length > 0) this.deliver(queue);
    }
  }

  /** One step; false when nothing was runnable. */
  step(): boolean {
    if (this.deferred.length > 0) {
      const work = this.deferred;
      this.deferred = [];
      for (const callback of work) callback();
      return true;
    }
    const ready: SimQueue[] = [];
    for (const queue of this.queues.values()) if (queue.frames.length > 0) ready.push(queue);
    if (ready.length === 0) return false;
    this.deliver(ready[this.random.int(ready.length)]!);
    return true;
  }

  private deliver(queue: SimQueue): void {
    const frame = queue.frames.shift()!;
    this.steps++;
    const { envelopes } = decodeFrame(frame);
    for (const e of envelopes) this.trace.push(`${this.clock.now()} ${queue.from}->${queue.to} ${e.kind}:${e.id} ${describeBody(e.body)}`);
    queue.target.receiveFrame(queue.from, frame);
  }

  /** Runs steps until nothing is runnable, letting promise continuations run between steps. */
  async runUntilIdle(maxSteps: number = limits.simulatedStepsMax): Promise<number> {
    let steps = 0;
    for (;;) {
      await settleMicrotasks();
      if (!this.step()) {
        await settleMicrotasks();
        if (!this.step()) return steps;
      }
      if (++steps > maxSteps) throw new Error(`simulation did not go idle within ${maxSteps} steps`);
    }
  }

  /** Keeps running while `promise` is pending (and something is runnable). */
  async runWhile(promise: Promise<unknown>): Promise<void> {
    let done = false;
    promise.then(
      () => (done = true),
      () => (done = true),
    );
    while (!done) {
      await settleMicrotasks();
      if (done) break;
      if (!this.step()) {
        await settleMicrotasks();
        if (!done && !this.step()) {
          const due = this.clock.nextDueMs();
          if (due === undefined) return;
          this.clock.advanceTo(due);
        }
      }
    }
  }

  /** Advances simulated time by `deltaMs`, firing timers in order and running the system to idle after each. */
  async advance(deltaMs: number): Promise<void> {
    const target = this.clock.now() + deltaMs;
    for (;;) {
      await this.runUntilIdle();
      const due = this.clock.nextDueMs();
      if (due === undefined || due > target) break;
      this.clock.advanceTo(due);
    }
    this.clock.advanceTo(target);
    await this.runUntilIdle();
  }
}

function settleMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function describeBody(body: unknown): string {
  try {
    return JSON.stringify(body, (_k, v: unknown) => (v instanceof Uint8Array ? `bytes(${v.length})` : typeof v === 'bigint' ? `${v}n` : v));
  } catch {
    return String(body);
  }
}
