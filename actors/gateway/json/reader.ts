// A JSON reader that accepts and refuses exactly what etcd's gateway (Go's encoding/json) accepts and refuses, with
// Go's error messages word for word, because clients see those messages in the body of a 400.
//
// It reads bytes, not a JS string: string values stay as spans of the request body until a decoder asks for them, so
// a put's base64 key and value are decoded straight from the body without an intermediate string. Numbers keep their
// literal text, because etcd refuses `5.0` for an int64 and accepts lease IDs past 2^53.
//
// Two modes, as in Go: `decoder` reads the first value of a stream and ignores what follows it (json.Decoder; running
// out of input inside a value is "unexpected EOF"); `unmarshal` wants exactly one value and nothing but whitespace
// after it (json.Unmarshal; running out is "unexpected end of JSON input", except where Go's scanner would refuse a
// space at that point and names that instead).
import { gatewayLimits } from '../limits.js';
import { goQuoteRune, utf8SequenceLength } from './gotext.js';

export interface JsonObject {
  readonly kind: 'object';
  /** Keys after unescaping; a repeated key keeps its last value, as Go's map does. */
  readonly fields: Map<string, JsonNode>;
}
export interface JsonArray {
  readonly kind: 'array';
  readonly items: JsonNode[];
}
/** A string as its raw span between the quotes; `plain` when the span needs no unescaping or UTF-8 repair. */
export interface JsonString {
  readonly kind: 'string';
  readonly src: Uint8Array;
  readonly start: number;
  readonly end: number;
  readonly plain: boolean;
}
export interface JsonNumber {
  readonly kind: 'number';
  /** The literal as written, e.g. "5", "-0", "1e3". */
  readonly text: string;
}
export interface JsonLiteral {
  readonly kind: 'true' | 'false' | 'null';
}
export type JsonNode = JsonObject | JsonArray | JsonString | JsonNumber | JsonLiteral;

const TRUE: JsonLiteral = { kind: 'true' };
const FALSE: JsonLiteral = { kind: 'false' };
const NULL: JsonLiteral = { kind: 'null' };

/** A document that is not JSON; the message is Go's. */
export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

/** The input ended inside a value (a stream reader waits for more bytes; a whole body reports Go's message). */
export class JsonEndOfInputError extends Error {
  override name = 'JsonEndOfInputError';
  constructor(readonly mode: ReadMode) {
    super(mode === 'decoder' ? 'unexpected EOF' : 'unexpected end of JSON input');
  }
}

export type ReadMode = 'decoder' | 'unmarshal';

/** Go's quoteChar: how the scanner names an offending byte (read as a Latin-1 rune). */
export function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  return `'${goQuoteRune(c, -1)}'`;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

const latin1 = new TextDecoder('latin1');

class Reader {
  pos: number;
  constructor(
    readonly src: Uint8Array,
    start: number,
    readonly end: number,
    readonly mode: ReadMode,
  ) {
    this.pos = start;
  }

  fail(c: number, context: string): never {
    throw new JsonSyntaxError(`invalid character ${quoteChar(c)} ${context}`);
  }

  /**
   * The input ran out. `spaceContext` names what Go's scanner would say if fed the space it feeds itself at the end
   * of json.Unmarshal input; undefined where a space is acceptable there.
   */
  ended(spaceContext?: string): never {
    if (this.mode === 'unmarshal' && spaceContext !== undefined) this.fail(0x20, spaceContext);
    throw new JsonEndOfInputError(this.mode);
  }

  skipSpace(): number {
    const src = this.src;
    let p = this.pos;
    while (p < this.end && isSpace(src[p]!)) p++;
    this.pos = p;
    return p < this.end ? src[p]! : -1;
  }

  value(depth: number): JsonNode {
    const c = this.skipSpace();
    if (c < 0) this.ended();
    switch (c) {
      case 0x7b: return this.object(depth + 1);
      case 0x5b: return this.array(depth + 1);
      case 0x22: return this.string();
      case 0x74: this.pos++; this.literal('rue', 'true'); return TRUE;
      case 0x66: this.pos++; this.literal('alse', 'false'); return FALSE;
      case 0x6e: this.pos++; this.literal('ull', 'null'); return NULL;
      default:
        if (c === 0x2d || isDigit(c)) return this.number();
        return this.fail(c, 'looking for beginning of value');
    }
  }

  checkDepth(depth: number): void {
    if (depth > gatewayLimits.jsonDepthMax) throw new JsonSyntaxError('exceeded max depth');
  }

  object(depth: number): JsonObject {
    this.checkDepth(depth);
    this.pos++; // {
    const fields = new Map<string, JsonNode>();
    let c = this.skipSpace();
    if (c < 0) this.ended();
    if (c === 0x7d) {
      this.pos++;
      return { kind: 'object', fields };
    }
    for (;;) {
      if (c !== 0x22) this.fail(c, 'looking for beginning of object key string');
      const key = keyOf(this.string());
      c = this.skipSpace();
      if (c < 0) this.ended();
      if (c !== 0x3a) this.fail(c, 'after object key');
      this.pos++;
      fields.set(key, this.value(depth));
      c = this.skipSpace();
      if (c < 0) this.ended();
      if (c === 0x2c) {
        this.pos++;
        c = this.skipSpace();
        if (c < 0) this.ended();
        continue;
      }
      if (c === 0x7d) {
        this.pos++;
        return { kind: 'object', fields };
      }
      this.fail(c, 'after object key:value pair');
    }
  }

