/**
 * The demo's api service: answers /items by calling the dependency through the fault proxy's hop,
 * with a 1 s timeout, and maps dependency failures to 502/503/504 the way real services do.
 * Runs as its own process (`chaos demo-api`) so process faults can crash and pause it.
 */
import http from 'node:http';
import { Pool } from 'undici';
import { classifyError } from '../load/errors.ts';
import { accountRoutes } from './account.ts';

export interface ApiOptions {
  port: number;
  dependencyUrl: string;
  timeoutMs: number;
}

export function startApi(o: ApiOptions): Promise<http.Server> {
  const dep = new Pool(o.dependencyUrl, {
    connections: 128,
    headersTimeout: o.timeoutMs,
    bodyTimeout: o.timeoutMs,
    connectTimeout: o.timeoutMs,
  });
  const account = accountRoutes(dep);
  const server = http.createServer(async (req, res) => {
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
    try {
      const r = await dep.request({
        method: req.method === 'POST' ? 'POST' : 'GET',
        path: url,
        ...(req.method === 'POST' ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      const text = await r.body.text();
      res.statusCode = r.statusCode >= 500 ? 502 : r.statusCode;
      res.setHeader('content-type', 'application/json');
      res.end(text);
    } catch (err) {
      const kind = classifyError(err);
      res.statusCode = kind === 'timeout' ? 504 : 503;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: `dependency unavailable (${kind})` }));
    }
  });
  server.keepAliveTimeout = 30_000;
  server.on('close', () => void dep.close());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve(server));
  });
}
