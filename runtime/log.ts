// Structured logs: one JSON object per line on stderr, in the spirit of etcd's zap output
// ({"level":"info","ts":"…","logger":"raft","msg":"…", …fields}).

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(name: string): Logger;
  readonly level: LogLevel;
}

export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => process.stderr.write(line + '\n');

export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  if (value === undefined || value === '') return fallback;
  if (value in rank) return value as LogLevel;
  throw new Error(`invalid log level ${JSON.stringify(value)} (expected debug, info, warn or error)`);
}

export function createLogger(name: string, level: LogLevel = 'info', sink: LogSink = stderrSink, wallMs: () => number = Date.now): Logger {
  const min = rank[level];
  const write = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < min) return;
    const record: Record<string, unknown> = { level: lvl, ts: new Date(wallMs()).toISOString(), logger: name, msg };
    if (fields) for (const k in fields) record[k] = serialisable(fields[k]);
    sink(JSON.stringify(record));
  };
  return {
    level,
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (child) => createLogger(`${name}.${child}`, level, sink, wallMs),
  };
}

function serialisable(value: unknown): unknown {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export const silentLogger: Logger = createLogger('silent', 'error', () => {});
