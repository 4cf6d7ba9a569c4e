// uWebSockets.js, loaded once. The npm build for Node 20 on this glibc is @trufflesuite/uws-js-unofficial; it is a
// native CommonJS module, so it is required rather than imported.
import { createRequire } from 'node:module';
import type * as UwsTypes from '@trufflesuite/uws-js-unofficial';

const require = createRequire(import.meta.url);

export const uws = require('@trufflesuite/uws-js-unofficial') as typeof UwsTypes;
export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from '@trufflesuite/uws-js-unofficial';

/** Host and port of an http:// URL, for listening. */
export function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return { host: host === 'localhost' ? '127.0.0.1' : host, port: Number(parsed.port) };
}

/** Listens on host:port; resolves with the listen socket and the bound port (useful with port 0). */
export function listen(app: UwsTypes.TemplatedApp, host: string, port: number): Promise<{ socket: UwsTypes.us_listen_socket; port: number }> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (!socket) reject(new Error(`cannot listen on ${host}:${port}`));
      else resolve({ socket, port: uws.us_socket_local_port(socket) });
    });
  });
}
