// The Go formatting and parsing tetcdctl reproduces, byte by byte and with random input: %q quoting, encoding/json
// strings, durations, integers, human-readable sizes; the table layout and its line wrapping; the flag parser; the
// txn line syntax; the bbolt snapshot reader's checksum; the mask the differential tests compare outputs through.
import test from 'ava';
import fc from 'fast-check';
import { argify } from '../../client/ctl/cmd-util.js';
import { parseCompare } from '../../client/ctl/cmd-txn.js';
import { CtlError } from '../../client/ctl/context.js';
import { mask } from './helpers/diff.js';
import { FlagError, parseFlags, type FlagSpec } from '../../client/ctl/flags.js';
import {
  formatGoDuration,
  goJsonString,
  goQuote,
  goUnquotePrefix,
  humanizeBytes,
  parseGoBool,
  parseGoDuration,
  parseGoInt,
  parseGoUint,
} from '../../client/ctl/go.js';
import { renderTable, wrapWords } from '../../client/ctl/print-table.js';
import { crc32c } from '../../client/ctl/bolt.js';

test('goQuote: Go\'s strconv.Quote for bytes, including invalid UTF-8 and non-printable runes', (t) => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  t.is(goQuote('foo'), '"foo"');
  t.is(goQuote(''), '""');
  t.is(goQuote('a"b\\c'), '"a\\"b\\\\c"');
  t.is(goQuote('\x07\b\f\n\r\t\v'), '"\\a\\b\\f\\n\\r\\t\\v"');
  t.is(goQuote(bytes(0x00, 0x01, 0x1f, 0x7f)), '"\\x00\\x01\\x1f\\x7f"');
  t.is(goQuote(bytes(0xff, 0xfe)), '"\\xff\\xfe"');
  t.is(goQuote('€ é 日本'), '"€ é 日本"');
  t.is(goQuote('\u00a0'), '"\\u00a0"', 'a non-breaking space is not printable to Go');
  t.is(goQuote('\u200b'), '"\\u200b"');
  t.is(goQuote(bytes(0xed, 0xa0, 0x80)), '"\\xed\\xa0\\x80"', 'an encoded surrogate is invalid UTF-8');
  t.is(goQuote(bytes(0xc0, 0x80)), '"\\xc0\\x80"', 'an overlong encoding is invalid');
  t.is(goQuote(bytes(0xe2, 0x82)), '"\\xe2\\x82"', 'a truncated sequence is invalid');
  t.is(goQuote('\u{1f600}'), '"\u{1f600}"');
  t.is(goQuote('\u{e0001}'), '"\\U000e0001"');
});

test('goQuote and goUnquotePrefix round-trip any bytes', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      const quoted = goQuote(b);
      const back = goUnquotePrefix(quoted);
      return back !== undefined && back[1] === quoted.length && Buffer.from(back[0]).equals(Buffer.from(b));
    }),
  );
  t.deepEqual(goUnquotePrefix('`raw\\n`rest')?.[1], 7);
  t.is(goUnquotePrefix('"unterminated'), undefined);
  t.is(goUnquotePrefix('"bad \\q escape"'), undefined);
});

test('goJsonString: encoding/json escaping (HTML-safe, line separators)', (t) => {
  t.is(goJsonString('a<b>&c'), '"a\\u003cb\\u003e\\u0026c"');
  t.is(goJsonString('\n\r\t\b\f'), '"\\n\\r\\t\\u0008\\u000c"');
  t.is(goJsonString('\u2028\u2029'), '"\\u2028\\u2029"');
  t.is(goJsonString('"\\'), '"\\"\\\\"');
  t.is(goJsonString('日本\u{1f600}'), '"日本\u{1f600}"');
  fc.assert(fc.property(fc.string(), (s) => JSON.parse(goJsonString(s)) === s));
});

