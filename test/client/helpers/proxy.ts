// A TCP proxy between the client and a server that a test can break: cut every open connection (a network blip),
// refuse new ones (the server is down), or swallow traffic (a server that accepts and never answers).
import net from 'node:net';

export interface Proxy {
  endpoint: string;
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Destroys every open connection. */
  cut(): void;
  /** down: cut every connection and stop listening, so new ones are refused; up: listen again on the same port. */
  setDown(down: boolean): Promise<void>;
  /** Accept connections but forward nothing in either direction. */
  setBlackhole(on: boolean): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>();
  let blackhole = false;
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    if (blackhole) return;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    cut: () => {
      for (const s of [...sockets]) s.destroy();
    },
    setDown: async (down) => {
      if (down && server.listening) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of [...sockets]) s.destroy(); // close() waits for open connections
        await closed;
      }
      else if (!down && !server.listening) await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
    setBlackhole: (on) => {
      blackhole = on;
    },
    close: async () => {
      for (const s of [...sockets]) s.destroy();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
