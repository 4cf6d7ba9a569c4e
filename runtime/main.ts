// The member's entry point. For now it boots the actor runtime with a heartbeat actor; the member (raft, wal, mvcc,
// lease, gateway) replaces this as those actors land.
import { ActorSystem } from './system.js';
import { createLogger } from './log.js';

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const log = createLogger('tetcd', 'info');
  const dataDirIndex = argv.indexOf('--data-dir');
  const dataDir = dataDirIndex >= 0 ? argv[dataDirIndex + 1] : (env.TETCD_DATA_DIR ?? 'default.tetcd');
  const system = new ActorSystem({ mode: 'threads' });
  system.add({ name: 'heartbeat', module: new URL('../actors/heartbeat/actor.js', import.meta.url) });
  await system.start();
  log.warn('tetcd runtime started with its heartbeat actor only: the key-value server is not built yet', { dataDir });
  const stop = new Promise<number>((resolve) => {
    const onSignal = (signal: string) => {
      log.info('stopping', { signal });
      void system.stop().then(() => resolve(0));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  const failed = system.failed().then(() => 1);
  return Promise.race([stop, failed]);
}
