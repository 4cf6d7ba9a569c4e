import { createRequire } from 'node:module';
import http from 'node:http';
const require = createRequire(import.meta.url);
const uws = require('@trufflesuite/uws-js-unofficial');
const mode = process.argv[2];
const app = uws.App();
let drained = 0;
app.any('/*', (res, req) => {
  if (mode === 'ondata-first') {
    res.onAborted(() => {});
    res.onData((c, last) => { drained += c.byteLength; if (last) console.log('server saw body end', drained); });
  }
  res.writeStatus('405 Method Not Allowed').end('no\n');
});
app.listen('127.0.0.1', 0, (ls) => {
  const port = uws.us_socket_local_port(ls);
  const body = Buffer.alloc(3 << 20, 120);
  const req = http.request({ host: '127.0.0.1', port, method: 'DELETE', path: '/x', agent: false, headers: { 'content-length': body.length } }, (res) => {
    res.resume(); res.on('end', () => console.log('status', res.statusCode));
  });
  req.on('error', (e) => { console.log('client error', e.message); process.exit(0); });
  let off = 0;
  const next = () => { const end = Math.min(off + 262144, body.length); const c = body.subarray(off, end); off = end; if (end === body.length) req.end(c, () => { console.log('upload done'); setTimeout(() => process.exit(0), 300); }); else req.write(c, () => setTimeout(next, 3)); };
  next();
});
