// Put-to-event latency: the watch workloads write the put's send time at the start of the value (zero-padded
// decimal microseconds of the process's monotonic clock, which all threads of the process share) and each watcher
// reads it back when the event arrives.
import { limits } from './limits.js';

const digits = limits.timestampDigits;

/** Monotonic microseconds, the same clock on every thread of this process. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A value of `sizeBytes` (at least the timestamp width) starting with the current time. */
export function stampedValue(sizeBytes: number): Buffer {
  const size = Math.max(sizeBytes, digits);
  const value = Buffer.alloc(size, 0x78); // 'x'
  value.write(String(nowUs()).padStart(digits, '0'), 0, 'latin1');
  return value;
}

/** The timestamp at `start` of raw value bytes, or NaN when the value does not start with one. */
export function readStamp(bytes: Uint8Array, start = 0): number {
  if (bytes.length - start < digits) return Number.NaN;
  let v = 0;
  for (let i = start; i < start + digits; i++) {
    const c = bytes[i]! - 48;
    if (c < 0 || c > 9) return Number.NaN;
    v = v * 10 + c;
  }
  return v;
}

/** Base64 characters that cover the timestamp (every 3 bytes are 4 characters). */
export const stampBase64Chars = Math.ceil(digits / 3) * 4;

/** The timestamp from a base64 value inside a larger buffer (the JSON drivers' events). */
export function readStampBase64(buf: Buffer, start: number, end: number): number {
  const n = Math.min(end - start, stampBase64Chars);
  if (n < stampBase64Chars && n < 4) return Number.NaN;
  return readStamp(Buffer.from(buf.toString('latin1', start, start + n), 'base64'));
}
