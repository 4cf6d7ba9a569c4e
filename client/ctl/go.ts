// Go's formatting and parsing, as far as etcdctl's output and error messages show them: strconv.Quote (%q),
// encoding/json string escaping, strconv.ParseInt/ParseUint/ParseBool with their error texts, time.ParseDuration
// and Duration.String, and go-humanize's byte sizes ("25 kB"). Written from the documented behaviour of those
// functions and checked against etcdctl's output by the differential tests.

// ---- UTF-8 as Go decodes it ----

/** Decodes one rune at `i`: [rune, width]; an invalid sequence is [-1, 1] (Go's RuneError with width 1). */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const n = b.length - i;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => k < n && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    if (cont(1)) return [((c0 & 0x1f) << 6) | (b[i + 1]! & 0x3f), 2];
    return [-1, 1];
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    if (cont(1, lo, hi) && cont(2)) return [((c0 & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f), 3];
    return [-1, 1];
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80;
    const hi = c0 === 0xf4 ? 0x8f : 0xbf;
    if (cont(1, lo, hi) && cont(2) && cont(3)) {
      return [((c0 & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f), 4];
    }
    return [-1, 1];
  }
  return [-1, 1];
}

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
function isPrint(rune: number): boolean {
  if (rune === 0x20) return true;
  if (rune < 0x20 || rune === 0x7f) return false;
  if (rune < 0x7f) return true;
  return printable.test(String.fromCodePoint(rune));
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** strconv.Quote of a byte string: what etcdctl's %q prints for keys and values. */
export function goQuote(input: Uint8Array | string): string {
  const b = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const [rune, width] = decodeRune(b, i);
    if (rune < 0) {
      out += '\\x' + hex2(b[i]!);
      i += 1;
      continue;
    }
    i += width;
    if (rune === 0x22) out += '\\"';
    else if (rune === 0x5c) out += '\\\\';
    else if (isPrint(rune)) out += String.fromCodePoint(rune);
    else if (rune === 0x07) out += '\\a';
    else if (rune === 0x08) out += '\\b';
    else if (rune === 0x0c) out += '\\f';
    else if (rune === 0x0a) out += '\\n';
    else if (rune === 0x0d) out += '\\r';
    else if (rune === 0x09) out += '\\t';
    else if (rune === 0x0b) out += '\\v';
    else if (rune < 0x20 || rune === 0x7f) out += '\\x' + hex2(rune);
    else if (rune < 0x10000) out += '\\u' + rune.toString(16).padStart(4, '0');
    else out += '\\U' + rune.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** A Go double-quoted or back-quoted string literal at the start of `text`: [value bytes, length consumed]. */
export function goUnquotePrefix(text: string): [Uint8Array, number] | undefined {
  if (text.startsWith('`')) {
    const end = text.indexOf('`', 1);
    if (end < 0) return undefined;
    return [new TextEncoder().encode(text.slice(1, end).replace(/\r/g, '')), end + 1];
  }
  if (!text.startsWith('"')) return undefined;
  const out: number[] = [];
  const push = (s: string) => out.push(...new TextEncoder().encode(s));
  for (let i = 1; i < text.length; ) {
    const c = text[i]!;
    if (c === '"') return [Uint8Array.from(out), i + 1];
    if (c === '\n') return undefined;
    if (c !== '\\') {
      const cp = text.codePointAt(i)!;
      push(String.fromCodePoint(cp));
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = text[i + 1];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34 };
    if (e !== undefined && e in simple) {
      out.push(simple[e]!);
      i += 2;
      continue;
    }
    if (e === 'x') {
      const h = text.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      out.push(parseInt(h, 16));
      i += 4;
      continue;
    }
    if (e === 'u' || e === 'U') {
      const len = e === 'u' ? 4 : 8;
      const h = text.slice(i + 2, i + 2 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) return undefined;
      const cp = parseInt(h, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) return undefined;
      push(String.fromCodePoint(cp));
      i += 2 + len;
      continue;
    }
    if (e !== undefined && /[0-7]/.test(e)) {
      const o = text.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(o) || parseInt(o, 8) > 255) return undefined;
      out.push(parseInt(o, 8));
      i += 4;
      continue;
    }
    return undefined;
  }
  return undefined;
}

// ---- encoding/json ----

/** A string as Go's encoding/json writes it (HTML-safe escaping, \u2028 and \u2029 escaped). */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
      } else out += '\\ufffd';
    } else out += s[i]!;
  }
  return out + '"';
}

// ---- strconv ----

export class GoParseError extends Error {}

const syntax = (fn: string, s: string) => new GoParseError(`strconv.${fn}: parsing ${goQuote(s)}: invalid syntax`);
const range = (fn: string, s: string) => new GoParseError(`strconv.${fn}: parsing ${goQuote(s)}: value out of range`);

