// Small HTTP clients for the gateway tests: a unary POST that returns status, headers and the exact body text, and a
// streaming POST that writes its body in chosen pieces and collects newline-delimited response lines.
import http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

export function request(baseUrl: string, path: string, options: { method?: string; body?: string | Buffer; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Reply> {
  const url = new URL(path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'POST', agent: false, headers: { ...(options.headers ?? {}) }, timeout: options.timeoutMs ?? 10_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${path} timed out`)));
    req.on('error', reject);
    if (options.body !== undefined) req.end(options.body);
    else req.end();
  });
}

export const post = (baseUrl: string, path: string, body?: string | Buffer) => request(baseUrl, path, { body });

export interface StreamClient {
  /** Response lines received so far (without their newlines). */
  readonly lines: string[];
  status(): Promise<number>;
  headers(): Promise<http.IncomingHttpHeaders>;
  /** Writes more of the request body. */
  write(data: string | Buffer): void;
  /** Ends the request body (a client half-close of the HTTP stream). */
  endInput(): void;
  /** Resolves once `count` lines arrived; rejects after timeoutMs. */
  waitForLines(count: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves when the response ended (true) or after timeoutMs (false). */
  ended(timeoutMs?: number): Promise<boolean>;
  /** Raw body text received (for non-line responses such as a 500). */
  raw(): string;
  close(): void;
}

export function openStream(baseUrl: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}): StreamClient {
  const url = new URL(path, baseUrl);
  const lines: string[] = [];
  let buffered = '';
  let raw = '';
  let done = false;
  const waiters: Array<() => void> = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  let resolveResponse!: (res: http.IncomingMessage) => void;
  const response = new Promise<http.IncomingMessage>((r) => (resolveResponse = r));
  const req = http.request(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked', ...(options.headers ?? {}) } }, (res) => {
    resolveResponse(res);
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      raw += chunk;
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        lines.push(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
      notify();
    });
    res.on('end', () => {
      done = true;
      notify();
    });
    res.on('error', () => {
      done = true;
      notify();
    });
  });
  req.on('error', () => {
    done = true;
    notify();
  });
  req.flushHeaders();
  if (options.body !== undefined) req.write(options.body);
  const waitFor = (predicate: () => boolean, timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (predicate()) return resolve(true);
      const timer = setTimeout(() => resolve(predicate()), timeoutMs);
      const check = () => {
        if (predicate()) {
          clearTimeout(timer);
          resolve(true);
        } else waiters.push(check);
      };
      waiters.push(check);
    });
  return {
    lines,
    status: async () => (await response).statusCode ?? 0,
    headers: async () => (await response).headers,
    write: (data) => void req.write(data),
    endInput: () => void req.end(),
    waitForLines: async (count, timeoutMs = 5_000) => {
      if (!(await waitFor(() => lines.length >= count || done, timeoutMs)) || lines.length < count) {
        throw new Error(`expected ${count} lines, got ${lines.length}: ${JSON.stringify(lines.slice(0, 4)).slice(0, 1000)}`);
      }
      return lines.slice(0, count);
    },
    ended: (timeoutMs = 5_000) => waitFor(() => done, timeoutMs),
    raw: () => raw,
    close: () => req.destroy(),
  };
}
