// A worker that answers each plain postMessage at once: the floor under any ask round trip.
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', (message: number) => parentPort!.postMessage(message));
