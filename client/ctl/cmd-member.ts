// member add | remove | update | list | promote, with etcdctl's texts; `member add` prints the ETCD_* settings the
// new member should start with (simple format only, as etcdctl does).
import { ExitCode } from '../limits.js';
import { CtlError, type Context } from './context.js';
import { request } from './cmd-util.js';
import { GoParseError, goQuote, parseGoUint } from './go.js';

/** A member ID typed in hex, as 16 hex digits. */
function memberId(text: string): string {
  try {
    return parseGoUint(text, 16).toString(16).padStart(16, '0');
  } catch (error) {
    if (error instanceof GoParseError) throw new CtlError(ExitCode.badArgs, `bad member ID arg (${error.message}), expecting ID in Hex`);
    throw error;
  }
}

export async function add(context: Context): Promise<number> {
  if (context.args.length < 1) throw new CtlError(ExitCode.badArgs, 'member name not provided');
  if (context.args.length > 1) throw new CtlError(ExitCode.badArgs, `too many arguments, did you mean --peer-urls=${context.args[1]}`);
  const name = context.args[0]!;
  const peerURLs = context.flags.string('peer-urls');
  if (peerURLs === '') throw new CtlError(ExitCode.badArgs, 'member peer urls not provided');
  const urls = peerURLs.split(',');
  const isLearner = context.flags.bool('learner');
  const response = await request(context, context.client().cluster.memberAdd(urls, { isLearner }));
  (await context.printer()).memberAdd(response);
  if (context.globals.writeOut === 'simple') {
    const cluster: string[] = [];
    for (const m of response.members) {
      for (const u of m.peerURLs) cluster.push(`${m.ID === response.member.ID ? name : m.name}=${u}`);
    }
    context.sink.out(
      '\n' +
        `ETCD_NAME=${goQuote(name)}\n` +
        `ETCD_INITIAL_CLUSTER=${goQuote(cluster.join(','))}\n` +
        `ETCD_INITIAL_ADVERTISE_PEER_URLS=${goQuote(peerURLs)}\n` +
        'ETCD_INITIAL_CLUSTER_STATE="existing"\n',
    );
  }
  return ExitCode.success;
}

export async function remove(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'member ID is not provided');
  const id = memberId(context.args[0]!);
  const response = await request(context, context.client().cluster.memberRemove(id));
  (await context.printer()).memberRemove(id, response);
  return ExitCode.success;
}

export async function update(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'member ID is not provided');
  const id = memberId(context.args[0]!);
  const peerURLs = context.flags.string('peer-urls');
  if (peerURLs === '') throw new CtlError(ExitCode.badArgs, 'member peer urls not provided');
  const response = await request(context, context.client().cluster.memberUpdate(id, peerURLs.split(',')));
  (await context.printer()).memberUpdate(id, response);
  return ExitCode.success;
}

export async function promote(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'member ID is not provided');
  const id = memberId(context.args[0]!);
  const response = await request(context, context.client().cluster.memberPromote(id));
  (await context.printer()).memberPromote(id, response);
  return ExitCode.success;
}

export async function list(context: Context): Promise<number> {
  const response = await request(context, context.client().cluster.memberList());
  (await context.printer()).memberList(response);
  return ExitCode.success;
}
