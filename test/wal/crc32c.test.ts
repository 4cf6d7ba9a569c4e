// CRC32C against published vectors and against the bit-at-a-time definition on random input.
import test from 'ava';
import fc from 'fast-check';
import { crc32c, crc32cNaive } from '../../actors/wal/crc32c.js';

const ascii = (s: string) => new TextEncoder().encode(s);

test('known vectors', (t) => {
  t.is(crc32c(0, ascii('123456789')), 0xe3069283);
  t.is(crc32c(0, new Uint8Array(0)), 0);
  // RFC 3720 (iSCSI) test patterns
  t.is(crc32c(0, new Uint8Array(32)), 0x8a9136aa);
  t.is(crc32c(0, new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  t.is(crc32c(0, Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  t.is(crc32c(0, Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('matches the bit-at-a-time definition on random input, any range and any split', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), fc.nat(), (bytes, a, b, c) => {
      const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
      const end = start + (bytes.length - start === 0 ? 0 : b % (bytes.length - start + 1));
      const slice = bytes.subarray(start, end);
      const expected = crc32cNaive(0, slice);
      if (crc32c(0, bytes, start, end) !== expected) return false;
      // chaining: continuing from a prefix's CRC gives the CRC of the whole
      const split = start + (slice.length === 0 ? 0 : c % (slice.length + 1));
      return crc32c(crc32c(0, bytes, start, split), bytes, split, end) === expected;
    }),
    { numRuns: 2_000 },
  );
  t.pass();
});
