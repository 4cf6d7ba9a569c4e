// Placeholder actor that proves the runtime boots a worker; removed once the member's real actors exist.
import { defineActor, type Protocol } from '../../runtime/actor.js';

export type HeartbeatProtocol = Protocol<{ type: 'beats' }, { beats: number }>;

export default defineActor<HeartbeatProtocol>((ctx) => {
  let beats = 0;
  const timer = ctx.clock.setInterval(1_000, () => beats++);
  return {
    receive: () => beats,
    stop: () => timer.cancel(),
  };
});
