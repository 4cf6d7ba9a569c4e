// Shapes shared by the system (main thread) and the worker host: the control protocol on a worker's parent port and
// the MessagePort-backed channel.
import type { MessagePort } from 'node:worker_threads';
import type { Channel } from './cell.js';
import type { WireError } from './errors.js';

export interface WorkerBoot {
  name: string;
  moduleUrl: string;
  config: unknown;
  logLevel: string;
}

export type ControlToWorker =
  | { type: 'link'; peer: string; port: MessagePort; peerMailboxLimit: number }
  | { type: 'unlink'; peer: string; reason: string }
  | { type: 'start' }
  | { type: 'stop' };

export type ControlFromWorker =
  | { type: 'started' }
  | { type: 'start-failed'; error: WireError }
  | { type: 'crash'; error: WireError & { stack?: string | undefined } }
  | { type: 'stopped' };

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
