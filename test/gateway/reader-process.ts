// A watch client in its own process that reads as fast as the kernel delivers, for backpressure tests: a client in
// the test's own process shares the event loop with the server it floods, so on a busy machine it can fall behind
// and be (rightly) cut as slow. The child writes what it receives to a file the test counts lines in.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const wsModule = createRequire(import.meta.url).resolve('ws');

const script = `
const fs = require('node:fs');
const [kind, url, body, file, wsModule] = process.argv.slice(1);
const out = fs.openSync(file, 'a');
if (kind === 'http') {
  const http = require('node:http');
  const req = http.request(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
    res.on('data', (d) => fs.writeSync(out, d));
  });
  req.on('error', () => process.exit(0));
  req.write(body);
} else {
  const WebSocket = require(wsModule);
  const ws = new WebSocket(url);
  ws.on('open', () => ws.send(body));
  ws.on('message', (d) => fs.writeSync(out, Buffer.concat([Buffer.from(d), Buffer.from('\\n')])));
  ws.on('error', () => process.exit(0));
  ws.on('close', () => process.exit(0));
}
process.on('SIGTERM', () => process.exit(0));
`;

export interface ReaderProcess {
  /** Complete lines (one per response) received so far. */
  lines(): number;
  text(): string;
  stop(): Promise<void>;
}

export function startReaderProcess(kind: 'http' | 'ws', url: string, body: string): ReaderProcess {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tetcd-reader-'));
  const file = path.join(dir, 'received');
  const child: ChildProcess = spawn(process.execPath, ['-e', script, kind, url, body, file, wsModule], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const text = () => {
    try {
      return readFileSync(file, 'latin1');
    } catch {
      return '';
    }
  };
  // Lines are counted incrementally: only bytes not seen yet are read.
  let offset = 0;
  let count = 0;
  const chunk = Buffer.alloc(1 << 20);
  return {
    text,
    lines: () => {
      let fd: number;
      try {
        fd = openSync(file, 'r');
      } catch {
        return 0;
      }
      try {
        for (;;) {
          const n = readSync(fd, chunk, 0, chunk.length, offset);
          if (n === 0) break;
          offset += n;
          for (let i = chunk.indexOf(0x0a); i >= 0 && i < n; i = chunk.indexOf(0x0a, i + 1)) count++;
        }
      } finally {
        closeSync(fd);
      }
      return count;
    },
    stop: async () => {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
