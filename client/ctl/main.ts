// tetcdctl: etcdctl's commands, flags, output and exit codes, over tetcd's HTTP/WebSocket API.
//
// Startup is kept small because people run it once per command: this module loads only the flag parser and the
// command table; a command's module, the client, the printer for the chosen -w format and the WebSocket library are
// imported when (and if) the command needs them.
import type { Client } from '../client.js';
import { ExitCode } from '../limits.js';
import { CtlError, isLoggedFailure, requestMessage, rpcErrorText, type Context, type Globals } from './context.js';
import { FlagError, HelpRequested, parseFlags, type FlagSpec, type ParsedFlags } from './flags.js';
import { GoParseError, parseGoBool, parseGoDuration } from './go.js';
import type { OutputFormat, Printer, Sink } from './printer.js';
import { commandTree, findCommand, helpText, type CommandSpec } from './commands.js';

export const globalFlags: FlagSpec[] = [
  { name: 'endpoints', kind: 'stringSlice', default: ['127.0.0.1:2379'], help: 'gRPC endpoints' },
  { name: 'dial-timeout', kind: 'duration', default: 2e9, help: 'dial timeout for client connections' },
  { name: 'command-timeout', kind: 'duration', default: 5e9, help: 'timeout for short running command (excluding dial timeout)' },
  { name: 'keepalive-time', kind: 'duration', default: 2e9, help: 'keepalive time for client connections' },
  { name: 'keepalive-timeout', kind: 'duration', default: 6e9, help: 'keepalive timeout for client connections' },
  { name: 'write-out', short: 'w', kind: 'string', default: 'simple', help: 'set the output format (fields, json, simple, table)' },
  { name: 'hex', kind: 'bool', default: false, help: 'print byte strings as hex encoded strings' },
  { name: 'debug', kind: 'bool', default: false, help: 'enable client-side debug logging' },
  { name: 'insecure-transport', kind: 'bool', default: true, help: 'disable transport security for client connections' },
  { name: 'insecure-skip-tls-verify', kind: 'bool', default: false, help: 'skip server certificate verification' },
  { name: 'insecure-discovery', kind: 'bool', default: true, help: 'accept insecure SRV records describing cluster endpoints' },
  { name: 'cacert', kind: 'string', default: '', help: 'verify certificates of TLS-enabled secure servers using this CA bundle' },
  { name: 'cert', kind: 'string', default: '', help: 'identify secure client using this TLS certificate file' },
  { name: 'key', kind: 'string', default: '', help: 'identify secure client using this TLS key file' },
  { name: 'user', kind: 'string', default: '', help: 'username[:password] for authentication' },
  { name: 'password', kind: 'string', default: '', help: 'password for authentication' },
  { name: 'discovery-srv', short: 'd', kind: 'string', default: '', help: 'domain name to query for SRV records describing cluster endpoints' },
  { name: 'discovery-srv-name', kind: 'string', default: '', help: 'service name to query when using DNS discovery' },
];

/** Environment variables etcdctl reads besides the ETCDCTL_<GLOBAL_FLAG> ones. */
const otherEnv = new Set(['ETCDCTL_API', 'ETCDCTL_WATCH_KEY', 'ETCDCTL_WATCH_RANGE_END']);

