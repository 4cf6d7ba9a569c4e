// The generator's own HTTP/2 client for gRPC unary calls: header block bytes (HPACK static table and literals),
// frame reading across split packets, and calls against a real HTTP/2 server (Node's) answering like a gRPC server:
// DATA then trailers for success, trailers-only for an error, a reset stream, and PING answered.
import test from 'ava';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { ServerError } from '../../bench/loadgen/errors.js';
import { frame, FrameReader, FrameType, grpcHeaderBlock, Http2UnaryConnection } from '../../bench/loadgen/http2-unary.js';

test('the request header block: indexed :method and :scheme, literal :path, :authority, content-type and te', (t) => {
  const block = grpcHeaderBlock('/etcdserverpb.KV/Put', 'h:1');
  const expected = Buffer.concat([
    Buffer.from([0x83, 0x86]),
    Buffer.from([0x04, 20]), Buffer.from('/etcdserverpb.KV/Put'),
    Buffer.from([0x01, 3]), Buffer.from('h:1'),
    Buffer.from([0x0f, 0x10, 16]), Buffer.from('application/grpc'),
    Buffer.from([0x00, 2]), Buffer.from('te'), Buffer.from([8]), Buffer.from('trailers'),
  ]);
  t.is(block.toString('hex'), expected.toString('hex'));
});

test('frames are read whole whatever the packet boundaries', (t) => {
  const bytes = Buffer.concat([frame(FrameType.Settings, 0, 0, Buffer.alloc(6, 1)), frame(FrameType.Data, 1, 3, Buffer.from('hello')), frame(FrameType.Ping, 0, 0, Buffer.alloc(8, 7))]);
  for (const step of [1, 2, 5, 9, 10, bytes.length]) {
    const seen: string[] = [];
    const reader = new FrameReader((type, flags, streamId, payload) => seen.push(`${type}/${flags}/${streamId}/${payload.toString('hex')}`));
    for (let i = 0; i < bytes.length; i += step) reader.push(bytes.subarray(i, i + step));
    t.deepEqual(seen, ['4/0/0/010101010101', '0/1/3/68656c6c6f', '6/0/0/0707070707070707'], `step ${step}`);
  }
});

test('calls against an HTTP/2 server: success, trailers-only error, reset stream, and many in flight', async (t) => {
  const server = http2.createServer();
  const seenPaths: string[] = [];
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path']);
    seenPaths.push(path);
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      t.is(headers['content-type'], 'application/grpc');
      t.is(headers.te, 'trailers');
      t.is(body.readUInt32BE(1), body.length - 5);
      if (path === '/svc/Fail') {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '3', 'grpc-message': 'bad' }, { endStream: true });
        return;
      }
      if (path === '/svc/Reset') {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(body); // echo
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const c = await Http2UnaryConnection.connect('127.0.0.1', port);
  const call = (path: string, message: Buffer): Promise<Error | undefined> => new Promise((resolve) => c.call(path, message, resolve));
  try {
    t.is(await call('/svc/Ok', Buffer.from('abc')), undefined);
    const failed = await call('/svc/Fail', Buffer.from('x'));
    t.true(failed instanceof ServerError);
    const reset = await call('/svc/Reset', Buffer.from('x'));
    t.true(reset instanceof ServerError);
    t.regex(reset!.message, /reset/);
    // more than the default 64 KiB send window in flight at once: calls wait for WINDOW_UPDATE, none is lost
    const big = Buffer.alloc(3000, 1);
    const results = await Promise.all(Array.from({ length: 100 }, () => call('/svc/Ok', big)));
    t.true(results.every((r) => r === undefined));
    t.is(c.outstanding, 0);
    t.is(seenPaths.filter((p) => p === '/svc/Ok').length, 101);
  } finally {
    c.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
