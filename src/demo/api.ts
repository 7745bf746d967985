/**
 * The demo's api service: answers /items by calling the dependency through the fault proxy's hop,
 * with a 1 s timeout, and maps dependency failures to 502/503/504 the way real services do.
 * Runs as its own process (`chaos demo-api`) so process faults can crash and pause it.
 */
import http from 'node:http';
import { Pool } from 'undici';
import { InputError } from '../core/errors.ts';
import { classifyError } from '../core/error-kinds.ts';
import { accountRoutes } from './account.ts';

export interface ApiOptions {
  port: number;
  dependencyUrl: string;
  timeoutMs: number;
  /** Answers /items after this many times its own service time (1: as fast as it can). */
  slowdown?: number;
}

export const SLOWDOWN_VAR = 'CHAOSKIT_DEMO_SLOWDOWN';

/**
 * CHAOSKIT_DEMO_SLOWDOWN=F plants a slowdown for checking `chaos compare` (docs/ci.md): the api
 * holds each /items answer until F times the time it spent on it. Unset or empty: 1.
 */
export function demoSlowdown(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[SLOWDOWN_VAR];
  if (raw === undefined || raw.trim() === '') return 1;
  const f = Number(raw);
  if (!Number.isFinite(f) || f < 1 || f > 100)
    throw new InputError(
      `${SLOWDOWN_VAR} must be a factor from 1 to 100 (2 answers twice as slowly), got ${JSON.stringify(raw)}`,
    );
  return f;
}

export function startApi(o: ApiOptions): Promise<http.Server> {
  const slowdown = o.slowdown ?? demoSlowdown();
  const dep = new Pool(o.dependencyUrl, {
    connections: 128,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    connectTimeout: o.timeoutMs,
  });
  const account = accountRoutes(dep);
  const server = http.createServer(async (req, res) => {
    const startedMs = performance.now();
    const url = req.url ?? '/';
    if (url === '/health') {
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"ok"}');
      return;
    }
    if (url === '/login' || url === '/logout' || url.startsWith('/account')) {
      let text = '';
      for await (const c of req) text += (c as Buffer).toString();
      if (await account(req, res, url, text)) return;
    }
    if (!url.startsWith('/items')) {
      res.statusCode = 404;
      res.end('{"error":"not found"}');
      return;
    }
    let body = '';
    for await (const c of req) body += (c as Buffer).toString();
    const answer = (text: string) => {
      const holdMs = (slowdown - 1) * (performance.now() - startedMs);
      if (holdMs > 0) setTimeout(() => res.end(text), holdMs);
      else res.end(text);
    };
    try {
      const r = await dep.request({
        method: req.method === 'POST' ? 'POST' : 'GET',
        path: url,
        ...(req.method === 'POST' ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      const text = await r.body.text();
      res.statusCode = r.statusCode >= 500 ? 502 : r.statusCode;
      res.setHeader('content-type', 'application/json');
      answer(text);
    } catch (err) {
      const kind = classifyError(err);
      res.statusCode = kind === 'timeout' ? 504 : 503;
      res.setHeader('content-type', 'application/json');
      answer(JSON.stringify({ error: `dependency unavailable (${kind})` }));
    }
  });
  server.keepAliveTimeout = 30_000;
  server.on('close', () => void dep.close());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve(server));
  });
}
