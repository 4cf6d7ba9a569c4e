// watch: prints events as they happen, until interrupted or until the server cancels the watch (exit 5).
//
//   watch key [range_end] [--rev N] [--prefix] [--prev-kv] [--progress-notify] [-- command args...]
//   watch -i            reads "watch key [flags] [-- command]" and "progress" lines from standard input
//
// With "-- command" the command runs after each response, once per event, with ETCD_WATCH_REVISION, ETCD_WATCH_KEY,
// ETCD_WATCH_EVENT_TYPE and ETCD_WATCH_VALUE set (quoted as etcdctl quotes them). ETCDCTL_WATCH_KEY and
// ETCDCTL_WATCH_RANGE_END may give the key and range end instead of arguments.
import type { WatchResponse } from '../../actors/api/types.js';
import { WatchCanceledError } from '../errors.js';
import { ExitCode } from '../limits.js';
import { isProgressNotify, type Watch, type WatchOptions } from '../watch.js';
import { CtlError, type Context } from './context.js';
import { argify, readLines, runCommand } from './cmd-util.js';
import { watchFlags } from './commands.js';
import { FlagError, HelpRequested, parseFlags, type ParsedFlags } from './flags.js';
import { goQuote } from './go.js';
import type { Printer } from './printer.js';

const badArgs = 'bad number of arguments';
const badArgsSeparator = 'bad number of arguments (found separator --, but no commands)';
const badArgsEnv = 'bad number of arguments (found conflicting environment key)';

interface WatchPlan {
  key: string;
  options: WatchOptions;
  command: string[];
}

/** Key, range and options of one watch from its flags and words (etcdctl's rules: 2 words = range, more = key only). */
function plan(flags: ParsedFlags, words: string[], command: string[]): WatchPlan {
  if (words.length < 1) throw new CtlError(ExitCode.badArgs, badArgs);
  const options: WatchOptions = {};
  const rev = flags.int('rev');
  if (rev !== 0n) options.startRevision = Number(rev);
  if (words.length === 2) {
    if (flags.bool('prefix')) throw new CtlError(ExitCode.badArgs, '`range_end` and `--prefix` are mutually exclusive');
    options.rangeEnd = words[1]!;
  }
  if (flags.bool('prefix')) options.prefix = true;
  if (flags.bool('prev-kv')) options.prevKv = true;
  if (flags.bool('progress-notify')) options.progressNotify = true;
  return { key: words[0]!, options, command };
}

/** Splits words at the "--" etcdctl found (argsLenAtDash), adding the environment's key and range end. */
function splitWords(flags: ParsedFlags, env: NodeJS.ProcessEnv): { words: string[]; command: string[] } {
  const envKey = env.ETCDCTL_WATCH_KEY ?? '';
  const envRange = env.ETCDCTL_WATCH_RANGE_END ?? '';
  const dash = flags.argsLenAtDash;
  const words = dash >= 0 ? flags.args.slice(0, dash) : [...flags.args];
  const command = dash >= 0 ? flags.args.slice(dash) : [];
  if (dash >= 0 && command.length === 0) throw new CtlError(ExitCode.badArgs, badArgsSeparator);
  if (envKey !== '') {
    if (words.length > 0) throw new CtlError(ExitCode.badArgs, badArgsEnv);
    words.push(envKey);
    if (envRange !== '') words.push(envRange);
  } else if (words.length === 0) {
    throw new CtlError(ExitCode.badArgs, badArgs);
  }
  return { words, command };
}

/** Prints responses of one watch and runs its command, until the watch ends; returns the cancel error if any. */
async function printWatch(context: Context, watch: Watch, printer: Printer, command: string[]): Promise<WatchCanceledError | undefined> {
  try {
    for await (const response of watch) {
      if (isProgressNotify(response)) context.sink.out(`progress notify: ${response.header.revision}\n`);
      printer.watch(response);
      if (command.length > 0) await runForEvents(context, response, command);
    }
    return undefined;
  } catch (error) {
    if (!(error instanceof WatchCanceledError)) throw error;
    const response = (error as WatchCanceledError & { response?: WatchResponse }).response;
    context.sink.err(`watch was canceled (${error.message || '<nil>'})\n`);
    if (response) printer.watch(response);
    return error;
  }
}

async function runForEvents(context: Context, response: WatchResponse, command: string[]): Promise<void> {
  for (const event of response.events) {
    const env = {
      ...context.env,
      ETCD_WATCH_REVISION: String(response.header.revision),
      ETCD_WATCH_KEY: goQuote(event.kv.key),
      ETCD_WATCH_EVENT_TYPE: goQuote(event.type === 1 ? 'DELETE' : 'PUT'),
      ETCD_WATCH_VALUE: goQuote(event.kv.value),
    };
    const failure = await runCommand(command, env);
    if (failure) context.sink.err(`command ${JSON.stringify(command.join(' '))} error (${failure})\n`);
  }
}

export default async function watch(context: Context): Promise<number> {
  const envKey = context.env.ETCDCTL_WATCH_KEY ?? '';
  const envRange = context.env.ETCDCTL_WATCH_RANGE_END ?? '';
  if (envKey === '' && envRange !== '') {
    throw new CtlError(ExitCode.badArgs, `ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=${JSON.stringify(envRange)}`);
  }
  if (context.flags.bool('interactive')) return interactive(context);
  const { words, command } = splitWords(context.flags, context.env);
  const p = plan(context.flags, words, command);
  const printer = await context.printer();
  const client = context.client();
  const w = client.watch(p.key, p.options);
  await printWatch(context, w, printer, p.command);
  throw new CtlError(ExitCode.interrupted, 'watch is canceled by the server');
}

async function interactive(context: Context): Promise<number> {
  const printer = await context.printer();
  const client = context.client();
  const running: Promise<unknown>[] = [];
  const watches: Watch[] = [];
  for await (const { line, partial } of readLines(context.stdin)) {
    if (partial) break;
    const words = argify(line);
    if (words.length < 1) {
      context.sink.err(`Invalid command: ${line} (watch and progress supported)\n`);
      continue;
    }
    if (words[0] === 'progress') {
      client.watcher.requestProgress();
      continue;
    }
    if (words[0] !== 'watch') {
      context.sink.err(`Invalid command ${line} (only support watch)\n`);
      continue;
    }
    if (words.length < 2) {
      context.sink.err(`Invalid command ${line} (command type or key is not provided)\n`);
      continue;
    }
    // a line etcdctl cannot parse ends the session (exit 128); a watch it cannot open is skipped
    let flags: ParsedFlags;
    let split: { words: string[]; command: string[] };
    try {
      flags = parseFlags(words.slice(1), watchFlags);
      split = splitWords(flags, context.env);
    } catch (error) {
      if (error instanceof FlagError || error instanceof HelpRequested) throw new CtlError(ExitCode.badArgs, error.message);
      throw error;
    }
    let p: WatchPlan;
    try {
      p = plan(flags, split.words, split.command);
    } catch (error) {
      if (error instanceof CtlError) {
        context.sink.err(`Invalid command ${line} (${error.message})\n`);
        continue;
      }
      throw error;
    }
    const w = client.watch(p.key, p.options);
    watches.push(w);
    running.push(printWatch(context, w, printer, p.command));
  }
  for (const w of watches) void w.cancel();
  throw new CtlError(ExitCode.invalidInput, 'Error reading watch request line: EOF');
}