/** capnslog's line prefix, as etcdctl's flag package logs: "2006-01-02 15:04:05.000000 C | pkg/flags: ". */
function capnslogPrefix(level: 'C' | 'W'): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)} ${level} | pkg/flags: `;
}

/** ETCDCTL_<FLAG> for each global flag not given on the command line; both given is etcdctl's fatal conflict. */
function applyEnvironment(flags: ParsedFlags, env: NodeJS.ProcessEnv, sink: Sink): void {
  const used = new Set<string>();
  for (const spec of globalFlags) {
    const variable = 'ETCDCTL_' + spec.name.toUpperCase().replace(/-/g, '_');
    const value = env[variable];
    if (value === undefined) continue;
    used.add(variable);
    if (flags.changed.has(spec.name)) {
      throw new CtlError(ExitCode.error, `${capnslogPrefix('C')}conflicting environment variable "${variable}" is shadowed by corresponding command-line flag (either unset environment variable or disable flag)`, true);
    }
    try {
      switch (spec.kind) {
        case 'bool':
          flags.set(spec.name, parseGoBool(value));
          break;
        case 'duration':
          flags.set(spec.name, parseGoDuration(value));
          break;
        case 'stringSlice':
          flags.set(spec.name, value === '' ? [] : value.split(','));
          break;
        default:
          flags.set(spec.name, value);
      }
    } catch (error) {
      if (error instanceof GoParseError) {
        throw new CtlError(ExitCode.error, `${capnslogPrefix('C')}invalid value ${JSON.stringify(value)} for ${variable}: ${error.message}`, true);
      }
      throw error;
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('ETCDCTL_') && !used.has(name) && !otherEnv.has(name)) {
      sink.err(`${capnslogPrefix('W')}unrecognized environment variable ${name}=${value ?? ''}\n`);
    }
  }
}

function globalsFrom(flags: ParsedFlags): Globals {
  const writeOut = flags.string('write-out');
  if (!['simple', 'json', 'fields', 'table', 'protobuf'].includes(writeOut)) {
    throw new CtlError(ExitCode.badFeature, 'unsupported output format');
  }
  for (const tls of ['cacert', 'cert', 'key']) {
    if (flags.string(tls) !== '') throw new CtlError(ExitCode.badConnection, 'TLS is not supported by tetcdctl yet');
  }
  if (flags.string('user') !== '' || flags.string('password') !== '') {
    throw new CtlError(ExitCode.badConnection, 'authentication is not supported by tetcdctl yet');
  }
  if (flags.string('discovery-srv') !== '') throw new CtlError(ExitCode.badConnection, 'DNS discovery is not supported by tetcdctl yet');
  return {
    endpoints: flags.strings('endpoints'),
    dialTimeoutMs: flags.duration('dial-timeout') / 1e6,
    commandTimeoutMs: flags.duration('command-timeout') / 1e6,
    writeOut: writeOut as OutputFormat,
    hex: flags.bool('hex'),
    debug: flags.bool('debug'),
  };
}

/** Writes to the process's stdout and stderr; `drain` waits until everything written has left. */
export function processSink(): Sink & { drain(): Promise<void> } {
  const write = (stream: NodeJS.WriteStream, data: string | Uint8Array) => {
    stream.write(data);
  };
  return {
    out: (data) => write(process.stdout, data),
    err: (data) => write(process.stderr, data),
    drain: async () => {
      for (const stream of [process.stdout, process.stderr]) {
        if (stream.writableNeedDrain) await new Promise((resolve) => stream.once('drain', resolve));
      }
    },
  };
}

export interface RunOptions {
  argv: string[];
  env: NodeJS.ProcessEnv;
  sink: Sink;
  stdin: NodeJS.ReadableStream;
  /** Program name for messages ("tetcdctl"). */
  program: string;
  interrupted: AbortSignal;
  /** Called when a command wants SIGINT/SIGTERM as an abort instead of dying by them. */
  claimInterrupts?: () => void;
}

/** Runs one tetcdctl invocation; returns the exit code. */
export async function run(options: RunOptions): Promise<number> {
  const { argv, sink } = options;
  let command: CommandSpec | undefined;
  let client: Client | undefined;
  try {
    const found = findCommand(argv, globalFlags);
    if (found.unknown !== undefined) {
      const message = `unknown command ${JSON.stringify(found.unknown)} for ${JSON.stringify(options.program)}`;
      sink.err(`Error: ${message}\nRun '${options.program} --help' for usage.\n`);
      throw new CtlError(ExitCode.error, message);
    }
    command = found.command;
    if (!command || !command.run) {
      sink.out(helpText(options.program, command ?? commandTree, globalFlags));
      return ExitCode.success;
    }
    let flags: ParsedFlags;
    try {
      flags = parseFlags(found.rest, [...globalFlags, ...(command.flags ?? [])]);
    } catch (error) {
      if (error instanceof HelpRequested) {
        sink.out(helpText(options.program, command, globalFlags));
        return ExitCode.success;
      }
      if (error instanceof FlagError) {
        // cobra prints the error, the usage and an empty line; etcdctl then prints the error again
        sink.err(`Error: ${error.message}\n`);
        sink.out(helpText(options.program, command, globalFlags));
        sink.err('\n');
        throw new CtlError(ExitCode.error, error.message);
      }
      throw error;
    }
    applyEnvironment(flags, options.env, sink);
    const globals = globalsFrom(flags);
    const clientModule = command.needsClient === false ? undefined : await import('../client.js');
    let printer: Printer | undefined;
    const context: Context = {
      name: command.path,
      flags,
      args: flags.args,
      globals,
      sink,
      env: options.env,
      stdin: options.stdin,
      interrupted: options.interrupted,
      claimInterrupts: () => options.claimInterrupts?.(),
      argv,
      client: () => {
        if (!clientModule) throw new Error(`${command!.path} does not talk to a server`);
        if (!client) {
          client = new clientModule.Client({
            endpoints: globals.endpoints,
            dialTimeoutMs: globals.dialTimeoutMs,
            requestTimeoutMs: globals.commandTimeoutMs,
            transport: (options.env.TETCDCTL_TRANSPORT as 'auto' | 'http' | 'ws' | undefined) ?? 'auto',
          });
        }
        return client;
      },
      printer: async (p) => {
        // --print-value-only changes how get prints, so that printer is built for it
        if (!printer || p?.valueOnly) {
          const { loadPrinter } = await import('./printer.js');
          printer = await loadPrinter(globals.writeOut, sink, { hex: globals.hex, valueOnly: p?.valueOnly ?? false });
        }
        return printer;
      },
      warnRequestFailed: (error) => {
        if (!isLoggedFailure(error)) return;
        const line = {
          level: 'warn',
          ts: new Date().toISOString(),
          caller: 'tetcdctl',
          msg: 'request failed',
          target: globals.endpoints.join(','),
          attempt: 0,
          error: rpcErrorText(error),
        };
        sink.err(JSON.stringify(line) + '\n');
      },
    };
    const module = await command.run();
    return await module.default(context);
  } catch (error) {
    if (error instanceof CtlError) {
      sink.err(error.raw ? `${error.message}\n` : `Error: ${error.message}\n`);
      return error.exitCode;
    }
    const { UnsupportedFormatError } = await import('./printer.js');
    if (error instanceof UnsupportedFormatError) {
      sink.err(`Error: ${error.message}\n`);
      return ExitCode.badFeature;
    }
    sink.err(`Error: ${requestMessage(error)}\n`);
    return ExitCode.error;
  } finally {
    client?.close();
  }
}

/** The process entry: argv, signals, exit code, flushed output. */
export async function main(): Promise<void> {
  const sink = processSink();
  const controller = new AbortController();
  let claimed = false;
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!claimed) {
      // like etcdctl's commands that do not handle signals: die by it
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
      process.kill(process.pid, signal);
      return;
    }
    interrupts++;
    controller.abort();
    if (interrupts > 1) process.exit(ExitCode.interrupted);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await run({
    argv: process.argv.slice(2),
    env: process.env,
    sink,
    stdin: process.stdin,
    program: 'tetcdctl',
    interrupted: controller.signal,
    claimInterrupts: () => (claimed = true),
  });
  await sink.drain();
  process.exit(code);
}