test('durations: time.ParseDuration and Duration.String', (t) => {
  t.is(parseGoDuration('5s'), 5e9);
  t.is(parseGoDuration('500ms'), 5e8);
  t.is(parseGoDuration('1m30s'), 90e9);
  t.is(parseGoDuration('1.5h'), 1.5 * 3600e9);
  t.is(parseGoDuration('2us'), 2e3);
  t.is(parseGoDuration('2µs'), 2e3);
  t.is(parseGoDuration('0'), 0);
  t.is(parseGoDuration('-1s'), -1e9);
  t.throws(() => parseGoDuration('abc'), { message: 'time: invalid duration "abc"' });
  t.throws(() => parseGoDuration('5'), { message: 'time: missing unit in duration "5"' });
  t.throws(() => parseGoDuration('5x'), { message: 'time: unknown unit "x" in duration "5x"' });
  t.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
  t.is(formatGoDuration(0), '0s');
  t.is(formatGoDuration(999), '999ns');
  t.is(formatGoDuration(1_500), '1.5µs');
  t.is(formatGoDuration(3_435_882), '3.435882ms');
  t.is(formatGoDuration(2_000_000), '2ms');
  t.is(formatGoDuration(1_500_000_000), '1.5s');
  t.is(formatGoDuration(61e9), '1m1s');
  t.is(formatGoDuration(3600e9), '1h0m0s');
  t.is(formatGoDuration(3723.5e9), '1h2m3.5s');
});

test('integers and booleans: strconv\'s syntax and its error messages', (t) => {
  t.is(parseGoInt('42', 10), 42n);
  t.is(parseGoInt('-42', 10), -42n);
  t.is(parseGoInt('+7', 10), 7n);
  t.is(parseGoInt('390da20d841cea4c', 16), 0x390da20d841cea4cn);
  t.is(parseGoInt('0x10', 0), 16n);
  t.is(parseGoInt('010', 0), 8n);
  t.is(parseGoInt('0b11', 0), 3n);
  t.is(parseGoInt('1_000', 0), 1000n);
  t.is(parseGoInt('0', 0), 0n);
  t.throws(() => parseGoInt('x', 10), { message: 'strconv.ParseInt: parsing "x": invalid syntax' });
  t.throws(() => parseGoInt('', 10), { message: 'strconv.ParseInt: parsing "": invalid syntax' });
  t.throws(() => parseGoInt('9223372036854775808', 10), { message: 'strconv.ParseInt: parsing "9223372036854775808": value out of range' });
  t.throws(() => parseGoInt('1_000', 10), { message: /invalid syntax/ });
  t.is(parseGoUint('ffffffffffffffff', 16), 0xffffffffffffffffn);
  t.throws(() => parseGoUint('-1', 16), { message: 'strconv.ParseUint: parsing "-1": invalid syntax' });
  t.throws(() => parseGoUint('zz', 16), { message: 'strconv.ParseUint: parsing "zz": invalid syntax' });
  for (const v of ['1', 't', 'T', 'true', 'TRUE', 'True']) t.true(parseGoBool(v));
  for (const v of ['0', 'f', 'F', 'false', 'FALSE', 'False']) t.false(parseGoBool(v));
  t.throws(() => parseGoBool('maybe'), { message: 'strconv.ParseBool: parsing "maybe": invalid syntax' });
  fc.assert(fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => parseGoInt(n.toString(), 10) === n && parseGoInt((n < 0n ? '-' : '') + (n < 0n ? -n : n).toString(16), 16) === n));
});

test('humanizeBytes: go-humanize\'s SI sizes, half to even at exact halves', (t) => {
  t.is(humanizeBytes(0), '0 B');
  t.is(humanizeBytes(9), '9 B');
  t.is(humanizeBytes(10), '10 B');
  t.is(humanizeBytes(999), '999 B');
  t.is(humanizeBytes(1000), '1.0 kB');
  t.is(humanizeBytes(9_949), '9.9 kB');
  t.is(humanizeBytes(20_480), '20 kB');
  t.is(humanizeBytes(24_576), '25 kB');
  t.is(humanizeBytes(24_500), '24 kB');
  t.is(humanizeBytes(25_500), '26 kB');
  t.is(humanizeBytes(135_168), '135 kB');
  t.is(humanizeBytes(2_147_483_648), '2.1 GB');
});

