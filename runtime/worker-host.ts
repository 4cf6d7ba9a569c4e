// Entry point of a worker thread hosting one or more actors (a placement group). The system sends control messages on
// the worker's parent port (links to peers, start, stop), each naming the actor it is for. Traffic between actors on
// different threads flows over the MessagePorts of their links, never through the main thread; traffic between
// actors of the same group is handed over inside this thread, with the same frames, credits and turns.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { assert } from './assert.js';
import { Cell, type Channel } from './cell.js';
import { decodeFrame, type Envelope } from './codec.js';
import { RealClock } from './clock.js';
import { realDisk } from './disk.js';
import { toWireError } from './errors.js';
import { createLogger, type LogLevel } from './log.js';
import { systemRandom } from './random.js';
import { portChannel, type ControlToWorker, type ControlFromWorker, type WorkerBoot } from './placement.js';
import type { ActorModule } from './actor.js';

assert(parentPort, 'worker-host runs only inside a worker thread');
const control = parentPort;
const boot = workerData as WorkerBoot;
const send = (message: ControlFromWorker) => control.postMessage(message);
const clock = new RealClock();

interface Hosted {
  cell: Cell;
  moduleUrl: string;
  config: unknown;
  /** Links to actors on other threads. */
  ports: Map<string, MessagePort>;
}

const hosted = new Map<string, Hosted>();
for (const spec of boot.actors) {
  const name = spec.name;
  hosted.set(name, {
    moduleUrl: spec.moduleUrl,
    config: spec.config,
    ports: new Map(),
    cell: new Cell({
      name,
      clock,
      random: systemRandom,
      disk: realDisk,
      log: createLogger(name, boot.logLevel as LogLevel),
      scheduler: { defer: spec.turnEnd === 'microtask' ? (callback) => queueMicrotask(callback) : (callback) => setImmediate(callback) },
      onCrash: (error) => send({ type: 'crash', actor: name, error: { ...toWireError(error), stack: error instanceof Error ? error.stack : undefined } }),
    }),
  });
}

/**
 * Batches between two actors of this thread, in order, delivered once the sender's turn is over (as a port would), in
 * a microtask rather than the next round of the event loop: a hop inside a thread then costs no extra loop iteration
 * (about 40-70 us each on the development machine, two per durable write between raft and the WAL). The envelopes are
 * handed over as they are, without the CBOR round trip a port needs (for raft's appends to the WAL that round trip was
 * most of the cost of the hop); the messages are shared, and by the runtime's rule nobody changes a sent message.
 */
class LocalQueue {
  private batches: Array<{ ackCount: number; envelopes: Envelope[] }> = [];
  private scheduled = false;
  closed = false;

  constructor(
    private readonly from: string,
    private readonly to: string,
  ) {}

  channel(): Channel {
    return {
      post: (frame) => {
        const { ackCount, envelopes } = decodeFrame(frame);
        this.push(ackCount, envelopes);
      },
      handOver: (ackCount, envelopes) => this.push(ackCount, envelopes),
      close: () => {
        this.closed = true;
        this.batches = [];
      },
    };
  }

  private push(ackCount: number, envelopes: Envelope[]): void {
    if (this.closed) return;
    this.batches.push({ ackCount, envelopes });
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  drain(): void {
    this.scheduled = false;
    const batches = this.batches;
    this.batches = [];
    const target = hosted.get(this.to);
    for (const { ackCount, envelopes } of batches) target?.cell.receiveEnvelopes(this.from, ackCount, envelopes);
  }
}

/** Local queues by destination, for draining an actor's mailbox before it stops. */
const localInbound = new Map<string, LocalQueue[]>();

function only(actor: string): Hosted {
  const h = hosted.get(actor);
  assert(h, `worker ${boot.group} does not host ${actor}`);
  return h;
}

const firstCell = boot.actors.length === 1 ? hosted.get(boot.actors[0]!.name)!.cell : undefined;
process.on('uncaughtException', (error) => {
  if (firstCell) firstCell.crash(error);
  else for (const h of hosted.values()) h.cell.crash(error);
});
process.on('unhandledRejection', (error) => {
  if (firstCell) firstCell.crash(error);
  else for (const h of hosted.values()) h.cell.crash(error);
});

control.on('message', (message: ControlToWorker) => {
  switch (message.type) {
    case 'link': {
      const h = only(message.actor);
      h.ports.get(message.peer)?.close();
      h.ports.set(message.peer, message.port);
      h.cell.addLink(message.peer, portChannel(message.port), message.peerMailboxLimit);
      message.port.on('message', (frame: Uint8Array) => h.cell.receiveFrame(message.peer, frame));
      break;
    }
    case 'localLink': {
      const a = only(message.a);
      const b = only(message.b);
      const ab = new LocalQueue(message.a, message.b);
      const ba = new LocalQueue(message.b, message.a);
      a.cell.addLink(message.b, ab.channel(), message.limitAB);
      b.cell.addLink(message.a, ba.channel(), message.limitBA);
      localInbound.set(message.b, [...(localInbound.get(message.b) ?? []), ab]);
      localInbound.set(message.a, [...(localInbound.get(message.a) ?? []), ba]);
      break;
    }
    case 'unlink': {
      const h = only(message.actor);
      h.ports.delete(message.peer);
      h.cell.unlink(message.peer, message.reason);
      break;
    }
    case 'start':
      void start(message.actor);
      break;
    case 'stop':
      void stop(message.actor);
      break;
  }
});

async function start(actor: string): Promise<void> {
  const h = only(actor);
  try {
    const module = (await import(h.moduleUrl)) as ActorModule;
    await h.cell.start(module.default as Parameters<Cell['start']>[0], h.config);
    send({ type: 'started', actor });
  } catch (error) {
    send({ type: 'start-failed', actor, error: toWireError(error) });
  }
}

async function stop(actor: string): Promise<void> {
  const h = only(actor);
  // Drain: every frame already queued for this actor is handled before it closes its resources.
  for (const [peer, port] of h.ports) {
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) h.cell.receiveFrame(peer, next.message as Uint8Array);
  }
  for (const queue of localInbound.get(actor) ?? []) queue.drain();
  try {
    await h.cell.stop();
  } catch (error) {
    send({ type: 'crash', actor, error: toWireError(error) });
  }
  for (const port of h.ports.values()) port.close();
  send({ type: 'stopped', actor });
}
