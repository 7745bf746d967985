/** The demo's dependency: a small item store the api reads from and writes to. */
import http from 'node:http';

export interface DependencyOptions {
  port: number;
  /** Simulated work per request, so baseline latency is not zero. */
  workMs: number;
}

export function startDependency(o: DependencyOptions): Promise<http.Server> {
  const items = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const answer = () => {
      const m = /^\/items\/([^/?]+)/.exec(req.url ?? '');
      if (req.method === 'GET' && m) {
        const id = m[1]!;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ id, value: items.get(id) ?? `item-${id}` }));
      } else if (req.method === 'POST' && req.url === '/items') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          const id = String(items.size + 1);
          items.set(id, body.slice(0, 256));
          if (items.size > 10_000) items.clear(); // bounded memory under long runs
          res.statusCode = 201;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ id }));
        });
      } else if (req.url === '/health') {
        res.end('{"status":"ok"}');
      } else {
        res.statusCode = 404;
        res.end('{"error":"not found"}');
      }
    };
    if (o.workMs > 0) setTimeout(answer, o.workMs);
    else answer();
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, '127.0.0.1', () => resolve(server));
  });
}
