// txn: reads a transaction from standard input in etcdctl's syntax, three sections each ended by an empty line:
//
//   mod("key1") > "0"          compares: <target>("<key>") <op> "<value>", target ver|version|c|create|m|mod|
//   val("key2") = "x"                    val|value|lease, op = != < >
//                              (empty line)
//   put key1 "new value"       success requests: get, put, del with their own flags
//                              (empty line)
//   get key2 --prefix          failure requests
//                              (empty line)
//
// With -i the sections are announced with prompts. Parsing follows what etcdctl accepts (a Go-style scan: the key and
// value are Go string literals, op separated by spaces), and its error texts.
import type { Compare, RequestOp, TxnRequest } from '../../actors/api/types.js';
import { ExitCode } from '../limits.js';
import { cmp as compare, op, type CompareOperator } from '../txn.js';
import { CtlError, type Context } from './context.js';
import { delOp, getOp, putOp } from './cmd-kv.js';
import { argify, readLines, request } from './cmd-util.js';
import { delFlags, getFlags, putFlags } from './commands.js';
import { FlagError, HelpRequested, parseFlags } from './flags.js';
import { goQuote, goUnquotePrefix, GoParseError, parseGoInt } from './go.js';

const spaces = /^[ \t\r]*/;

/** Go's fmt.Sscanf(text, "%q) %s %q", &key, &op, &val), returning what it managed to scan. */
function scanCompare(text: string): { n: number; key: string; op: string; value: string } {
  const out = { n: 0, key: '', op: '', value: '' };
  let rest = text.replace(spaces, '');
  const key = goUnquotePrefix(rest);
  if (!key) return out;
  out.key = Buffer.from(key[0]).toString('utf8');
  out.n = 1;
  rest = rest.slice(key[1]);
  if (!rest.startsWith(')')) return out;
  rest = rest.slice(1);
  // a space in the format needs one or more spaces in the input
  const gap = /^[ \t\r]+/.exec(rest);
  if (!gap) return out;
  rest = rest.slice(gap[0].length);
  const word = /^[^ \t\r\n]+/.exec(rest);
  if (!word) return out;
  out.op = word[0];
  out.n = 2;
  rest = rest.slice(word[0].length);
  const gap2 = /^[ \t\r]+/.exec(rest);
  if (!gap2) return out;
  rest = rest.slice(gap2[0].length);
  const value = goUnquotePrefix(rest);
  if (!value) return out;
  out.value = Buffer.from(value[0]).toString('utf8');
  out.n = 3;
  return out;
}

export function parseCompare(line: string): Compare {
  const paren = line.indexOf('(');
  if (paren < 0) throw new CtlError(ExitCode.invalidInput, `malformed comparison: ${line}`);
  const target = line.slice(0, paren);
  const scanned = scanCompare(line.slice(paren + 1));
  if (scanned.n !== 3) {
    throw new CtlError(ExitCode.invalidInput, `malformed comparison: ${line}; got ${target}(${goQuote(scanned.key)}) ${scanned.op} ${goQuote(scanned.value)}`);
  }
  const { key, op: operator, value } = scanned;
  if (!['=', '!=', '<', '>'].includes(operator)) throw new CtlError(ExitCode.invalidInput, `invalid txn compare request: ${line}`);
  const o = operator as CompareOperator;
  const number = (base: number): bigint => {
    try {
      return parseGoInt(value, base);
    } catch (error) {
      if (error instanceof GoParseError) throw new CtlError(ExitCode.invalidInput, `invalid txn compare request: ${line}`);
      throw error;
    }
  };
  switch (target) {
    case 'ver':
    case 'version':
      return compare.version(key, o, Number(number(10)));
    case 'c':
    case 'create':
      return compare.createRevision(key, o, Number(number(10)));
    case 'm':
    case 'mod':
      return compare.modRevision(key, o, Number(number(10)));
    case 'val':
    case 'value':
      return compare.value(key, o, value);
    case 'lease':
      // etcdctl 3.4 crashes on lease compares; like 3.5, the value is the lease ID in hex
      return compare.lease(key, o, number(16));
    default:
      throw new CtlError(ExitCode.invalidInput, `malformed comparison: ${line} (unknown target ${target})`);
  }
}

export async function parseRequest(line: string): Promise<RequestOp> {
  const args = argify(line);
  if (args.length < 2) throw new CtlError(ExitCode.invalidInput, `invalid txn compare request: ${line}`);
  const invalid = new CtlError(ExitCode.invalidInput, `invalid txn request: ${line}`);
  const [name, ...rest] = args;
  const specs = name === 'get' ? getFlags : name === 'put' ? putFlags : name === 'del' ? delFlags : undefined;
  if (!specs) throw invalid;
  let flags;
  try {
    flags = parseFlags(rest, specs);
  } catch (error) {
    if (error instanceof FlagError || error instanceof HelpRequested) throw invalid;
    throw error;
  }
  switch (name) {
    case 'get': {
      const g = getOp(flags, flags.args);
      return op.get(g.key, g.options);
    }
    case 'put': {
      const p = await putOp(flags, flags.args, undefined);
      return op.put(p.key, p.value, p.options);
    }
    default: {
      const d = delOp(flags, flags.args);
      return op.delete(d.key, d.options);
    }
  }
}

export default async function txn(context: Context): Promise<number> {
  if (context.args.length !== 0) throw new CtlError(ExitCode.badArgs, 'txn command does not accept argument');
  const interactive = context.flags.bool('interactive');
  const lines = readLines(context.stdin);
  const prompt = (text: string) => {
    if (interactive) context.sink.out(text + '\n');
  };
  /** The next line, trimmed; EOF before a newline is etcdctl's "EOF" error. */
  const next = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done || value.partial) throw new CtlError(ExitCode.invalidInput, 'EOF');
    return value.line.trim();
  };
  const request_: TxnRequest = { compare: [], success: [], failure: [] };
  prompt('compares:');
  for (let line = await next(); line !== ''; line = await next()) request_.compare.push(parseCompare(line));
  prompt('success requests (get, put, del):');
  for (let line = await next(); line !== ''; line = await next()) request_.success.push(await parseRequest(line));
  prompt('failure requests (get, put, del):');
  for (let line = await next(); line !== ''; line = await next()) request_.failure.push(await parseRequest(line));
  const response = await request(context, context.client().kv.commit(request_));
  (await context.printer()).txn(response);
  return ExitCode.success;
}
