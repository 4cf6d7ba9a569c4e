// `tetcd`: parse etcd's flags, start a member, stop it cleanly on SIGTERM/SIGINT (exit 0), and exit non-zero when
// an actor crashes or the member cannot start.
import { ConfigError, parseArgs, usage } from './config.js';
import { createLogger } from './log.js';
import { DataDirLockedError } from './lock.js';
import { startMember, type RunningMember } from './member.js';
import { tetcdVersion, etcdApiVersion } from '../actors/server/server.js';

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv, env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tetcd: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`tetcd Version: ${tetcdVersion}\netcd API Version: ${etcdApiVersion}\nNode Version: ${process.version}\n`);
    return 0;
  }
  const config = parsed.config;
  const log = createLogger('tetcd', config.logLevel);
  // The handlers are in place before the member starts: its gateway answers /health before startMember returns,
  // and a SIGTERM in that window must still end in a clean stop, not in the signal's default exit.
  let signaled: NodeJS.Signals | undefined;
  let onSignal: (signal: NodeJS.Signals) => void = (signal) => {
    signaled = signal;
  };
  const handler = (signal: NodeJS.Signals) => onSignal(signal);
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  let member: RunningMember;
  try {
    member = await startMember(config, log);
  } catch (error) {
    if (error instanceof DataDirLockedError) log.error(error.message);
    else log.error('member failed to start', { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    return 1;
  }
  log.info('ready to serve client requests', { urls: config.listenClientUrls, memberId: member.memberId });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (code: number) => {
      if (stopping) return;
      stopping = true;
      void member.stop().then(() => resolve(code));
    };
    onSignal = (signal) => {
      log.info('received signal; shutting down', { signal });
      stop(0);
    };
    if (signaled) onSignal(signaled);
    void member.system.failed().then((failure) => {
      log.error('a member actor failed; shutting down', { error: failure.message });
      stop(1);
    });
  });
}
