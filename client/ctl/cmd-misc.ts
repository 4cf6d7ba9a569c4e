// alarm list | disarm, defrag, move-leader and version.
import { ExitCode } from '../limits.js';
import { CtlError, requestMessage, type Context } from './context.js';
import { request } from './cmd-util.js';
import { GoParseError, parseGoUint } from './go.js';

export async function alarmList(context: Context): Promise<number> {
  const response = await request(context, context.client().maintenance.alarmList());
  (await context.printer()).alarm(response);
  return ExitCode.success;
}

export async function alarmDisarm(context: Context): Promise<number> {
  const response = await request(context, context.client().maintenance.alarmDisarm());
  (await context.printer()).alarm(response);
  return ExitCode.success;
}

export async function defrag(context: Context): Promise<number> {
  if (context.flags.string('data-dir') !== '') {
    throw new CtlError(ExitCode.error, 'defrag --data-dir is not available: tetcd defragments a live member only');
  }
  let endpoints = context.globals.endpoints;
  const client = context.client();
  if (context.flags.bool('cluster')) {
    const members = await request(context, client.cluster.memberList());
    endpoints = members.members.flatMap((m) => m.clientURLs);
  }
  let failed = false;
  for (const endpoint of endpoints) {
    try {
      await client.maintenance.defragment({ endpoint });
      context.sink.out(`Finished defragmenting etcd member[${endpoint}]\n`);
    } catch (error) {
      failed = true;
      context.warnRequestFailed(error);
      context.sink.err(`Failed to defragment etcd member[${endpoint}] (${requestMessage(error)})\n`);
    }
  }
  return failed ? ExitCode.error : ExitCode.success;
}

export async function moveLeader(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'move-leader command needs 1 argument');
  let target: bigint;
  try {
    target = parseGoUint(context.args[0]!, 16);
  } catch (error) {
    if (error instanceof GoParseError) throw new CtlError(ExitCode.badArgs, error.message);
    throw error;
  }
  const client = context.client();
  let leader: { endpoint: string; id: string } | undefined;
  for (const endpoint of context.globals.endpoints) {
    const status = await request(context, client.maintenance.status({ endpoint }));
    if (status.header.memberId === status.leader) {
      leader = { endpoint, id: status.leader };
      break;
    }
  }
  if (!leader) throw new CtlError(ExitCode.badArgs, `no leader endpoint given at [${context.globals.endpoints.join(' ')}]`);
  const targetHex = target.toString(16).padStart(16, '0');
  const response = await request(context, client.maintenance.moveLeader(targetHex, { endpoint: leader.endpoint }));
  (await context.printer()).moveLeader(BigInt('0x' + leader.id).toString(16), target.toString(16), response);
  return ExitCode.success;
}

/** tetcdctl speaks etcdctl 3.4's command line and etcd's v3.4 API; it reports itself as that version. */
export async function version(context: Context): Promise<number> {
  context.sink.out('etcdctl version: 3.4.23\nAPI version: 3.4\n');
  return ExitCode.success;
}