test('tables: borders, centred headers, right-aligned cells, wrapping of long cells at spaces', (t) => {
  t.is(
    renderTable(['ENDPOINT', 'HASH'], [['127.0.0.1:23791', '1329263930']]),
    '+-----------------+------------+\n' +
      '|    ENDPOINT     |    HASH    |\n' +
      '+-----------------+------------+\n' +
      '| 127.0.0.1:23791 | 1329263930 |\n' +
      '+-----------------+------------+\n',
  );
  // etcdctl's own rendering of an alarm in the ERRORS column
  const wrapped = renderTable(['ERRORS'], [['memberID:185828541645115251 alarm:NOSPACE ']]);
  t.is(
    wrapped,
    '+--------------------------------+\n' +
      '|             ERRORS             |\n' +
      '+--------------------------------+\n' +
      '|    memberID:185828541645115251 |\n' +
      '|                 alarm:NOSPACE  |\n' +
      '+--------------------------------+\n',
  );
  t.deepEqual(wrapWords(['aaaa', 'bb', 'cc', 'dddd'], 6), [['aaaa'], ['bb', 'cc'], ['dddd']]);
  t.deepEqual(wrapWords(['a-very-long-word'], 5), [['a-very-long-word']]);
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { minLength: 1, maxLength: 12 }), fc.integer({ min: 8, max: 30 }), (words, limit) => {
      const lines = wrapWords(words, limit);
      return lines.flat().join(' ') === words.join(' ') && lines.every((l) => l.join(' ').length <= limit);
    }),
  );
});

test('flags: pflag\'s forms and its error messages', (t) => {
  const specs: FlagSpec[] = [
    { name: 'write-out', short: 'w', kind: 'string', default: 'simple', help: '' },
    { name: 'prefix', kind: 'bool', default: false, help: '' },
    { name: 'interactive', short: 'i', kind: 'bool', default: false, help: '' },
    { name: 'rev', kind: 'int', default: 0n, help: '' },
    { name: 'endpoints', kind: 'stringSlice', default: ['127.0.0.1:2379'], help: '' },
    { name: 'dial-timeout', kind: 'duration', default: 2e9, help: '' },
  ];
  const f = parseFlags(['a', '--prefix', '-w', 'json', 'b', '--rev=0x10', '--endpoints', 'x,y', '--endpoints=z', '--dial-timeout=1s', '-i', '--', '-c', '--rev'], specs);
  t.deepEqual(f.args, ['a', 'b', '-c', '--rev']);
  t.is(f.argsLenAtDash, 2);
  t.true(f.bool('prefix'));
  t.true(f.bool('interactive'));
  t.is(f.string('write-out'), 'json');
  t.is(f.int('rev'), 16n);
  t.deepEqual(f.strings('endpoints'), ['x', 'y', 'z']);
  t.is(f.duration('dial-timeout'), 1e9);
  t.is(parseFlags(['-wjson'], specs).string('write-out'), 'json');
  t.is(parseFlags(['-w=fields'], specs).string('write-out'), 'fields');
  t.false(parseFlags(['--prefix=false'], specs).bool('prefix'));
  t.deepEqual(parseFlags([], specs).strings('endpoints'), ['127.0.0.1:2379']);
  t.is(parseFlags(['-'], specs).args[0], '-');
  t.throws(() => parseFlags(['--bogus'], specs), { instanceOf: FlagError, message: 'unknown flag: --bogus' });
  t.throws(() => parseFlags(['-c'], specs), { instanceOf: FlagError, message: "unknown shorthand flag: 'c' in -c" });
  t.throws(() => parseFlags(['-1'], specs), { instanceOf: FlagError, message: "unknown shorthand flag: '1' in -1" });
  t.throws(() => parseFlags(['--rev'], specs), { instanceOf: FlagError, message: 'flag needs an argument: --rev' });
  t.throws(() => parseFlags(['-w'], specs), { instanceOf: FlagError, message: "flag needs an argument: 'w' in -w" });
  t.throws(() => parseFlags(['--rev=abc'], specs), { message: 'invalid argument "abc" for "--rev" flag: strconv.ParseInt: parsing "abc": invalid syntax' });
  t.throws(() => parseFlags(['--prefix=maybe'], specs), { message: 'invalid argument "maybe" for "--prefix" flag: strconv.ParseBool: parsing "maybe": invalid syntax' });
  t.throws(() => parseFlags(['--dial-timeout=x'], specs), { message: 'invalid argument "x" for "--dial-timeout" flag: time: invalid duration "x"' });
});

