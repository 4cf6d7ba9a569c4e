// Assertions stay on in production: a broken invariant stops the actor (and, by default, the member) before it can
// write something wrong to disk or tell a client something false.

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Exhaustive switch helper: the compiler proves the default branch unreachable. */
export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
