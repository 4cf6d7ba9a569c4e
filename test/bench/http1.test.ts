// The load generator's HTTP/1.1 client: the response parser byte by byte (content-length, chunked with extensions and
// trailers, pipelined responses, interim 100, connection close, malformed input), the line splitter, and the client
// on real sockets: a keep-alive pipelined run against the uWS calibration endpoint and against a plain TCP server
// that splits its answers into odd packets.
import test from 'ava';
import fc from 'fast-check';
import * as net from 'node:net';
import { startCalibrationServer } from '../../bench/loadgen/calibrate.js';
import { calibrationBody } from '../../bench/loadgen/calibration-server.js';
import { ConnectionError, ProtocolError } from '../../bench/loadgen/errors.js';
import { HttpConnection, LineSplitter, parseHead, postRequest, ResponseParser, type ResponseHead, type ResponseSink } from '../../bench/loadgen/http1.js';

interface Collected {
  head?: ResponseHead;
  body: string;
  ended: boolean;
  error?: Error;
}

function collector(into: Collected[]): () => ResponseSink {
  return () => {
    const c: Collected = { body: '', ended: false };
    into.push(c);
    return {
      head: (h) => {
        c.head = h;
      },
      data: (bytes) => {
        c.body += bytes.toString('latin1');
      },
      end: () => {
        c.ended = true;
      },
      fail: (e) => {
        c.error = e;
      },
    };
  };
}

const contentLengthResponse = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":"xyz"}';
const chunkedResponse = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n';
const stream = [contentLengthResponse, 'HTTP/1.1 100 Continue\r\n\r\n', chunkedResponse, 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'].join('');

function parseIn(pieces: Buffer[]): Collected[] {
  const out: Collected[] = [];
  const parser = new ResponseParser(collector(out));
  for (const p of pieces) parser.feed(p);
  return out;
}

function checkStream(t: import('ava').ExecutionContext, out: Collected[]): void {
  t.is(out.length, 3);
  t.is(out[0]!.head!.status, 200);
  t.is(out[0]!.head!.contentLength, 11);
  t.is(out[0]!.body, '{"a":"xyz"}');
  t.true(out[0]!.ended);
  t.true(out[1]!.head!.chunked);
  t.is(out[1]!.body, 'hello, world');
  t.true(out[1]!.ended);
  t.is(out[2]!.head!.status, 404);
  t.is(out[2]!.body, '');
  t.true(out[2]!.ended);
}

test('pipelined responses in one packet: content-length, interim 100 skipped, chunked with extension and trailer', (t) => {
  checkStream(t, parseIn([Buffer.from(stream, 'latin1')]));
});

test('the same stream split at every byte gives the same responses', (t) => {
  const bytes = Buffer.from(stream, 'latin1');
  checkStream(t, parseIn([...bytes].map((x) => Buffer.from([x]))));
});

test('the same stream split at random places gives the same responses', (t) => {
  const bytes = Buffer.from(stream, 'latin1');
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), (cuts) => {
      const sorted = [...cuts].sort((a, b) => a - b);
      const pieces: Buffer[] = [];
      let from = 0;
      for (const c of [...sorted, bytes.length]) {
        pieces.push(bytes.subarray(from, c));
        from = c;
      }
      const out = parseIn(pieces);
      return out.length === 3 && out[1]!.body === 'hello, world' && out[0]!.body === '{"a":"xyz"}' && out.every((o) => o.ended);
    }),
  );
  t.pass();
});

test('head parsing: keep-alive rules and header case', (t) => {
  t.deepEqual(parseHead('HTTP/1.1 200 OK\r\ncontent-length: 5'), { status: 200, contentLength: 5, chunked: false, keepAlive: true });
  t.deepEqual(parseHead('HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked'), { status: 200, contentLength: -1, chunked: true, keepAlive: false });
  t.false(parseHead('HTTP/1.0 200 OK').keepAlive);
  t.true(parseHead('HTTP/1.0 200 OK\r\nConnection: Keep-Alive').keepAlive);
  t.throws(() => parseHead('SPDY/3 200 OK'), { instanceOf: ProtocolError });
  t.throws(() => parseHead('HTTP/1.1 2x0 OK'), { instanceOf: ProtocolError });
  t.throws(() => parseHead('HTTP/1.1 200 OK\r\nContent-Length: -3'), { instanceOf: ProtocolError });
});

