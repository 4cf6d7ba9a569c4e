// elect <name> <proposal>: campaigns (a session, then the Election recipe), prints the leader key and value once
// elected, and leads until interrupted (then resigns). elect -l <name>: prints every leader as it changes.
import { Election } from '../concurrency/election.js';
import { Session } from '../concurrency/session.js';
import { RequestAbortedError } from '../errors.js';
import { ExitCode } from '../limits.js';
import { CtlError, type Context } from './context.js';
import { request } from './cmd-util.js';

export default async function elect(context: Context): Promise<number> {
  const args = context.args;
  if (args.length !== 1 && args.length !== 2) {
    throw new CtlError(ExitCode.badArgs, 'elect takes one election name argument and an optional proposal argument');
  }
  const listen = context.flags.bool('listen');
  if (!listen && args.length !== 2) throw new CtlError(ExitCode.badArgs, 'no proposal argument but -l not set');
  context.claimInterrupts();
  const client = context.client();
  const printer = await context.printer();
  if (listen) {
    const election = new Election(client, args[0]!);
    try {
      for await (const leader of election.observe({ signal: context.interrupted })) printer.get(leader);
    } catch (error) {
      if (!(error instanceof RequestAbortedError)) throw new CtlError(ExitCode.error, (error as Error).message);
    }
    if (!context.interrupted.aborted) throw new CtlError(ExitCode.error, 'elect: observer lost');
    return ExitCode.success;
  }
  const session = await request(context, Session.create(client));
  try {
    const election = new Election(session, args[0]!);
    try {
      await election.campaign(args[1]!, { signal: context.interrupted });
    } catch (error) {
      if (error instanceof RequestAbortedError || context.interrupted.aborted) throw new CtlError(ExitCode.error, 'context canceled');
      throw error;
    }
    printer.get(await request(context, client.kv.get(election.key)));
    const lost = await Promise.race([
      session.done.then(() => true),
      new Promise<boolean>((resolve) => {
        if (context.interrupted.aborted) resolve(false);
        else context.interrupted.addEventListener('abort', () => resolve(false), { once: true });
      }),
    ]);
    if (lost && !context.interrupted.aborted) throw new CtlError(ExitCode.error, 'elect: session expired');
    await election.resign().catch(() => {});
    return ExitCode.success;
  } finally {
    await session.close();
  }
}
