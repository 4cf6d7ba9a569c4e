// lock <name> [command args...]: takes the fair lock <name> (a session with --ttl, then the Mutex recipe). With a
// command it runs it holding the lock (ETCD_LOCK_KEY and ETCD_LOCK_REV set) and releases the lock when it exits;
// without, it prints the lock key and holds the lock until interrupted. Interrupted while waiting: "context
// canceled", exit 1; interrupted while holding: released, exit 0.
import { Mutex } from '../concurrency/mutex.js';
import { Session } from '../concurrency/session.js';
import { RequestAbortedError } from '../errors.js';
import { ExitCode } from '../limits.js';
import { CtlError, type Context } from './context.js';
import { request, runCommand } from './cmd-util.js';

export default async function lock(context: Context): Promise<number> {
  if (context.args.length === 0) throw new CtlError(ExitCode.badArgs, 'lock takes a lock name argument and an optional command to execute');
  context.claimInterrupts();
  const client = context.client();
  const ttlSeconds = Number(context.flags.int('ttl'));
  const session = await request(context, Session.create(client, { ttlSeconds }));
  try {
    const mutex = new Mutex(session, context.args[0]!);
    try {
      await mutex.lock({ signal: context.interrupted });
    } catch (error) {
      if (error instanceof RequestAbortedError || context.interrupted.aborted) throw new CtlError(ExitCode.error, 'context canceled');
      throw error;
    }
    if (context.args.length > 1) {
      const env = { ...context.env, ETCD_LOCK_KEY: mutex.key, ETCD_LOCK_REV: String(mutex.myRevision) };
      const failure = await runCommand(context.args.slice(1), env);
      await mutex.unlock().catch(() => {});
      if (failure) throw new CtlError(ExitCode.error, failure);
      return ExitCode.success;
    }
    const held = await request(context, client.kv.get(mutex.key));
    (await context.printer()).get(held);
    const lost = await Promise.race([
      session.done.then(() => true),
      new Promise<boolean>((resolve) => {
        if (context.interrupted.aborted) resolve(false);
        else context.interrupted.addEventListener('abort', () => resolve(false), { once: true });
      }),
    ]);
    if (lost && !context.interrupted.aborted) throw new CtlError(ExitCode.error, 'session expired');
    await mutex.unlock().catch(() => {});
    return ExitCode.success;
  } finally {
    await session.close();
  }
}
