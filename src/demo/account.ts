/**
 * The demo api's login-protected routes, beside /items:
 *
 *   POST /login  {"user","password"}  → {"token"}          (any user; an empty password is refused)
 *   GET  /account                     → {"user"}           needs `authorization: Bearer TOKEN`; no dependency
 *   GET  /account/items/ID            → the item           needs the token and the dependency (503 without it)
 *   POST /logout                      → 204                the token stops working
 *
 * Tokens live in this process (a crashed api forgets them, as a real one without a session store
 * would); at most 100,000 at once, the oldest forgotten first.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Pool } from 'undici';
import { classifyError } from '../core/error-kinds.ts';

const MAX_TOKENS = 100_000;

export function accountRoutes(dep: Pool) {
  const tokens = new Map<string, string>();
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const userOf = (req: http.IncomingMessage): string | null => {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    return m ? (tokens.get(m[1]!) ?? null) : null;
  };

  /** Handles the request when it is one of these routes (the body already read); false otherwise. */
  return async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: string,
    body: string,
  ): Promise<boolean> => {
    if (url === '/login' && req.method === 'POST') {
      let creds: { user?: unknown; password?: unknown } = {};
      try {
        creds = JSON.parse(body || '{}') as typeof creds;
      } catch {
        json(res, 400, { error: 'expected {"user": NAME, "password": TEXT}' });
        return true;
      }
      if (typeof creds.user !== 'string' || typeof creds.password !== 'string' || creds.password === '') {
        json(res, 401, { error: 'wrong user or password' });
        return true;
      }
      const token = randomBytes(12).toString('hex');
      tokens.set(token, creds.user);
      if (tokens.size > MAX_TOKENS) tokens.delete(tokens.keys().next().value!);
      json(res, 200, { token, user: creds.user });
      return true;
    }
    if (url === '/logout' && req.method === 'POST') {
      const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      if (m) tokens.delete(m[1]!);
      res.writeHead(204).end();
      return true;
    }
    if (!url.startsWith('/account')) return false;
    const user = userOf(req);
    if (!user) {
      json(res, 401, { error: 'log in first: POST /login, then send authorization: Bearer TOKEN' });
      return true;
    }
    if (url === '/account') {
      json(res, 200, { user });
      return true;
    }
    const item = /^\/account\/items\/([^/?]+)$/.exec(url);
    if (!item) {
      json(res, 404, { error: 'not found' });
      return true;
    }
    try {
      const r = await dep.request({ method: 'GET', path: `/items/${item[1]}` });
      const text = await r.body.text();
      res.writeHead(r.statusCode >= 500 ? 502 : r.statusCode, { 'content-type': 'application/json' });
      res.end(text);
    } catch (err) {
      const kind = classifyError(err);
      json(res, kind === 'timeout' ? 504 : 503, { error: `dependency unavailable (${kind})` });
    }
    return true;
  };
}
