// Shapes shared by the system (main thread) and the worker host: the control protocol on a worker's parent port and
// the MessagePort-backed channel.
import type { MessagePort } from 'node:worker_threads';
import type { Channel } from './cell.js';
import type { WireError } from './errors.js';

/** What a worker thread hosts: one placement group of one or more actors. */
export interface WorkerBoot {
  group: string;
  actors: Array<{ name: string; moduleUrl: string; config: unknown; turnEnd: 'loop' | 'microtask' }>;
  logLevel: string;
}

export type ControlToWorker =
  | { type: 'link'; actor: string; peer: string; port: MessagePort; peerMailboxLimit: number }
  /** Two actors of this worker talk through an in-thread channel. limitAB is b's mailbox limit for a's messages. */
  | { type: 'localLink'; a: string; b: string; limitAB: number; limitBA: number }
  | { type: 'unlink'; actor: string; peer: string; reason: string }
  | { type: 'start'; actor: string }
  | { type: 'stop'; actor: string };

export type ControlFromWorker =
  | { type: 'started'; actor: string }
  | { type: 'start-failed'; actor: string; error: WireError }
  | { type: 'crash'; actor: string; error: WireError & { stack?: string | undefined } }
  | { type: 'stopped'; actor: string };

/** A channel over one end of a MessageChannel; each frame's buffer is transferred, not copied. */
export function portChannel(port: MessagePort): Channel {
  return {
    post(frame) {
      port.postMessage(frame, [frame.buffer as ArrayBuffer]);
    },
    close() {
      port.close();
    },
  };
}
