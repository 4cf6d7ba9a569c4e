// A tiny server that speaks tetcd's WebSocket API (the same JSON messages as etcd's gateway, one request per message
// in, one {"result":…} or {"error":…} per message out, on the same paths) by relaying to a real etcd's HTTP gateway,
// so the client's WebSocket code is tested against real answers before tetcd exists. Plain HTTP requests are
// relayed as they are, so one endpoint serves both. A test can drop every socket to exercise reconnects.
//
//   /v3/watch             one socket carries many watches: each create opens a stream to etcd; watch ids are this
//                         socket's own (0, 1, 2, ...), rewritten in etcd's answers; cancel closes the stream.
//   /v3/lease/keepalive   each message is one keep-alive, answered in order.
//   any other /v3 path    each message is one unary request, answered in order.
import http from 'node:http';
import net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface WsGateway {
  endpoint: string;
  port: number;
  /** WebSocket connections accepted, per path. */
  readonly upgrades: Map<string, number>;
  /** Messages received over WebSocket, per path. */
  readonly messages: Map<string, number>;
  /** Closes every WebSocket abruptly. */
  dropAll(): void;
  close(): Promise<void>;
}

type JsonObject = Record<string, unknown>;

function post(targetPort: number, path: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: targetPort, method: 'POST', path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** An HTTP stream to etcd: each newline-terminated message goes to onLine. */
function stream(targetPort: number, path: string, body: string, onLine: (line: string) => void, onEnd: () => void): http.ClientRequest {
  const req = http.request({ host: '127.0.0.1', port: targetPort, method: 'POST', path, agent: false }, (res) => {
    let pending = '';
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      pending += text;
      let i = pending.indexOf('\n');
      while (i >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        if (line.trim() !== '') onLine(line);
        i = pending.indexOf('\n');
      }
    });
    res.on('end', onEnd);
    res.on('error', onEnd);
  });
  req.on('error', onEnd);
  req.end(body);
  return req;
}

function serveWatch(ws: WebSocket, targetPort: number, count: () => void): void {
  const streams = new Map<number, http.ClientRequest>();
  let nextId = 0;
  const send = (message: unknown) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  ws.on('message', (data) => {
    count();
    const request = JSON.parse(data.toString()) as JsonObject;
    if (request.create_request) {
      const id = nextId++;
      const req = stream(targetPort, '/v3/watch', JSON.stringify({ create_request: request.create_request }), (line) => {
        const message = JSON.parse(line) as { result?: JsonObject; error?: unknown };
        if (message.result) {
          const result = { ...message.result };
          if (result.watch_id !== '-1') result.watch_id = String(id);
          send({ result });
        } else {
          send(message);
        }
      }, () => streams.delete(id));
      streams.set(id, req);
    } else if (request.cancel_request) {
      const id = Number((request.cancel_request as JsonObject).watch_id ?? 0);
      streams.get(id)?.destroy();
      streams.delete(id);
      send({ result: { header: {}, watch_id: String(id), canceled: true } });
    } else if (request.progress_request) {
      const req: http.ClientRequest = stream(targetPort, '/v3/watch', JSON.stringify({ progress_request: {} }), (line) => {
        send(JSON.parse(line));
        req.destroy();
      }, () => {});
    }
  });
  ws.on('close', () => {
    for (const req of streams.values()) req.destroy();
    streams.clear();
  });
}

/** Answers each message in order by relaying it to etcd. */
function serveInOrder(ws: WebSocket, path: string, targetPort: number, count: () => void): void {
  let chain = Promise.resolve();
  ws.on('message', (data) => {
    count();
    const body = data.toString();
    chain = chain.then(async () => {
      let message: unknown;
      try {
        if (path === '/v3/lease/keepalive') {
          const { text } = await post(targetPort, path, body);
          message = JSON.parse(text.split('\n').find((l) => l.trim() !== '') ?? '{}');
        } else {
          const { status, text } = await post(targetPort, path, body);
          const parsed = JSON.parse(text) as JsonObject;
          message = status === 200 ? { result: parsed } : { error: { grpc_code: parsed.code, http_code: status, message: parsed.message, http_status: '' } };
        }
      } catch (error) {
        message = { error: { grpc_code: 14, http_code: 503, message: String(error), http_status: '' } };
      }
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    });
  });
}

export async function startWsGateway(targetPort: number): Promise<WsGateway> {
  const upgrades = new Map<string, number>();
  const messages = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
  const sockets = new Set<WebSocket>();
  const raw = new Set<net.Socket>();
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer((req, res) => {
    // plain HTTP: relay to etcd unchanged (streams included)
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
  server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0]!;
    if (!path.startsWith('/v3/')) {
      socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      bump(upgrades, path);
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => {});
      const count = () => bump(messages, path);
      if (path === '/v3/watch') serveWatch(ws, targetPort, count);
      else serveInOrder(ws, path, targetPort, count);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    upgrades,
    messages,
    dropAll: () => {
      for (const ws of [...sockets]) ws.terminate();
    },
    close: async () => {
      for (const ws of [...sockets]) ws.terminate();
      for (const s of [...raw]) s.destroy();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
