/**
 * Who may use the fault proxy's API (threat model in docs/proxy.md "Who may use the API").
 *
 *   request ──> source address loopback or in --allow? ──yes──> served
 *                    │ no
 *                    └──> correct bearer token? ──yes──> served ; else 401 (token set) / 403
 *
 * `GET /version` is served to anyone who can connect: it says nothing but the API level, and
 * stock clients and health checks call it first. The source address is the TCP peer's, never a
 * header (X-Forwarded-For is ignored): a TCP handshake cannot be completed from a spoofed address
 * without being on the path.
 */
import { timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { InputError } from '../core/errors.ts';

export interface AccessPolicy {
  /** The networks given with --allow, as written (loopback is always allowed on top). */
  readonly allow: readonly string[];
  readonly token: string | undefined;
  /** The reason a request may not use the API, or undefined when it may. */
  refuse(remoteAddress: string | undefined, authorization: string | undefined): Refusal | undefined;
}

export interface Refusal {
  status: 401 | 403;
  message: string;
}

/** Parses `--allow` entries: an IPv4/IPv6 address or CIDR (`10.0.0.0/8`, `fd00::/8`), comma lists too. */
export function parseAllow(entries: readonly string[]): { list: BlockList; allow: string[] } {
  const list = new BlockList();
  const allow: string[] = [];
  for (const entry of entries.flatMap((e) => e.split(','))) {
    const text = entry.trim();
    if (text === '') continue;
    const [addr = '', prefixText] = text.split('/');
    const family = isIP(addr);
    if (family === 0) {
      throw new InputError(
        `--allow ${JSON.stringify(text)}: expected an ip address or a network like 10.0.0.0/8 or fd00::/8 (host names are not accepted)`,
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const max = family === 4 ? 32 : 128;
    if (prefixText === undefined) {
      list.addAddress(addr, type);
    } else {
      const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
      if (!(prefix >= 0 && prefix <= max)) {
        throw new InputError(
          `--allow ${JSON.stringify(text)}: the prefix length must be a whole number from 1 to ${max}`,
        );
      }
      if (prefix === 0) {
        throw new InputError(
          `--allow ${text} lets every address use the api, which is no access control at all; name your clients' networks (e.g. 10.0.0.0/8) or use --token`,
        );
      }
      list.addSubnet(addr, prefix, type);
    }
    allow.push(text);
  }
  return { list, allow };
}

/** `::ffff:10.1.2.3` (an IPv4 client of a dual-stack listener) → `10.1.2.3`. */
export function normalizeAddress(address: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return m ? m[1]! : address;
}

function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^127\./.test(address);
}

export function accessPolicy(opts: { allow?: readonly string[]; token?: string | undefined }): AccessPolicy {
  const { list, allow } = parseAllow(opts.allow ?? []);
  const token = opts.token;
  const allowed = (address: string): boolean => {
    if (isLoopbackAddress(address)) return true;
    const family = isIP(address);
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  };
  return {
    allow,
    token,
    refuse(remoteAddress, authorization) {
      const address = normalizeAddress(remoteAddress ?? '');
      if (allowed(address)) return undefined;
      if (token !== undefined) {
        if (bearerMatches(authorization, token)) return undefined;
        return {
          status: 401,
          message: `client ${address} is not in the allowed networks and sent a missing or wrong bearer token (send "Authorization: Bearer <token>")`,
        };
      }
      return {
        status: 403,
        message: `client ${address} is not allowed to use this api (allowed: loopback${allow.length ? `, ${allow.join(', ')}` : ''})`,
      };
    },
  };
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
