// An endpoint as a user writes it ("127.0.0.1:2379", "http://10.0.0.1:2379") and what the transports need from it.
// The text is kept as written because etcdctl prints endpoints back exactly as they were given.
import { ClientError } from '../errors.js';

export interface Endpoint {
  /** As the user wrote it; printed back by endpoint status/health. */
  readonly text: string;
  readonly host: string;
  readonly port: number;
  /** "http://host:port" */
  readonly httpBase: string;
  /** "ws://host:port" */
  readonly wsBase: string;
}

export class EndpointError extends ClientError {}

export function parseEndpoint(text: string): Endpoint {
  const trimmed = text.trim();
  if (trimmed === '') throw new EndpointError('empty endpoint');
  let rest = trimmed;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(trimmed);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name === 'https' || name === 'unixs') throw new EndpointError(`endpoint ${trimmed}: TLS is not supported by this client`);
    if (name !== 'http') throw new EndpointError(`endpoint ${trimmed}: unsupported scheme ${name}`);
    rest = trimmed.slice(scheme[0].length);
  }
  rest = rest.replace(/\/+$/, '');
  if (rest.includes('/')) throw new EndpointError(`endpoint ${trimmed}: a path is not allowed`);
  let host: string;
  let portText: string;
  const bracket = /^\[([^\]]+)\]:(\d+)$/.exec(rest);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon <= 0) throw new EndpointError(`endpoint ${trimmed}: missing port`);
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new EndpointError(`endpoint ${trimmed}: bad port`);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { text: trimmed, host, port, httpBase: `http://${hostPart}:${port}`, wsBase: `ws://${hostPart}:${port}` };
}

/** A comma-separated list, as --endpoints and ETCDCTL_ENDPOINTS take it. */
export function parseEndpointList(text: string): Endpoint[] {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new EndpointError('no endpoints given');
  return parts.map(parseEndpoint);
}
