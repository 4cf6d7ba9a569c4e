// Entry point of an actor's worker thread. The system sends control messages on the worker's parent port (links to
// peers, start, stop); actor traffic flows only over the MessagePorts of the links, never through the main thread.
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { assert } from './assert.js';
import { Cell } from './cell.js';
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
const ports = new Map<string, MessagePort>();

const send = (message: ControlFromWorker) => control.postMessage(message);

const cell = new Cell({
  name: boot.name,
  clock: new RealClock(),
  random: systemRandom,
  disk: realDisk,
  log: createLogger(boot.name, boot.logLevel as LogLevel),
  scheduler: { defer: (callback) => setImmediate(callback) },
  onCrash: (error) => send({ type: 'crash', error: { ...toWireError(error), stack: error instanceof Error ? error.stack : undefined } }),
});

process.on('uncaughtException', (error) => cell.crash(error));
process.on('unhandledRejection', (error) => cell.crash(error));

control.on('message', (message: ControlToWorker) => {
  switch (message.type) {
    case 'link': {
      ports.get(message.peer)?.close();
      ports.set(message.peer, message.port);
      cell.addLink(message.peer, portChannel(message.port), message.peerMailboxLimit);
      message.port.on('message', (frame: Uint8Array) => cell.receiveFrame(message.peer, frame));
      break;
    }
    case 'unlink': {
      ports.delete(message.peer);
      cell.unlink(message.peer, message.reason);
      break;
    }
    case 'start':
      void start();
      break;
    case 'stop':
      void stop();
      break;
  }
});

async function start(): Promise<void> {
  try {
    const module = (await import(boot.moduleUrl)) as ActorModule;
    await cell.start(module.default as Parameters<Cell['start']>[0], boot.config);
    send({ type: 'started' });
  } catch (error) {
    send({ type: 'start-failed', error: toWireError(error) });
  }
}

async function stop(): Promise<void> {
  // Drain: every frame already queued on any link is handled before the actor closes its resources.
  for (const [peer, port] of ports) {
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) {
      cell.receiveFrame(peer, next.message as Uint8Array);
    }
  }
  try {
    await cell.stop();
  } catch (error) {
    send({ type: 'crash', error: toWireError(error) });
  }
  send({ type: 'stopped' });
}
