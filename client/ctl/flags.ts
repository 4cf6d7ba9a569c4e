// Command-line flags the way etcdctl's (cobra + pflag) takes them, so what people type from memory works:
// --name=value, --name value, bool --name and --name=false, shorthand -w json, -wjson and -w=json, flags anywhere
// among the arguments, and "--" ending the flags (what follows is positional; commands such as watch and lock see
// where it was). Error messages are pflag's, since scripts and people recognise them.
import { GoParseError, goQuote, parseGoBool, parseGoDuration, parseGoInt, parseGoUint } from './go.js';

export type FlagKind = 'bool' | 'string' | 'int' | 'uint' | 'duration' | 'stringSlice';

export type FlagValue = boolean | string | bigint | number | string[];

export interface FlagSpec {
  name: string;
  short?: string;
  kind: FlagKind;
  /** Default value: bool, string, bigint (int/uint), nanoseconds (duration), string[] (stringSlice). */
  default: FlagValue;
  help: string;
}

/** A flag error: pflag's wording; cobra reports these with the command's usage and exit code 1. */
export class FlagError extends Error {}

export class ParsedFlags {
  readonly changed = new Set<string>();
  /** Positional arguments, with "--" removed. */
  readonly args: string[] = [];
  /** How many positional arguments came before "--", or -1 when there was none (cobra's ArgsLenAtDash). */
  argsLenAtDash = -1;
  private readonly values = new Map<string, FlagValue>();

  constructor(readonly specs: readonly FlagSpec[]) {
    for (const s of specs) this.values.set(s.name, Array.isArray(s.default) ? [...s.default] : s.default);
  }

  set(name: string, value: FlagValue): void {
    this.values.set(name, value);
  }

  raw(name: string): FlagValue {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`flag --${name} is not defined`);
    return v;
  }

  bool(name: string): boolean {
    return this.raw(name) as boolean;
  }

  string(name: string): string {
    return this.raw(name) as string;
  }

  int(name: string): bigint {
    return this.raw(name) as bigint;
  }

  /** Nanoseconds. */
  duration(name: string): number {
    return this.raw(name) as number;
  }

  strings(name: string): string[] {
    return this.raw(name) as string[];
  }
}

/** How pflag names a flag in messages: "--rev", or "-w, --write-out" for one with a shorthand. */
function flagLabel(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.name}` : `--${spec.name}`;
}

function convert(spec: FlagSpec, text: string): FlagValue {
  try {
    switch (spec.kind) {
      case 'bool':
        return parseGoBool(text);
      case 'string':
        return text;
      case 'int':
        return parseGoInt(text, 0);
      case 'uint':
        return parseGoUint(text, 0);
      case 'duration':
        return parseGoDuration(text);
      case 'stringSlice':
        return text === '' ? [] : text.split(',');
    }
  } catch (error) {
    if (error instanceof GoParseError) throw new FlagError(`invalid argument ${goQuote(text)} for "${flagLabel(spec)}" flag: ${error.message}`);
    throw error;
  }
}

function assign(flags: ParsedFlags, spec: FlagSpec, text: string): void {
  const value = convert(spec, text);
  if (spec.kind === 'stringSlice' && flags.changed.has(spec.name)) {
    flags.set(spec.name, [...flags.strings(spec.name), ...(value as string[])]);
  } else {
    flags.set(spec.name, value);
  }
  flags.changed.add(spec.name);
}

/** Parses flags interspersed with positional arguments. */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const flags = new ParsedFlags(specs);
  const byName = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      flags.argsLenAtDash = flags.args.length;
      flags.args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const body = arg.slice(2);
      const eq = body.indexOf('=');
      const name = eq >= 0 ? body.slice(0, eq) : body;
      const spec = byName.get(name);
      if (!spec) {
        if (name === 'help') throw new HelpRequested();
        throw new FlagError(`unknown flag: --${name}`);
      }
      if (eq >= 0) assign(flags, spec, body.slice(eq + 1));
      else if (spec.kind === 'bool') assign(flags, spec, 'true');
      else if (i + 1 < argv.length) assign(flags, spec, argv[++i]!);
      else throw new FlagError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // one or more shorthands: -w json, -wjson, -w=json, -il
      let rest = arg.slice(1);
      while (rest.length > 0) {
        const c = rest[0]!;
        const spec = byShort.get(c);
        if (!spec) {
          if (c === 'h') throw new HelpRequested();
          throw new FlagError(`unknown shorthand flag: '${c}' in -${arg.slice(1)}`);
        }
        rest = rest.slice(1);
        if (rest.startsWith('=')) {
          assign(flags, spec, rest.slice(1));
          rest = '';
        } else if (spec.kind === 'bool') {
          assign(flags, spec, 'true');
        } else if (rest.length > 0) {
          assign(flags, spec, rest);
          rest = '';
        } else if (i + 1 < argv.length) {
          assign(flags, spec, argv[++i]!);
        } else {
          throw new FlagError(`flag needs an argument: '${c}' in -${c}`);
        }
      }
      continue;
    }
    flags.args.push(arg);
  }
  return flags;
}

/** -h / --help anywhere: print the command's help and exit 0, as cobra does. */
export class HelpRequested extends Error {}