  array(depth: number): JsonArray {
    this.checkDepth(depth);
    this.pos++; // [
    const items: JsonNode[] = [];
    let c = this.skipSpace();
    if (c < 0) this.ended();
    if (c === 0x5d) {
      this.pos++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value(depth));
      c = this.skipSpace();
      if (c < 0) this.ended();
      if (c === 0x2c) {
        this.pos++;
        continue;
      }
      if (c === 0x5d) {
        this.pos++;
        return { kind: 'array', items };
      }
      this.fail(c, 'after array element');
    }
  }

  string(): JsonString {
    const src = this.src;
    const end = this.end;
    const start = ++this.pos; // past the opening quote
    let p = start;
    let plain = true;
    for (;;) {
      if (p >= end) {
        this.pos = p;
        this.ended();
      }
      const c = src[p]!;
      if (c === 0x22) break;
      if (c < 0x20) {
        this.pos = p;
        this.fail(c, 'in string literal');
      }
      if (c >= 0x80) {
        plain = false;
        p++;
        continue;
      }
      if (c !== 0x5c) {
        p++;
        continue;
      }
      plain = false;
      p++;
      if (p >= end) {
        this.pos = p;
        this.ended('in string escape code');
      }
      const e = src[p]!;
      if (e === 0x75) {
        p++;
        for (let i = 0; i < 4; i++, p++) {
          if (p >= end) {
            this.pos = p;
            this.ended('in \\u hexadecimal character escape');
          }
          if (!isHex(src[p]!)) {
            this.pos = p;
            this.fail(src[p]!, 'in \\u hexadecimal character escape');
          }
        }
        continue;
      }
      if (e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74 || e === 0x5c || e === 0x2f || e === 0x22) {
        p++;
        continue;
      }
      this.pos = p;
      this.fail(e, 'in string escape code');
    }
    this.pos = p + 1;
    return { kind: 'string', src, start, end: p, plain };
  }

  number(): JsonNumber {
    const src = this.src;
    const end = this.end;
    const start = this.pos;
    let p = start;
    if (src[p] === 0x2d) {
      p++;
      if (p >= end) {
        this.pos = p;
        this.ended('in numeric literal');
      }
      if (!isDigit(src[p]!)) {
        this.pos = p;
        this.fail(src[p]!, 'in numeric literal');
      }
    }
    if (src[p] === 0x30) p++;
    else while (p < end && isDigit(src[p]!)) p++;
    if (p < end && src[p] === 0x2e) {
      p++;
      if (p >= end) {
        this.pos = p;
        this.ended('after decimal point in numeric literal');
      }
      if (!isDigit(src[p]!)) {
        this.pos = p;
        this.fail(src[p]!, 'after decimal point in numeric literal');
      }
      while (p < end && isDigit(src[p]!)) p++;
    }
    if (p < end && (src[p] === 0x65 || src[p] === 0x45)) {
      p++;
      if (p < end && (src[p] === 0x2b || src[p] === 0x2d)) p++;
      if (p >= end) {
        this.pos = p;
        this.ended('in exponent of numeric literal');
      }
      if (!isDigit(src[p]!)) {
        this.pos = p;
        this.fail(src[p]!, 'in exponent of numeric literal');
      }
      while (p < end && isDigit(src[p]!)) p++;
    }
    this.pos = p;
    return { kind: 'number', text: asciiText(src, start, p) };
  }

  literal(rest: string, word: string): void {
    for (let i = 0; i < rest.length; i++) {
      const expected = rest.charCodeAt(i);
      const context = `in literal ${word} (expecting '${rest[i]}')`;
      if (this.pos >= this.end) this.ended(context);
      const c = this.src[this.pos]!;
      if (c !== expected) this.fail(c, context);
      this.pos++;
    }
  }
}

/** Short ASCII text straight from bytes: cheaper than a decoder call for field names and numbers. */
function asciiText(src: Uint8Array, start: number, end: number): string {
  if (end - start > 32) return latin1.decode(src.subarray(start, end));
  let text = '';
  for (let i = start; i < end; i++) text += String.fromCharCode(src[i]!);
  return text;
}

function keyOf(s: JsonString): string {
  if (s.plain) return asciiText(s.src, s.start, s.end);
  return Buffer.from(unescapeBytes(s)).toString('utf8');
}

/** Result of reading the first value of a stream. */
export interface FirstValue {
  /** undefined when the input held only whitespace (Go's io.EOF: an empty request). */
  node: JsonNode | undefined;
  /** Offset just past the value (or the end of the whitespace). */
  next: number;
}

/**
 * Reads the first JSON value of src[start, end) the way json.Decoder does. Throws JsonSyntaxError for a malformed
 * value and JsonEndOfInputError when the input ends inside the value.
 */
