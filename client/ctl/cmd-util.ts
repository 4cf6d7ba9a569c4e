// Pieces several tetcdctl commands share: running a request the way etcdctl reports its failure, etcdctl's
// argument splitting for lines typed into txn and watch -i, reading standard input, and running a child command.
import { spawn } from 'node:child_process';
import { ExitCode } from '../limits.js';
import { CtlError, requestMessage, type Context } from './context.js';
import { goUnquotePrefix, parseGoInt } from './go.js';

/**
 * Awaits a request; a failure becomes "Error: <wrap(message)>" with `code`, logged first as etcdctl's client logs a
 * failed unary call (streams, such as keep-alive, pass log: false).
 */
export async function request<T>(
  context: Context,
  promise: Promise<T>,
  wrap: (message: string) => string = (m) => m,
  code: ExitCode = ExitCode.error,
  log = true,
): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (log) context.warnRequestFailed(error);
    throw new CtlError(code, wrap(requestMessage(error)));
  }
}

/**
 * Splits a typed line into arguments: "double quoted" strings with Go escapes, 'single quoted' strings taken
 * literally, and bare words. (etcdctl 3.4 trims single-quoted words by the wrong length; here they are taken whole.)
 */
export function argify(line: string): string[] {
  const pattern = /"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\t\n\f\r ][^\t\n\f\r ]*[^'"\t\n\f\r ]?/g;
  const out: string[] = [];
  for (const match of line.matchAll(pattern)) {
    const word = match[0];
    if (word.startsWith("'")) out.push(word.slice(1, -1));
    else if (word.startsWith('"')) {
      const parsed = goUnquotePrefix(word);
      if (!parsed) throw new CtlError(ExitCode.invalidInput, 'invalid syntax');
      out.push(Buffer.from(parsed[0]).toString('utf8'));
    } else out.push(word);
  }
  return out;
}

/** Reads standard input to its end. */
export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Lines of standard input, each with its newline; a last line without one is reported as `partial`. */
export async function* readLines(stream: NodeJS.ReadableStream): AsyncGenerator<{ line: string; partial: boolean }> {
  let pending = '';
  for await (const chunk of stream) {
    pending += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let newline = pending.indexOf('\n');
    while (newline >= 0) {
      yield { line: pending.slice(0, newline), partial: false };
      pending = pending.slice(newline + 1);
      newline = pending.indexOf('\n');
    }
  }
  yield { line: pending, partial: true };
}

/** A lease ID typed in hex, as etcdctl parses it (int64). */
export function parseLeaseId(text: string, what: string): bigint {
  try {
    return parseGoInt(text, 16);
  } catch (error) {
    throw new CtlError(ExitCode.badArgs, `bad ${what} arg (${(error as Error).message}), expecting ID in Hex`);
  }
}

const goSignalNames: Record<string, string> = {
  SIGKILL: 'killed',
  SIGTERM: 'terminated',
  SIGINT: 'interrupt',
  SIGHUP: 'hangup',
  SIGQUIT: 'quit',
  SIGABRT: 'aborted',
  SIGSEGV: 'segmentation fault',
  SIGPIPE: 'broken pipe',
};

/**
 * Runs a command with the given environment, its output going to ours. Resolves with undefined on exit status 0,
 * otherwise with Go's wording of the failure ("exit status 3", "signal: killed"). A command that cannot start is
 * "exec: <name>: executable file not found in $PATH", as Go words it.
 */
export function runCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env });
    child.once('error', (error: Error & { code?: string }) => {
      if (error.code === 'ENOENT') reject(new CtlError(ExitCode.error, `exec: ${JSON.stringify(argv[0])}: executable file not found in $PATH`));
      else reject(new CtlError(ExitCode.error, error.message));
    });
    child.once('exit', (code, signal) => {
      if (signal) resolve(`signal: ${goSignalNames[signal] ?? signal}`);
      else resolve(code === 0 ? undefined : `exit status ${code ?? 1}`);
    });
  });
}
