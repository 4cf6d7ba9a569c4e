// get, put, del and compaction, with etcdctl's argument rules, error texts and exit codes.
import type { DeleteOptions, GetOptions, PutOptions, SortOrderName, SortTargetName } from '../txn.js';
import { ExitCode } from '../limits.js';
import { CtlError, type Context } from './context.js';
import { readAll, request } from './cmd-util.js';
import { parseGoInt } from './go.js';
import type { ParsedFlags } from './flags.js';

export interface GetOp {
  key: string;
  options: GetOptions;
}

/** The Range a get command (or a txn line "get …") asks for. */
export function getOp(flags: ParsedFlags, args: string[]): GetOp {
  if (args.length === 0) throw new CtlError(ExitCode.badArgs, 'get command needs one argument as key and an optional argument as range_end');
  const prefix = flags.bool('prefix');
  const fromKey = flags.bool('from-key');
  if (prefix && fromKey) throw new CtlError(ExitCode.badArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  const options: GetOptions = {};
  const consistency = flags.string('consistency');
  if (consistency === 's') options.serializable = true;
  else if (consistency !== 'l') throw new CtlError(ExitCode.badFeature, `unknown consistency flag ${JSON.stringify(consistency)}`);
  const key = args[0]!;
  if (args.length > 1) {
    if (prefix || fromKey) throw new CtlError(ExitCode.badArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
    options.rangeEnd = args[1]!;
  }
  const limit = flags.int('limit');
  if (limit !== 0n) options.limit = Number(limit);
  const rev = flags.int('rev');
  if (rev !== 0n) options.revision = Number(rev);
  const orderText = flags.string('order');
  let order: SortOrderName = 'NONE';
  if (orderText === 'ASCEND' || orderText === 'DESCEND') order = orderText;
  else if (orderText !== '') throw new CtlError(ExitCode.badFeature, `bad sort order ${orderText}`);
  const targets: Record<string, SortTargetName> = { CREATE: 'CREATE', KEY: 'KEY', MODIFY: 'MOD', VALUE: 'VALUE', VERSION: 'VERSION' };
  const targetText = flags.string('sort-by');
  if (targetText !== '' && !(targetText in targets)) throw new CtlError(ExitCode.badFeature, `bad sort target ${targetText}`);
  if (targetText !== '' || order !== 'NONE') {
    const target = targetText === '' ? 'KEY' : targets[targetText]!;
    // KEY ascending is the store's own order: etcd's client then sends no sort at all
    if (!(target === 'KEY' && order === 'ASCEND')) options.sort = { target, order };
  }
  if (prefix) options.prefix = true;
  if (fromKey) options.fromKey = true;
  if (flags.bool('keys-only')) options.keysOnly = true;
  if (flags.bool('count-only')) options.countOnly = true;
  return { key, options };
}

export async function get(context: Context): Promise<number> {
  const { flags, globals } = context;
  const valueOnly = flags.bool('print-value-only');
  if (valueOnly && globals.writeOut !== 'simple') throw new CtlError(ExitCode.badArgs, 'print-value-only is only for `--write-out=simple`');
  if (flags.bool('count-only') && globals.writeOut !== 'fields') throw new CtlError(ExitCode.badArgs, '--count-only is only for `--write-out=fields`');
  const { key, options } = getOp(flags, context.args);
  const response = await request(context, context.client().kv.get(key, options));
  (await context.printer({ valueOnly })).get(response);
  return ExitCode.success;
}

export interface PutOp {
  key: string;
  value: string | Uint8Array;
  options: PutOptions;
}

/** The Put a put command (or a txn line "put …") asks for; the value may come from standard input. */
export async function putOp(flags: ParsedFlags, args: string[], stdin: NodeJS.ReadableStream | undefined): Promise<PutOp> {
  const needs = 'put command needs 1 argument and input from stdin or 2 arguments';
  if (args.length === 0) throw new CtlError(ExitCode.badArgs, needs);
  const key = args[0]!;
  const ignoreValue = flags.bool('ignore-value');
  if (ignoreValue && args.length > 1) throw new CtlError(ExitCode.badArgs, "put command needs only 1 argument when 'ignore-value' is set");
  let value: string | Uint8Array = '';
  if (!ignoreValue) {
    if (args.length > 1) value = args[1]!;
    else {
      const input = stdin ? await readAll(stdin) : Buffer.alloc(0);
      if (input.length === 0) throw new CtlError(ExitCode.badArgs, needs);
      value = new Uint8Array(input);
    }
  }
  let lease: bigint;
  try {
    lease = parseGoInt(flags.string('lease'), 16);
  } catch (error) {
    throw new CtlError(ExitCode.badArgs, `bad lease ID (${(error as Error).message}), expecting ID in Hex`);
  }
  const options: PutOptions = {};
  if (lease !== 0n) options.lease = lease;
  if (flags.bool('prev-kv')) options.prevKv = true;
  if (ignoreValue) options.ignoreValue = true;
  if (flags.bool('ignore-lease')) options.ignoreLease = true;
  return { key, value, options };
}

export async function put(context: Context): Promise<number> {
  const { key, value, options } = await putOp(context.flags, context.args, context.stdin);
  const response = await request(context, context.client().kv.put(key, value, options));
  (await context.printer()).put(response);
  return ExitCode.success;
}

export interface DelOp {
  key: string;
  options: DeleteOptions;
}

export function delOp(flags: ParsedFlags, args: string[]): DelOp {
  if (args.length === 0 || args.length > 2) throw new CtlError(ExitCode.badArgs, 'del command needs one argument as key and an optional argument as range_end');
  const prefix = flags.bool('prefix');
  const fromKey = flags.bool('from-key');
  if (prefix && fromKey) throw new CtlError(ExitCode.badArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  const options: DeleteOptions = {};
  if (args.length > 1) {
    if (prefix || fromKey) throw new CtlError(ExitCode.badArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
    options.rangeEnd = args[1]!;
  }
  if (prefix) options.prefix = true;
  if (fromKey) options.fromKey = true;
  if (flags.bool('prev-kv')) options.prevKv = true;
  return { key: args[0]!, options };
}

export async function del(context: Context): Promise<number> {
  const { key, options } = delOp(context.flags, context.args);
  const response = await request(context, context.client().kv.delete(key, options));
  (await context.printer()).del(response);
  return ExitCode.success;
}

export async function compaction(context: Context): Promise<number> {
  if (context.args.length !== 1) throw new CtlError(ExitCode.badArgs, 'compaction command needs 1 argument');
  let revision: bigint;
  try {
    revision = parseGoInt(context.args[0]!, 10);
  } catch (error) {
    throw new CtlError(ExitCode.error, (error as Error).message);
  }
  const physical = context.flags.bool('physical');
  await request(context, context.client().kv.compact(Number(revision), { physical }));
  context.sink.out(`compacted revision ${revision}\n`);
  return ExitCode.success;
}
