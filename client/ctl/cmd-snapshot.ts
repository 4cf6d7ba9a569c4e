// snapshot save <file>: streams the member's snapshot into <file>.part, fsyncs it and renames it into place, within
// --command-timeout as etcdctl does. snapshot status <file>: hash, revision, keys and size of an etcd (bbolt) snapshot.
// snapshot restore: not available yet — restoring writes tetcd's own data-dir format, which the member defines.
import { closeSync, fsyncSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { ConnectionError } from '../errors.js';
import { ExitCode } from '../limits.js';
import { CtlError, requestMessage, type Context } from './context.js';

/** Go's wording of a file error: "open x.db.part: no such file or directory". */
function goFileError(operation: string, path: string, error: unknown): string {
  const message = (error as Error).message ?? String(error);
  const described = /^[A-Z]+: ([^,]+)/.exec(message);
  return `${operation} ${path}: ${described ? described[1] : message}`;
}

export async function save(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'snapshot save expects one argument');
  const path = context.args[0]!;
  const partPath = path + '.part';
  let fd: number;
  try {
    fd = openSync(partPath, 'w', 0o600);
  } catch (error) {
    throw new CtlError(ExitCode.interrupted, `could not open ${partPath} (${goFileError('open', partPath, error)})`);
  }
  const client = context.client();
  const deadline = Date.now() + context.globals.commandTimeoutMs;
  const timeout = () => new CtlError(ExitCode.interrupted, 'context deadline exceeded');
  try {
    for (let round = 0; ; round++) {
      const stream = client.maintenance.snapshot();
      const timer = setTimeout(() => stream.close(), Math.max(0, deadline - Date.now()));
      let received = 0;
      try {
        for await (const chunk of stream) {
          writeSync(fd, chunk.blob);
          received += chunk.blob.length;
        }
        if (Date.now() >= deadline) throw timeout();
        break;
      } catch (error) {
        if (error instanceof CtlError) throw error;
        // nothing received yet and the server was not reached: try again until the deadline, as etcdctl's client
        if (received === 0 && error instanceof ConnectionError && !error.sent && Date.now() < deadline) {
          client.connection.markFailed(client.connection.current());
          await client.connection.sleep(Math.min(client.connection.backoffMs(round), Math.max(0, deadline - Date.now())));
          if (Date.now() >= deadline) throw timeout();
          continue;
        }
        throw new CtlError(ExitCode.interrupted, requestMessage(error));
      } finally {
        clearTimeout(timer);
      }
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(partPath, path);
  context.sink.out(`Snapshot saved at ${path}\n`);
  return ExitCode.success;
}

export async function status(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'snapshot status requires exactly one argument');
  const path = context.args[0]!;
  try {
    statSync(path);
  } catch (error) {
    throw new CtlError(ExitCode.error, goFileError('stat', path, error));
  }
  const { snapshotStatus, SnapshotFormatError } = await import('./bolt.js');
  let result;
  try {
    result = snapshotStatus(path);
  } catch (error) {
    if (error instanceof SnapshotFormatError) throw new CtlError(ExitCode.error, error.message);
    throw error;
  }
  (await context.printer()).snapshotStatus(result);
  return ExitCode.success;
}

export async function restore(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'snapshot restore requires exactly one argument');
  throw new CtlError(ExitCode.error, 'snapshot restore is not available yet: it needs tetcd\'s data-dir format, which is not defined yet');
}
