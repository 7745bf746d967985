/**
 * `chaos proxy`: the fault proxy daemon. An HTTP API (Toxiproxy v2 compatible, see api.ts)
 * drives a ProxyRegistry whose proxies forward TCP with toxics applied.
 *
 *   client ── :listen ──> Proxy ── Link (toxic stages) ──> upstream
 *                           ▲
 *   Toxiproxy client / chaoskit ── HTTP :8474 ──> api.ts ──> ProxyRegistry
 *
 * Loopback by default. Anyone who reaches the API can cut traffic, so a non-loopback listen
 * address is refused unless a bearer token guards it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError } from '../errors.ts';
import { formatHostPort, isLoopback } from './address.ts';
import { createApiHandler } from './api.ts';
import { ProxyRegistry, type RegistryOptions } from './registry.ts';

export interface ProxyServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8474 (Toxiproxy's); 0 picks an ephemeral port. */
  port?: number;
  /** Bearer token every API request must carry; required for a non-loopback host. */
  token?: string;
  log?: (line: string) => void;
  /** Clock and randomness for the registry (tests). */
  registry?: Omit<RegistryOptions, 'log'>;
}

export interface ProxyServer {
  /** Base URL of the API, e.g. http://127.0.0.1:8474 */
  readonly url: string;
  readonly port: number;
  readonly registry: ProxyRegistry;
  /** Stops every proxy (closing their connections) and the API. */
  close(): Promise<void>;
}

export const DEFAULT_API_PORT = 8474;

export async function startProxyServer(opts: ProxyServerOptions = {}): Promise<ProxyServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? DEFAULT_API_PORT;
  const log = opts.log ?? (() => {});
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InputError(`proxy api port must be a whole number from 0 to 65535, got ${port}`);
  }
  if (opts.token !== undefined && opts.token.trim() === '')
    throw new InputError('proxy api --token must not be empty');
  if (!isLoopback(host) && opts.token === undefined) {
    throw new InputError(
      `proxy api on ${host || 'every interface'}: a non-loopback listen address requires --token ` +
        '(anyone who can reach the api can cut or slow traffic)',
    );
  }
  const registry = new ProxyRegistry({ ...opts.registry, log });
  const server = createServer(
    { keepAliveTimeout: 5000 },
    createApiHandler(registry, { token: opts.token, log }),
  );
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // EADDRINUSE and friends reach the caller as the original errno error (it names the port).
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log(`proxy api: server error: ${err.message}`));
  const addr = server.address() as AddressInfo;
  const url = `http://${formatHostPort(addr.address, addr.port)}`;
  log(`proxy api listening on ${url}${opts.token ? ' (bearer token required)' : ''}`);
  let closing: Promise<void> | undefined;
  return {
    url,
    port: addr.port,
    registry,
    close() {
      closing ??= (async () => {
        await registry.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
