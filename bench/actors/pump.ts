// Bench actor: a sender that pumps small messages to a peer as fast as credits allow, and a receiver that counts.
import { defineActor, type Protocol } from '../../runtime/actor.js';

export type PumpInbox =
  | { type: 'pump'; to: string; count: number }
  | { type: 'put'; key: Uint8Array; lease: number; n: number }
  | { type: 'received' }
  | { type: 'echo'; n: number };

export type PumpProtocol = Protocol<PumpInbox, { received: number; echo: number; pump: number }>;

export default defineActor<PumpProtocol>((ctx) => {
  let received = 0;
  const key = new Uint8Array(8).fill(107);
  return {
    receive(message) {
      switch (message.type) {
        case 'put':
          received++;
          return;
        case 'received':
          return received;
        case 'echo':
          return message.n;
        case 'pump': {
          // resolves when every message has been accepted by the receiver's mailbox
          const to = ctx.ref<PumpProtocol>(message.to);
          let n = 0;
          return new Promise<number>((resolve) => {
            const pump = (): void => {
              // send in slices so each turn's frame stays moderate and the receiver decodes while we encode
              let slice = 0;
              while (n < message.count && slice < 4096) {
                if (!to.tell({ type: 'put', key, lease: 0, n })) {
                  if (!to.gone()) void to.whenWritable().then(pump);
                  return;
                }
                n++;
                slice++;
              }
              if (n < message.count) setImmediate(pump);
              else resolve(n);
            };
            pump();
          });
        }
      }
    },
  };
});
