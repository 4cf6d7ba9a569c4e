// One Error subclass per failure kind of the runtime. Each carries what a caller needs to decide what to do.

export class TetcdError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An ask got no answer in time. The message may still be processed by the receiver. */
export class AskTimeoutError extends TetcdError {
  constructor(readonly actor: string, readonly messageType: string, readonly timeoutMs: number) {
    super(`ask ${actor}.${messageType} timed out after ${timeoutMs} ms`);
  }
}

/** The receiver's mailbox is at its limit; the message was not sent. */
export class MailboxFullError extends TetcdError {
  constructor(readonly actor: string, readonly limit: number) {
    super(`mailbox of ${actor} is full (${limit} messages)`);
  }
}

/** The target actor stopped or crashed; pending asks to it fail with this. */
export class ActorUnavailableError extends TetcdError {
  constructor(readonly actor: string, readonly reason: string) {
    super(`actor ${actor} is unavailable: ${reason}`);
  }
}

/** An actor threw (or its worker died). Reported to the supervisor with the actor's name. */
export class ActorCrashedError extends TetcdError {
  constructor(readonly actor: string, cause: unknown) {
    super(`actor ${actor} crashed: ${describe(cause)}`, { cause });
  }
}

/** The handler of an ask threw; the error crosses the thread boundary as name, message and optional code. */
export class RemoteError extends TetcdError {
  constructor(readonly remoteName: string, message: string, readonly code?: number, readonly actor?: string) {
    super(message);
  }
}

export function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** The plain shape an error takes inside a frame. */
export interface WireError {
  name: string;
  message: string;
  code?: number;
}

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'number' ? { name: error.name, message: error.message, code } : { name: error.name, message: error.message };
  }
  return { name: 'Error', message: String(error) };
}