export function readFirstValue(src: Uint8Array, start = 0, end = src.length): FirstValue {
  const reader = new Reader(src, start, end, 'decoder');
  if (reader.skipSpace() < 0) return { node: undefined, next: end };
  const node = guardDepth(() => reader.value(0));
  return { node, next: reader.pos };
}

/**
 * The reader recurses once per nesting level; a document nested deeper than the stack allows is refused the way Go
 * refuses one past its own bound, instead of letting the stack overflow escape into the server.
 */
export function guardDepth<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof RangeError) throw new JsonSyntaxError('exceeded max depth');
    throw error;
  }
}

/** Reads src[start, end) as exactly one JSON value, as json.Unmarshal does (its errors, its end-of-input rules). */
export function readWholeValue(src: Uint8Array, start = 0, end = src.length): JsonNode {
  const reader = new Reader(src, start, end, 'unmarshal');
  const node = guardDepth(() => reader.value(0));
  const c = reader.skipSpace();
  if (c >= 0) reader.fail(c, 'after top-level value');
  return node;
}

/** The bytes a Go string holds after json unquoting: escapes resolved, invalid UTF-8 replaced byte by byte. */
export function unescapeBytes(s: JsonString): Uint8Array {
  const { src, start, end } = s;
  if (s.plain) return src.subarray(start, end);
  const out = new Uint8Array((end - start) * 3);
  let w = 0;
  let r = start;
  const putRune = (rune: number) => {
    if (rune < 0x80) out[w++] = rune;
    else if (rune < 0x800) {
      out[w++] = 0xc0 | (rune >> 6);
      out[w++] = 0x80 | (rune & 0x3f);
    } else if (rune < 0x10000) {
      out[w++] = 0xe0 | (rune >> 12);
      out[w++] = 0x80 | ((rune >> 6) & 0x3f);
      out[w++] = 0x80 | (rune & 0x3f);
    } else {
      out[w++] = 0xf0 | (rune >> 18);
      out[w++] = 0x80 | ((rune >> 12) & 0x3f);
      out[w++] = 0x80 | ((rune >> 6) & 0x3f);
      out[w++] = 0x80 | (rune & 0x3f);
    }
  };
  const hex4 = (at: number): number => {
    if (at + 6 > end || src[at] !== 0x5c || src[at + 1] !== 0x75) return -1;
    let v = 0;
    for (let i = at + 2; i < at + 6; i++) {
      const c = src[i]!;
      if (!isHex(c)) return -1;
      v = v * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
    }
    return v;
  };
  while (r < end) {
    const c = src[r]!;
    if (c === 0x5c) {
      const e = src[r + 1]!;
      switch (e) {
        case 0x62: out[w++] = 0x08; r += 2; continue;
        case 0x66: out[w++] = 0x0c; r += 2; continue;
        case 0x6e: out[w++] = 0x0a; r += 2; continue;
        case 0x72: out[w++] = 0x0d; r += 2; continue;
        case 0x74: out[w++] = 0x09; r += 2; continue;
        case 0x75: {
          let rune = hex4(r);
          r += 6;
          if (rune >= 0xd800 && rune < 0xe000) {
            const low = hex4(r);
            if (rune < 0xdc00 && low >= 0xdc00 && low < 0xe000) {
              rune = 0x10000 + ((rune - 0xd800) << 10) + (low - 0xdc00);
              r += 6;
            } else rune = 0xfffd;
          }
          putRune(rune);
          continue;
        }
        default: out[w++] = e; r += 2; continue; // \\ \/ \"
      }
    }
    if (c < 0x80) {
      out[w++] = c;
      r++;
      continue;
    }
    const size = utf8SequenceLength(src, r, end);
    if (size === 0) {
      putRune(0xfffd);
      r++;
      continue;
    }
    for (let i = 0; i < size; i++) out[w++] = src[r + i]!;
    r += size;
  }
  return out.subarray(0, w);
}

/** The Go string (UTF-8 text) a JSON string holds. */
export function stringValue(s: JsonString): string {
  if (s.plain) return latin1.decode(s.src.subarray(s.start, s.end));
  return Buffer.from(unescapeBytes(s)).toString('utf8');
}

/** The raw text between the quotes, undecoded (what jsonpb looks up enum names by). */
export function rawText(s: JsonString): string {
  return Buffer.from(s.src.buffer, s.src.byteOffset + s.start, s.end - s.start).toString('latin1');
}

/**
 * Finds where the next top-level value of a stream ends, without validating it: counts brackets outside strings.
 * Returns the offset just past the value, -1 when more bytes are needed, or -2 when the value does not start with
 * `{` or `[` (the caller then lets the full reader decide, since a scalar has no closing bracket).
 */
export function scanValueEnd(src: Uint8Array, start: number, end: number): number {
  let p = start;
  while (p < end && isSpace(src[p]!)) p++;
  if (p >= end) return -1;
  const first = src[p]!;
  if (first !== 0x7b && first !== 0x5b) return -2;
  let depth = 0;
  let inString = false;
  for (; p < end; p++) {
    const c = src[p]!;
    if (inString) {
      if (c === 0x5c) p++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return p + 1;
    }
  }
  return -1;
}
