// Text the way Go prints it, where etcd's bytes depend on it: strconv.Quote (inside error messages) and
// encoding/json's string escaping (every string etcd's gateway writes, HTML-safe: <, > and & become \u003c, \u003e
// and \u0026; U+2028 and U+2029 are escaped; control characters other than \n, \r and \t become \u00XX, since the
// Go release etcd 3.4 was built with had no short forms for \b and \f).

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function goIsPrint(codePoint: number): boolean {
  if (codePoint < 0x7f) return codePoint >= 0x20;
  return printable.test(String.fromCodePoint(codePoint));
}

const shortEscapes: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 0x5c: '\\\\' };

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

/** strconv.Quote's escaping of one rune, without the surrounding quotes; `quote` is the quote character to escape. */
export function goQuoteRune(codePoint: number, quote: number): string {
  if (codePoint === quote) return '\\' + String.fromCharCode(quote);
  const short = shortEscapes[codePoint];
  if (short !== undefined) return short;
  if (goIsPrint(codePoint)) return String.fromCodePoint(codePoint);
  if (codePoint < 0x20 || codePoint === 0x7f) return '\\x' + hex(codePoint, 2);
  if (codePoint < 0x10000) return '\\u' + hex(codePoint, 4);
  return '\\U' + hex(codePoint, 8);
}

/** strconv.Quote of a byte string (given as Latin-1 text); bytes that are not UTF-8 print as \xHH. */
export function goQuote(raw: string): string {
  const bytes = Buffer.from(raw, 'latin1');
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c < 0x80) {
      out += goQuoteRune(c, 0x22);
      i++;
      continue;
    }
    const size = utf8SequenceLength(bytes, i);
    if (size === 0) {
      out += '\\x' + hex(c, 2);
      i++;
      continue;
    }
    const codePoint = bytes.subarray(i, i + size).toString('utf8').codePointAt(0)!;
    out += goQuoteRune(codePoint, 0x22);
    i += size;
  }
  return out + '"';
}

/** Length of the valid UTF-8 sequence starting at bytes[i] (>= 0x80), or 0 when it is not valid (Go's DecodeRune). */
export function utf8SequenceLength(bytes: Uint8Array, i: number, end = bytes.length): number {
  const c = bytes[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < end && bytes[i + k]! >= lo && bytes[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

const plainJson = /^[\x20-\x7e]*$/;
const needsEscape = /["\\<>&]/;

/** A JSON string literal exactly as Go's encoding/json writes it. */
export function goJsonString(s: string): string {
  if (plainJson.test(s) && !needsEscape.test(s)) return '"' + s + '"';
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) {
      out += s[i];
      continue;
    }
    switch (c) {
      case 0x22: out += '\\"'; continue;
      case 0x5c: out += '\\\\'; continue;
      case 0x0a: out += '\\n'; continue;
      case 0x0d: out += '\\r'; continue;
      case 0x09: out += '\\t'; continue;
    }
    if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
      out += '\\u00' + hex(c, 2);
      continue;
    }
    if (c === 0x2028 || c === 0x2029) {
      out += '\\u' + hex(c, 4);
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00) {
      const low = s.charCodeAt(i + 1);
      if (low >= 0xdc00 && low < 0xe000) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      out += '\\ufffd';
      continue;
    }
    if (c >= 0xdc00 && c < 0xe000) {
      out += '\\ufffd';
      continue;
    }
    out += s[i];
  }
  return out + '"';
}