function parseDigits(fn: string, original: string, s: string, base: number): bigint {
  let b = base;
  let text = s;
  let underscores = false;
  if (b === 0) {
    b = 10;
    if (text.startsWith('0')) {
      const p = text[1]?.toLowerCase();
      if (p === 'x' && text.length > 2) {
        b = 16;
        text = text.slice(2);
      } else if (p === 'o' && text.length > 2) {
        b = 8;
        text = text.slice(2);
      } else if (p === 'b' && text.length > 2) {
        b = 2;
        text = text.slice(2);
      } else {
        b = 8;
        text = text.slice(1);
        if (text === '') return 0n;
      }
    }
    underscores = true;
  }
  if (text === '') throw syntax(fn, original);
  if (underscores && text.includes('_')) {
    if (!/^_?[^_]+(_[^_]+)*$/.test(text) || (text.startsWith('_') && s[0] !== '0')) throw syntax(fn, original);
    text = text.replace(/_/g, '');
  }
  let value = 0n;
  for (const ch of text) {
    const d = parseInt(ch, 36);
    if (Number.isNaN(d) || d >= b) throw syntax(fn, original);
    value = value * BigInt(b) + BigInt(d);
  }
  return value;
}

/** strconv.ParseInt(s, base, 64). */
export function parseGoInt(s: string, base: number): bigint {
  if (s === '') throw syntax('ParseInt', s);
  const negative = s[0] === '-';
  const body = s[0] === '-' || s[0] === '+' ? s.slice(1) : s;
  const magnitude = parseDigits('ParseInt', s, body, base);
  const value = negative ? -magnitude : magnitude;
  if (value > 0x7fffffffffffffffn || value < -0x8000000000000000n) throw range('ParseInt', s);
  return value;
}

/** strconv.ParseUint(s, base, 64). */
export function parseGoUint(s: string, base: number): bigint {
  if (s === '' || s[0] === '-' || s[0] === '+') throw syntax('ParseUint', s);
  const value = parseDigits('ParseUint', s, s, base);
  if (value > 0xffffffffffffffffn) throw range('ParseUint', s);
  return value;
}

/** strconv.ParseBool. */
export function parseGoBool(s: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw syntax('ParseBool', s);
}

// ---- time ----

const unitNs: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration, in nanoseconds (as a float: etcdctl's durations are far below 2^53 ns). */
export function parseGoDuration(s: string): number {
  const original = s;
  const invalid = () => new GoParseError(`time: invalid duration ${goQuote(original)}`);
  let text = s;
  let negative = false;
  if (text[0] === '-' || text[0] === '+') {
    negative = text[0] === '-';
    text = text.slice(1);
  }
  if (text === '0') return 0;
  if (text === '') throw invalid();
  let total = 0;
  while (text !== '') {
    const m = /^(\d*)(\.(\d*))?/.exec(text)!;
    if (m[1] === '' && (m[3] ?? '') === '') throw invalid();
    const number = Number(`${m[1] || '0'}.${m[3] ?? ''}0`);
    text = text.slice(m[0].length);
    const unit = /^[^\d.]*/.exec(text)![0];
    if (unit === '') throw new GoParseError(`time: missing unit in duration ${goQuote(original)}`);
    const scale = unitNs[unit];
    if (scale === undefined) throw new GoParseError(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(original)}`);
    total += number * scale;
    text = text.slice(unit.length);
  }
  return negative ? -total : total;
}

/** time.Duration.String for a whole number of nanoseconds. */
export function formatGoDuration(nanoseconds: number): string {
  let ns = Math.round(Math.abs(nanoseconds));
  const sign = nanoseconds < 0 ? '-' : '';
  if (ns === 0) return '0s';
  const fraction = (value: number, digits: number) => {
    // value has `digits` fractional decimal digits; trailing zeros (and a bare point) are dropped
    const whole = Math.floor(value / 10 ** digits);
    let frac = String(value % 10 ** digits).padStart(digits, '0').replace(/0+$/, '');
    return frac === '' ? String(whole) : `${whole}.${frac}`;
  };
  if (ns < 1e3) return `${sign}${ns}ns`;
  if (ns < 1e6) return `${sign}${fraction(ns, 3)}µs`;
  if (ns < 1e9) return `${sign}${fraction(ns, 6)}ms`;
  const hours = Math.floor(ns / 3600e9);
  ns -= hours * 3600e9;
  const minutes = Math.floor(ns / 60e9);
  ns -= minutes * 60e9;
  const seconds = fraction(ns, 9) + 's';
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return sign + seconds;
}

// ---- go-humanize ----

const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/** Round half to even, as Go's %.0f does for a value exactly halfway. */
function formatZeroDecimals(value: number): string {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff === 0.5) return String(floor % 2 === 0 ? floor : floor + 1);
  return value.toFixed(0);
}

/** humanize.Bytes: SI units, one decimal below 10. */
export function humanizeBytes(bytes: number): string {
  if (bytes < 10) return `${bytes} B`;
  const e = Math.floor(Math.log(bytes) / Math.log(1000));
  const suffix = sizes[e]!;
  const value = Math.floor((bytes / Math.pow(1000, e)) * 10 + 0.5) / 10;
  return value < 10 ? `${value.toFixed(1)} ${suffix}` : `${formatZeroDecimals(value)} ${suffix}`;
}

// ---- integers ----

/** %x of an unsigned 64-bit hex ID given as 16 hex digits (leading zeros dropped). */
export function hexNoPad(hexId: string): string {
  return hexId.replace(/^0+(?=.)/, '');
}

/** %16x: space-padded to 16 characters. */
export function hexSpacePad(hexId: string): string {
  return hexNoPad(hexId).padStart(16, ' ');
}

/** A 16-hex ID as Go prints the uint64 in decimal (%d or JSON). */
export function hexIdToUint(hexId: string): string {
  return BigInt('0x' + hexId).toString(10);
}
