// A piscina task: stream one file to a peer with an HTTP POST, from a worker thread, so sending a snapshot of any
// size never occupies the main thread (where heartbeats are sent) or the raft actor. The file is read in chunks and
// written with backpressure: memory stays at a few chunks whatever the file's size.
import * as fs from 'node:fs';
import * as http from 'node:http';

export interface SendFileTask {
  file: string;
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface SendFileResult {
  status: number;
  bytes: number;
  body: string;
}

export default function sendFile(task: SendFileTask): Promise<SendFileResult> {
  return new Promise((resolve, reject) => {
    const size = fs.statSync(task.file).size;
    const request = http.request(task.url, {
      method: 'POST',
      headers: { ...task.headers, 'content-type': 'application/octet-stream', 'content-length': String(size) },
      timeout: task.timeoutMs,
    });
    request.on('timeout', () => request.destroy(new Error(`snapshot upload to ${task.url} timed out after ${task.timeoutMs} ms`)));
    request.on('error', reject);
    request.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 4096) body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, bytes: size, body }));
      response.on('error', reject);
    });
    const stream = fs.createReadStream(task.file, { highWaterMark: 1024 * 1024 });
    stream.on('error', (error) => request.destroy(error));
    stream.pipe(request);
  });
}
