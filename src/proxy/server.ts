/**
 * `chaos proxy`: the fault proxy daemon. An HTTP API (Toxiproxy v2 compatible, see api.ts)
 * drives a ProxyRegistry whose proxies forward TCP with toxics applied.
 *
 *   client ── :listen ──> Proxy ── Link (toxic stages) ──> upstream
 *                           ▲
 *   Toxiproxy client / chaoskit ── HTTP :8474 ──> api.ts ──> ProxyRegistry
 *
 * Loopback by default. Anyone who reaches the API can cut traffic and open relays, so a
 * non-loopback listen address is refused unless `allow` (client networks) or `token` says who
 * may use it (access.ts; the threat model is in docs/proxy.md).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InputError } from '../core/errors.ts';
import { accessPolicy } from './access.ts';
import { formatHostPort, isLoopback } from './address.ts';
import { createApiHandler } from './api.ts';
import { ProxyRegistry, type RegistryOptions } from './registry.ts';

export interface ProxyServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8474 (Toxiproxy's); 0 picks an ephemeral port. */
  port?: number;
  /**
   * Client networks (`10.0.0.0/8`, `192.168.1.7`) that may use the whole API without a token, on
   * top of loopback, which always may. A non-loopback host needs this or `token`.
   */
  allow?: readonly string[];
  /** Bearer token that lets a client from anywhere else use the API. */
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
  const access = accessPolicy({ allow: opts.allow ?? [], token: opts.token });
  if (!isLoopback(host) && opts.token === undefined && access.allow.length === 0) {
    throw new InputError(
      `proxy api on ${host || 'every interface'}: a non-loopback listen address requires --allow ` +
        'with the networks of your clients, or --token (anyone who can reach the api can cut or slow traffic)',
    );
  }
  const registry = new ProxyRegistry({ ...opts.registry, log });
  const server = createServer({ keepAliveTimeout: 5000 }, createApiHandler(registry, { access, log }));
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    throw listenError(host, port, err);
  });
  server.on('error', (err) => log(`proxy api: server error: ${err.message}`));
  const addr = server.address() as AddressInfo;
  const url = `http://${formatHostPort(addr.address, addr.port)}`;
  const who = ['loopback', ...access.allow, ...(opts.token ? ['others with the bearer token'] : [])].join(
    ', ',
  );
  log(`proxy api listening on ${url} (clients allowed: ${who})`);
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

/** The API's own port cannot be bound: a usage problem (exit 2) that names the address. */
function listenError(host: string, port: number, err: NodeJS.ErrnoException): Error {
  const where = `${host || 'every interface'} port ${port}`;
  const why =
    err.code === 'EADDRINUSE'
      ? `port ${port} is already in use on ${host || 'this machine'} (another chaos proxy or toxiproxy-server?); stop it or choose another port with --port`
      : err.code === 'EACCES'
        ? `permission denied (ports below 1024 need root); choose another port with --port`
        : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
          ? `${host} is not an address of this machine; choose another with --host`
          : undefined;
  if (!why) return err;
  return Object.assign(new InputError(`proxy api cannot listen on ${where}: ${why}`, { cause: err }), {
    code: err.code,
  });
}