test('txn lines: argify and compares as etcdctl reads them', (t) => {
  t.deepEqual(argify('put "x y" "a b"'), ['put', 'x y', 'a b']);
  t.deepEqual(argify("  put   'q r'  s  "), ['put', 'q r', 's']);
  t.deepEqual(argify('put a "b\\"c"'), ['put', 'a', 'b"c']);
  t.deepEqual(argify('put a "b\\nc"'), ['put', 'a', 'b\nc']);
  t.deepEqual(argify('put a b\\ c'), ['put', 'a', 'b\\', 'c']);
  t.deepEqual(argify(''), []);
  const c = parseCompare('mod("k") > "5"');
  t.is(c.target, 2);
  t.is(c.result, 1);
  t.is(c.modRevision, 5);
  t.is(parseCompare('value("k") != "v"').result, 3);
  t.is(parseCompare('value(`k`) = `v`').target, 3);
  const error = (line: string) => {
    try {
      parseCompare(line);
      return 'no error';
    } catch (e) {
      return (e as CtlError).message;
    }
  };
  t.is(error('bogus'), 'malformed comparison: bogus');
  t.is(error('value(a) = "1"'), 'malformed comparison: value(a) = "1"; got value("")  ""');
  t.is(error('value("a") = 1'), 'malformed comparison: value("a") = 1; got value("a") = ""');
  t.is(error('value("a")="1"'), 'malformed comparison: value("a")="1"; got value("a")  ""');
  t.is(error('value("a") ="1"'), 'malformed comparison: value("a") ="1"; got value("a") ="1" ""');
  t.is(error('foo("a") = "1"'), 'malformed comparison: foo("a") = "1" (unknown target foo)');
  t.is(error('ver("a") = "x"'), 'invalid txn compare request: ver("a") = "x"');
});

test('crc32c: the Castagnoli checksum etcd\'s snapshot status uses', (t) => {
  t.is(crc32c(0, Buffer.from('123456789')), 0xe3069283);
  t.is(crc32c(0, new Uint8Array(0)), 0);
  const whole = crc32c(0, Buffer.from('hello world'));
  t.is(crc32c(crc32c(0, Buffer.from('hello ')), Buffer.from('world')), whole, 'incremental');
});

test('the output mask names hex member ids of 12 to 16 digits alike on both sides, as etcdctl drops leading zeros', (t) => {
  const etcd = mask('127.0.0.1:2379, f5c5dbc3749a4af, 3.4.23, 20 kB, true, false, 2, 8, 8, memberID:1106153717457110191 alarm:NOSPACE');
  const tetcd = mask('127.0.0.1:23790, 8e9e05c52164694d, 3.4.23, 20 kB, true, false, 2, 8, 8, memberID:10276657743932975437 alarm:NOSPACE');
  t.is(etcd, '127.0.0.1:<port1>, <id1>, 3.4.23, 20 kB, true, false, 2, 8, 8, memberID:<id2> alarm:NOSPACE');
  t.is(tetcd, etcd);
  t.is(mask('revision 12345678901'), 'revision 12345678901', 'shorter numbers are left alone');
});
