/**
 * The api's access rule (src/proxy/access.ts), address by address. Real non-loopback clients are
 * driven through network namespaces in stock-client.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { accessPolicy, normalizeAddress, parseAllow } from '../../src/proxy/access.ts';

describe('accessPolicy', () => {
  it('loopback clients may always; others are refused with 403 when no token is set', () => {
    const p = accessPolicy({});
    for (const a of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1'])
      expect(p.refuse(a, undefined)).toBe(undefined);
    expect(p.refuse('10.1.2.3', undefined)).toEqual({
      status: 403,
      message: 'client 10.1.2.3 is not allowed to use this api (allowed: loopback)',
    });
    expect(p.refuse(undefined, undefined)?.status).toBe(403);
  });

  it('--allow networks and single addresses, IPv4 clients of a dual-stack listener included', () => {
    const p = accessPolicy({ allow: ['10.0.0.0/8', '192.168.1.7,fd00::/8'] });
    for (const a of ['10.200.1.1', '::ffff:10.0.0.1', '192.168.1.7', 'fd12::1'])
      expect(p.refuse(a, undefined)).toBe(undefined);
    const r = p.refuse('192.168.1.8', undefined);
    expect(r).toEqual({
      status: 403,
      message:
        'client 192.168.1.8 is not allowed to use this api (allowed: loopback, 10.0.0.0/8, 192.168.1.7, fd00::/8)',
    });
    expect(p.refuse('fe80::1', undefined)?.status).toBe(403);
    expect(p.allow).toEqual(['10.0.0.0/8', '192.168.1.7', 'fd00::/8']);
  });

  it('with a token, clients elsewhere need it (401 without or with a wrong one)', () => {
    const p = accessPolicy({ allow: ['10.0.0.0/8'], token: 's3cret' });
    expect(p.refuse('10.1.1.1', undefined)).toBe(undefined);
    expect(p.refuse('172.16.0.1', 'Bearer s3cret')).toBe(undefined);
    expect(p.refuse('172.16.0.1', 'bearer  s3cret ')).toBe(undefined);
    for (const h of [undefined, 'Bearer nope', 'Basic s3cret', 'Bearer s3cre']) {
      expect(p.refuse('172.16.0.1', h)).toEqual({
        status: 401,
        message:
          'client 172.16.0.1 is not in the allowed networks and sent a missing or wrong bearer token (send "Authorization: Bearer <token>")',
      });
    }
  });
});

describe('parseAllow', () => {
  it('refuses host names, bad prefixes and allow-everything networks, naming the entry', () => {
    const msg = (e: string) => {
      try {
        parseAllow([e]);
      } catch (err) {
        expect(err).toBeInstanceOf(InputError);
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(msg('example.com')).toBe(
      '--allow "example.com": expected an ip address or a network like 10.0.0.0/8 or fd00::/8 (host names are not accepted)',
    );
    expect(msg('10.0.0.0/33')).toBe(
      '--allow "10.0.0.0/33": the prefix length must be a whole number from 1 to 32',
    );
    expect(msg('fd00::/x')).toBe(
      '--allow "fd00::/x": the prefix length must be a whole number from 1 to 128',
    );
    expect(msg('0.0.0.0/0')).toMatch(
      /^--allow 0\.0\.0\.0\/0 lets every address use the api, which is no access control/,
    );
    expect(msg('::/0')).toMatch(/^--allow ::\/0 lets every address/);
    expect(parseAllow(['', ' 10.0.0.1 ']).allow).toEqual(['10.0.0.1']);
  });

  it('normalizes IPv4-mapped addresses only', () => {
    expect(normalizeAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeAddress('::ffff:a00:1')).toBe('::ffff:a00:1');
    expect(normalizeAddress('fd00::1')).toBe('fd00::1');
  });
});
