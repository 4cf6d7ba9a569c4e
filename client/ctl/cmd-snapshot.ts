// snapshot save <file>: streams the member's snapshot into <file>.part, fsyncs it and renames it into place, within
// --command-timeout as etcdctl does. snapshot status <file>: hash, revision, keys and size of an etcd (bbolt) snapshot
// or of a tetcd one (tetcd-snapshot.ts). snapshot restore <file>: a new tetcd data dir from a tetcd snapshot.
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
  const tetcd = await import('./tetcd-snapshot.js');
  let result;
  try {
    result = tetcd.isTetcdSnapshot(path) ? tetcd.tetcdSnapshotStatus(path) : snapshotStatus(path);
  } catch (error) {
    if (error instanceof SnapshotFormatError || isSnapshotReadError(error)) throw new CtlError(ExitCode.error, (error as Error).message);
    throw error;
  }
  (await context.printer()).snapshotStatus(result);
  return ExitCode.success;
}

/** Damage or misuse found while reading a tetcd snapshot (its checksums, its image). */
function isSnapshotReadError(error: unknown): boolean {
  return error instanceof Error && ['TetcdSnapshotError', 'SnapshotCorruptError', 'ImageCorruptError', 'SnapshotUsageError', 'FieldDecodeError'].includes(error.name);
}

export async function restore(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'snapshot restore requires exactly one argument');
  const file = context.args[0]!;
  const { flags } = context;
  try {
    statSync(file);
  } catch (error) {
    throw new CtlError(ExitCode.error, goFileError('stat', file, error));
  }
  const tetcd = await import('./tetcd-snapshot.js');
  if (!tetcd.isTetcdSnapshot(file)) {
    throw new CtlError(ExitCode.error, `${file} is not a tetcd snapshot: restoring etcd's bolt snapshots is not supported`);
  }
  const name = flags.string('name');
  const dataDir = flags.string('data-dir') || tetcd.defaultDataDir(name);
  const log = (msg: string, fields: Record<string, unknown>) =>
    context.sink.err(JSON.stringify({ level: 'info', ts: new Date().toISOString(), caller: 'snapshot/restore', msg, ...fields }) + '\n');
  const peerUrls = flags.string('initial-advertise-peer-urls').split(',');
  const initialCluster = flags.string('initial-cluster');
  log('restoring snapshot', { path: file, 'data-dir': dataDir, 'initial-cluster': initialCluster });
  let ids;
  try {
    ids = tetcd.restoreTetcdSnapshot({
      file,
      dataDir,
      name,
      initialCluster,
      initialClusterToken: flags.string('initial-cluster-token'),
      initialAdvertisePeerUrls: peerUrls,
    });
  } catch (error) {
    if (isSnapshotReadError(error)) throw new CtlError(ExitCode.error, (error as Error).message);
    throw error;
  }
  log('restored snapshot', { path: file, 'data-dir': dataDir, 'member-id': ids.memberId, 'cluster-id': ids.clusterId });
  return ExitCode.success;
}