test('malformed framing and unsolicited responses are protocol errors', (t) => {
  t.throws(() => parseIn([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')]), { instanceOf: ProtocolError });
  t.throws(() => parseIn([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY')]), { instanceOf: ProtocolError });
  const parser = new ResponseParser(() => undefined);
  t.throws(() => parser.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')), { instanceOf: ProtocolError, message: /unsolicited/ });
});

test('a body without length runs until close; a cut-off response is a connection error', (t) => {
  const out: Collected[] = [];
  const parser = new ResponseParser(collector(out));
  parser.feed(Buffer.from('HTTP/1.1 200 OK\r\n\r\npartial'));
  parser.feed(Buffer.from(' body'));
  t.is(parser.close(), undefined);
  t.is(out[0]!.body, 'partial body');
  t.true(out[0]!.ended);
  const cut = new ResponseParser(collector([]));
  cut.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  t.true(cut.close() instanceof ConnectionError);
});

test('line splitter: lines across chunks, empty lines skipped, a last line without newline on flush', (t) => {
  const lines: string[] = [];
  const s = new LineSplitter((buf, start, end) => lines.push(buf.toString('utf8', start, end)));
  s.push(Buffer.from('{"result":1}\n{"res'));
  s.push(Buffer.from('ult":2}\n\n{"result"'));
  s.push(Buffer.from(':3}'));
  t.deepEqual(lines, ['{"result":1}', '{"result":2}']);
  s.flush();
  t.deepEqual(lines, ['{"result":1}', '{"result":2}', '{"result":3}']);
});

function send(c: HttpConnection, path: string, body: string): Promise<Collected> {
  return new Promise((resolve) => {
    const out: Collected[] = [];
    const sink = collector(out)();
    c.send(postRequest(path, c.hostHeader, body), {
      head: (h) => sink.head(h),
      data: (d) => sink.data(d),
      end: () => {
        sink.end();
        resolve(out[0]!);
      },
      fail: (e) => {
        sink.fail(e);
        resolve(out[0]!);
      },
    });
  });
}

test('keep-alive and pipelining against the uWS calibration endpoint', async (t) => {
  const server = await startCalibrationServer();
  try {
    const u = new URL(server.url);
    const c = await HttpConnection.connect(u.hostname, Number(u.port), 64);
    try {
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(Array.from({ length: 64 }, (_, i) => send(c, '/v3/kv/put', `{"key":"${Buffer.from(`k${i}`).toString('base64')}"}`)));
        t.true(answers.every((a) => a.head?.status === 200 && a.body === calibrationBody && a.ended));
      }
      t.is(c.outstanding, 0);
      t.is(c.broken, undefined);
    } finally {
      c.close();
    }
  } finally {
    await server.stop();
  }
});

test('a server that splits answers into odd packets, then closes: pending requests fail with ConnectionError', async (t) => {
  const body = '{"ok":true}';
  const answer = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const server = net.createServer((socket) => {
    let requests = 0;
    socket.on('data', (d) => {
      requests += d.toString('latin1').split('POST ').length - 1;
      // answer the first two requests byte-split, never the third, then close
      if (requests >= 3) {
        const bytes = Buffer.from(answer + answer, 'latin1');
        let i = 0;
        const drip = (): void => {
          if (i >= bytes.length) return void socket.end();
          socket.write(bytes.subarray(i, i + 7));
          i += 7;
          setTimeout(drip, 1);
        };
        drip();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const c = await HttpConnection.connect('127.0.0.1', port, 4);
  try {
    const results = await Promise.all([send(c, '/a', '1'), send(c, '/b', '2'), send(c, '/c', '3')]);
    t.is(results[0]!.body, body);
    t.true(results[0]!.ended);
    t.is(results[1]!.body, body);
    t.true(results[2]!.error instanceof ConnectionError);
    const after = await send(c, '/d', '4');
    t.true(after.error instanceof ConnectionError);
  } finally {
    c.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
