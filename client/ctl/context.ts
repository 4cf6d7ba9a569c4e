// What every tetcdctl command gets: its parsed flags and arguments, the global options, the output sinks, a lazily
// built client and printer, and the process's interrupt signal. Commands fail by throwing CtlError with etcdctl's
// exit code and message; main turns that into "Error: <message>" on stderr.
import type { Client } from '../client.js';
import { EtcdServerError, grpcCodeName, RequestTimeoutError } from '../errors.js';
import { ExitCode } from '../limits.js';
import type { ParsedFlags } from './flags.js';
import type { OutputFormat, Printer, Sink } from './printer.js';

export class CtlError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** Printed as is, without "Error: " (etcdctl's fatal log lines). */
    readonly raw = false,
  ) {
    super(message);
  }
}

export interface Globals {
  endpoints: string[];
  dialTimeoutMs: number;
  commandTimeoutMs: number;
  writeOut: OutputFormat;
  hex: boolean;
  debug: boolean;
}

export interface Context {
  readonly name: string;
  readonly flags: ParsedFlags;
  readonly args: string[];
  readonly globals: Globals;
  readonly sink: Sink;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream;
  /**
   * Aborts on SIGINT or SIGTERM once the command called claimInterrupts(). Commands that do not claim them die by
   * the signal, as etcdctl's do.
   */
  readonly interrupted: AbortSignal;
  claimInterrupts(): void;
  /** The process argv after the program name, as etcdctl's watch reads os.Args. */
  readonly argv: readonly string[];
  client(): Client;
  printer(options?: { valueOnly?: boolean }): Promise<Printer>;
  /** Logs a failed request the way etcdctl's client logs it (one JSON line on stderr). */
  warnRequestFailed(error: unknown): void;
}

/** etcdctl's message for a failed request: the server's message, or "context deadline exceeded". */
export function requestMessage(error: unknown): string {
  if (error instanceof RequestTimeoutError) return 'context deadline exceeded';
  if (error instanceof Error) return error.message;
  return String(error);
}

/** "rpc error: code = NotFound desc = etcdserver: requested lease not found", as a gRPC client words a failure. */
export function rpcErrorText(error: unknown): string {
  if (error instanceof EtcdServerError) return `rpc error: code = ${grpcCodeName(error.code)} desc = ${error.message}`;
  if (error instanceof RequestTimeoutError) {
    const cause = error.cause instanceof Error ? error.cause.message : 'deadline exceeded';
    return `rpc error: code = DeadlineExceeded desc = ${cause}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Whether etcdctl would have logged this failure (server errors and deadlines of unary calls). */
export function isLoggedFailure(error: unknown): boolean {
  return error instanceof EtcdServerError || error instanceof RequestTimeoutError;
}
