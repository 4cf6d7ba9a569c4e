// A WebSocket tap in front of a server that speaks WebSocket itself (tetcd): the same interface as ws-gateway.ts's
// relay (WebSocket upgrades and client messages counted per path, every socket droppable at once), but the bytes go
// through unchanged, so the client is tested against the server's own WebSocket API. Plain HTTP is relayed as is.
import http from 'node:http';
import net from 'node:net';
import type { WsGateway } from './ws-gateway.js';

/** Counts complete data frames (text or binary, FIN set) in the client's masked frame stream. */
class FrameCounter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onMessage: () => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const b = this.pending;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let length = b[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (masked) offset += 4;
      if (b.length < offset + length) return;
      // a message ends with a FIN frame that is data (1, 2) or continuation (0); control frames (8..15) are not messages
      if (fin && opcode < 8) this.onMessage();
      this.pending = b.subarray(offset + length);
    }
  }
}

export async function startWsTap(targetPort: number): Promise<WsGateway> {
  const upgrades = new Map<string, number>();
  const messages = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const tunnels = new Set<net.Socket>();
  const raw = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers, agent: false }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (socket) => {
    raw.add(socket);
    socket.on('close', () => raw.delete(socket));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0]!;
    bump(upgrades, path);
    const counter = new FrameCounter(() => bump(messages, path));
    const upstream = net.connect(targetPort, '127.0.0.1');
    tunnels.add(socket);
    tunnels.add(upstream);
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    upstream.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length > 0) {
      counter.push(head);
      upstream.write(head);
    }
    socket.on('data', (d: Buffer) => {
      counter.push(d);
      upstream.write(d);
    });
    upstream.pipe(socket);
    const end = () => {
      socket.destroy();
      upstream.destroy();
      tunnels.delete(socket);
      tunnels.delete(upstream);
    };
    socket.on('close', end);
    upstream.on('close', end);
    socket.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    upgrades,
    messages,
    dropAll: () => {
      for (const s of [...tunnels]) s.destroy();
    },
    close: async () => {
      for (const s of [...tunnels]) s.destroy();
      for (const s of [...raw]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
