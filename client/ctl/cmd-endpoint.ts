// endpoint health | status | hashkv [--cluster]: one answer per endpoint (--endpoints, or with --cluster every client
// URL of the member list). Health is a linearizable read of the key "health", timed, as etcdctl checks it.
import type { Client } from '../client.js';
import { ExitCode } from '../limits.js';
import { CtlError, requestMessage, type Context } from './context.js';
import { request } from './cmd-util.js';
import { formatGoDuration } from './go.js';
import type { EndpointHashKV, EndpointHealth, EndpointStatus } from './printer.js';

async function endpointList(context: Context): Promise<string[]> {
  if (!context.flags.bool('cluster')) return context.globals.endpoints;
  const members = await request(context, context.client().cluster.memberList());
  const out: string[] = [];
  for (const m of members.members) for (const u of m.clientURLs) out.push(u);
  return out;
}

export async function health(context: Context): Promise<number> {
  const endpoints = await endpointList(context);
  const { Client } = await import('../client.js');
  const checks = endpoints.map(async (endpoint): Promise<EndpointHealth> => {
    const client: Client = new Client({
      endpoints: [endpoint],
      dialTimeoutMs: context.globals.dialTimeoutMs,
      requestTimeoutMs: context.globals.commandTimeoutMs,
      transport: 'http',
    });
    const started = process.hrtime.bigint();
    try {
      await client.kv.get('health');
      return { endpoint, health: true, took: formatGoDuration(Number(process.hrtime.bigint() - started)) };
    } catch (error) {
      const took = formatGoDuration(Number(process.hrtime.bigint() - started));
      // a permission error still proves the request went through consensus
      if ((error as { code?: number }).code === 7) return { endpoint, health: true, took };
      context.warnRequestFailed(error);
      return { endpoint, health: false, took, error: requestMessage(error) };
    } finally {
      client.close();
    }
  });
  const results = await Promise.all(checks);
  (await context.printer()).endpointHealth(results);
  if (results.some((r) => !r.health)) throw new CtlError(ExitCode.error, 'unhealthy cluster');
  return ExitCode.success;
}

export async function status(context: Context): Promise<number> {
  const endpoints = await endpointList(context);
  const client = context.client();
  const list: EndpointStatus[] = [];
  let failed = false;
  for (const endpoint of endpoints) {
    try {
      list.push({ endpoint, status: await client.maintenance.status({ endpoint }) });
    } catch (error) {
      failed = true;
      context.warnRequestFailed(error);
      context.sink.err(`Failed to get the status of endpoint ${endpoint} (${requestMessage(error)})\n`);
    }
  }
  (await context.printer()).endpointStatus(list);
  return failed ? ExitCode.error : ExitCode.success;
}

export async function hashKV(context: Context): Promise<number> {
  const endpoints = await endpointList(context);
  const client = context.client();
  const revision = Number(context.flags.int('rev'));
  const list: EndpointHashKV[] = [];
  let failure: string | undefined;
  for (const endpoint of endpoints) {
    try {
      list.push({ endpoint, hashKV: await client.maintenance.hashKV(revision, { endpoint }) });
    } catch (error) {
      failure = requestMessage(error);
      context.warnRequestFailed(error);
      context.sink.err(`Failed to get the hash of endpoint ${endpoint} (${failure})\n`);
    }
  }
  (await context.printer()).endpointHashKV(list);
  if (failure !== undefined) throw new CtlError(ExitCode.error, failure);
  return ExitCode.success;
}
