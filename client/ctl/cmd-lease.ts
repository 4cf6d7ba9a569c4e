// lease grant | revoke | timetolive [--keys] | list | keep-alive [--once], with etcdctl's texts and exit codes.
// Unlike etcdctl 3.4, timetolive and list give up after --command-timeout instead of waiting forever.
import { leaseIdHex } from '../keys.js';
import { ExitCode } from '../limits.js';
import { CtlError, type Context } from './context.js';
import { parseLeaseId, request } from './cmd-util.js';
import { GoParseError, parseGoInt } from './go.js';

export async function grant(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'lease grant command needs TTL argument');
  let ttl: bigint;
  try {
    ttl = parseGoInt(context.args[0]!, 10);
  } catch (error) {
    if (error instanceof GoParseError) throw new CtlError(ExitCode.badArgs, `bad TTL (${error.message})`);
    throw error;
  }
  const response = await request(context, context.client().lease.grant(Number(ttl)), (m) => `failed to grant lease (${m})`);
  (await context.printer()).leaseGrant(response);
  return ExitCode.success;
}

export async function revoke(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'lease revoke command needs 1 argument');
  const id = parseLeaseId(context.args[0]!, 'lease ID');
  const response = await request(context, context.client().lease.revoke(id), (m) => `failed to revoke lease (${m})`);
  (await context.printer()).leaseRevoke(id, response);
  return ExitCode.success;
}

export async function timeToLive(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'lease timetolive command needs lease ID as argument');
  const id = parseLeaseId(context.args[0]!, 'lease ID');
  const keys = context.flags.bool('keys');
  const response = await request(context, context.client().lease.timeToLive(id, { keys }), undefined, ExitCode.badConnection);
  (await context.printer()).timeToLive(response, keys);
  return ExitCode.success;
}

export async function list(context: Context): Promise<number> {
  const response = await request(context, context.client().lease.leases(), undefined, ExitCode.badConnection);
  (await context.printer()).leases(response);
  return ExitCode.success;
}

export async function keepAlive(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'lease keep-alive command needs lease ID as argument');
  const id = parseLeaseId(context.args[0]!, 'lease ID');
  const client = context.client();
  const printer = await context.printer();
  if (context.flags.bool('once')) {
    const response = await request(context, client.lease.keepAliveOnce(id), undefined, ExitCode.badConnection, false);
    printer.keepAlive(response);
    return ExitCode.success;
  }
  const loop = client.lease.keepAlive(id);
  try {
    for await (const response of loop) printer.keepAlive(response);
  } catch {
    // the lease is gone (revoked, expired, or not renewable in time)
  }
  if (context.globals.writeOut === 'simple') context.sink.out(`lease ${leaseIdHex(id)} expired or revoked.\n`);
  return ExitCode.success;
}
