import { isIP } from 'node:net';
import { badRequest } from './api-error.ts';

export interface HostPort {
  /** '' means every interface (Go's `:port`). */
  host: string;
  port: number;
}

/** Parses `host:port`, `[v6]:port` or `:port`. */
export function parseHostPort(text: unknown, field: string, { allowPortZero = true } = {}): HostPort {
  if (typeof text !== 'string' || text === '') throw badRequest(`${field} must be a "host:port" string`);
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535 || (!allowPortZero && port === 0)) {
    throw badRequest(`${field} ${JSON.stringify(text)} is not a valid "host:port" address`);
  }
  const host = m[1] ?? m[2] ?? '';
  if (m[1] !== undefined && isIP(host) !== 6)
    throw badRequest(`${field} ${JSON.stringify(text)} has a bad ipv6 address`);
  return { host, port };
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Loopback only: 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`. '' and 0.0.0.0 are not. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}
