// The pipeline: a small piscina pool for heavy, stateless jobs that must stay off the main thread and off the
// actors' threads — today, streaming snapshot files to peers. One thread is enough: snapshots are rare, and a second
// concurrent transfer to another peer simply queues (bounded by maxQueue).
import { Piscina } from 'piscina';
import type { SendFileResult, SendFileTask } from './send-file.js';

export class Pipeline {
  private readonly pool: Piscina;

  constructor(threads = 1, queueMax = 16) {
    this.pool = new Piscina({
      filename: new URL('./send-file.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: threads,
      maxQueue: queueMax,
      idleTimeout: 30_000,
    });
  }

  sendFile(task: SendFileTask): Promise<SendFileResult> {
    return this.pool.run(task) as Promise<SendFileResult>;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
