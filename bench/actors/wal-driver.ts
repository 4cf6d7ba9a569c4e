// Bench actor standing in for raft in front of the WAL actor: `concurrency` appenders, each with one 256-byte entry in
// flight, each appending its next entry as soon as a walDurable covers the previous one. Either every appender sends
// its own append message (the WAL gathers them into one write per turn), or the driver coalesces the entries that
// became ready in one turn into one append, as raft's Ready does.
import { defineActor, type Protocol } from '../../runtime/actor.js';
import type { Entry } from '../../actors/raft/core/types.js';
import type { WalDurable, WalProtocol } from '../../actors/wal/protocol.js';
import { percentile } from '../report.js';

export interface DriverRun {
  type: 'run';
  concurrency: number;
  durationMs: number;
  entryBytes: number;
  coalesce: boolean;
  /** Index of the first entry this run appends (the WAL's last index + 1). */
  firstIndex: number;
}

export interface DriverResult {
  entries: number;
  seconds: number;
  appendMessages: number;
  durableMessages: number;
  /** Append-to-durable latency over every entry, in microseconds. */
  p50Us: number;
  p99Us: number;
  nextIndex: number;
}

export type DriverProtocol = Protocol<DriverRun | WalDurable, { run: DriverResult }>;

interface InFlight {
  seq: number;
  startedMs: number;
  count: number;
}

export default defineActor<DriverProtocol>((ctx) => {
  const wal = ctx.ref<WalProtocol>('wal');
  let onDurable: ((message: WalDurable) => void) | undefined;
  let seq = 0;
  return {
    receive(message) {
      if (message.type === 'walDurable') {
        onDurable?.(message);
        return;
      }
      const run = message;
      const data = new Uint8Array(run.entryBytes).fill(0x5a);
      let nextIndex = run.firstIndex;
      const queue: InFlight[] = [];
      let head = 0;
      const latenciesUs: number[] = [];
      let appendMessages = 0;
      let durableMessages = 0;
      const started = ctx.clock.now();
      const deadline = started + run.durationMs;
      const append = (ready: number, now: number): void => {
        if (run.coalesce) {
          const entries: Entry[] = [];
          for (let i = 0; i < ready; i++) entries.push({ term: 1, index: nextIndex++, type: 0, data });
          seq++;
          wal.tell({ type: 'append', seq, entries, sync: true });
          appendMessages++;
          queue.push({ seq, startedMs: now, count: ready });
          return;
        }
        for (let i = 0; i < ready; i++) {
          seq++;
          wal.tell({ type: 'append', seq, entries: [{ term: 1, index: nextIndex++, type: 0, data }], sync: true });
          appendMessages++;
          queue.push({ seq, startedMs: now, count: 1 });
        }
      };
      return new Promise<DriverResult>((resolve) => {
        onDurable = (durable) => {
          durableMessages++;
          const now = ctx.clock.now();
          let ready = 0;
          while (head < queue.length && queue[head]!.seq <= durable.seq) {
            const done = queue[head++]!;
            const us = (now - done.startedMs) * 1000;
            for (let i = 0; i < done.count; i++) latenciesUs.push(us);
            ready += done.count;
          }
          if (head > 4096) {
            queue.splice(0, head);
            head = 0;
          }
          if (now < deadline) {
            if (ready > 0) append(ready, now);
          } else if (head === queue.length) {
            onDurable = undefined;
            resolve({ entries: latenciesUs.length, seconds: (now - started) / 1000, appendMessages, durableMessages, p50Us: percentile(latenciesUs, 50), p99Us: percentile(latenciesUs, 99), nextIndex });
          }
        };
        append(run.concurrency, started);
      });
    },
  };
});
