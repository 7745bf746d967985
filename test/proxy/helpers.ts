/** Real loopback servers and clients for the proxy tests. Everything binds 127.0.0.1:0. */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { startProxyServer, type ProxyServer, type ProxyServerOptions } from '../../src/proxy/server.ts';

const closers: Array<() => Promise<unknown> | void> = [];

/** Runs every registered cleanup (call from afterEach). */
export async function cleanup(): Promise<void> {
  while (closers.length > 0) {
    try {
      await closers.pop()!();
    } catch {
      // best effort
    }
  }
}

export function portOf(server: net.Server | http.Server): number {
  return (server.address() as AddressInfo).port;
}

function track<T extends net.Server>(server: T): T {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return server;
}

async function listen<T extends net.Server>(server: T): Promise<T> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return track(server);
}

/** TCP echo server (allowHalfOpen: it ends its side when the client does). */
export async function startEcho(): Promise<net.Server> {
  return listen(
    net.createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      s.pipe(s);
    }),
  );
}

/** TCP server with a custom connection handler. */
export async function startTcp(onConn: (s: net.Socket) => void): Promise<net.Server> {
  return listen(
    net.createServer((s) => {
      s.on('error', () => {});
      onConn(s);
    }),
  );
}

/** HTTP server that answers `${method} ${url}` and counts the requests it saw. */
export async function startHttp(
  handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ server: http.Server; port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      if (handler) return handler(req, res);
      const body = `${req.method} ${req.url} ${Buffer.concat(chunks).length}`;
      res
        .writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
        .end(body);
    });
  });
  await listen(server);
  return { server, port: portOf(server), seen };
}

export async function startApi(opts: ProxyServerOptions = {}): Promise<ProxyServer> {
  const server = await startProxyServer({ port: 0, ...opts });
  closers.push(() => server.close());
  return server;
}

export interface ApiReply {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read arbitrary JSON
  json: any;
  headers: Headers;
}

/** Calls the API the way a Toxiproxy client does: JSON bodies, no browser user agent. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiReply> {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', 'user-agent': 'toxiproxy-cli', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** Creates a proxy to `upstreamPort` on an ephemeral port; returns its port. */
export async function makeProxy(api: ProxyServer, name: string, upstreamPort: number): Promise<number> {
  const p = await api.registry.createProxy({
    name,
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${upstreamPort}`,
  });
  return Number(p.listen.split(':').pop());
}

export async function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  s.setNoDelay(true);
  closers.push(() => void s.destroy());
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('error', reject);
  });
  return s;
}

/** Reads until `n` bytes arrived (or rejects after `timeoutMs`). */
export function readBytes(s: net.Socket, n: number, timeoutMs = 5000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = (err?: Error): void => {
      clearTimeout(t);
      s.off('data', onData);
      s.off('end', onEnd);
      s.off('error', onErr);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) done();
    };
    const onEnd = (): void => done(new Error(`ended after ${got} of ${n} bytes`));
    const onErr = (e: Error): void => done(e);
    const t = setTimeout(() => done(new Error(`timed out after ${got} of ${n} bytes`)), timeoutMs);
    s.on('data', onData);
    s.once('end', onEnd);
    s.once('error', onErr);
  });
}

/** How a socket ended: 'end' (FIN), an error code (ECONNRESET…), or 'timeout'. */
export function outcome(
  s: net.Socket,
  timeoutMs = 3000,
): Promise<{ how: string; bytes: number; ms: number }> {
  const start = performance.now();
  return new Promise((resolve) => {
    let bytes = 0;
    const finish = (how: string): void => {
      clearTimeout(t);
      resolve({ how, bytes, ms: performance.now() - start });
    };
    s.on('data', (c: Buffer) => (bytes += c.length));
    s.once('end', () => finish('end'));
    s.once('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    s.once('close', () => finish('close'));
    const t = setTimeout(() => finish('timeout'), timeoutMs);
    s.resume();
  });
}

/** Writes `data` and times how long until it is echoed back in full. */
export async function echoTime(s: net.Socket, data: Buffer | string): Promise<number> {
  const buf = Buffer.from(data);
  const start = performance.now();
  const got = readBytes(s, buf.length);
  s.write(buf);
  const back = await got;
  if (!back.equals(buf)) throw new Error('echo mismatch');
  return performance.now() - start;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A raw HTTP/1.1 exchange on an open socket: sends `request`, reads one response. */
export async function rawHttp(
  s: net.Socket,
  request: string,
  timeoutMs = 3000,
): Promise<{ status: number; body: string; head: string }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const t = setTimeout(
      () => fail(new Error(`no full response in ${timeoutMs} ms: ${buf.toString()}`)),
      timeoutMs,
    );
    const fail = (e: Error): void => {
      clearTimeout(t);
      s.off('data', onData);
      reject(e);
    };
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.subarray(0, end).toString();
      const len = request.startsWith('HEAD ') ? 0 : Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      clearTimeout(t);
      s.off('data', onData);
      resolve({
        status: Number(head.split(' ')[1]),
        head,
        body: buf.subarray(end + 4, end + 4 + len).toString(),
      });
    };
    s.on('data', onData);
    s.write(request);
  });
}

export function get(path: string, extra = ''): string {
  return `GET ${path} HTTP/1.1\r\nhost: x\r\n${extra}\r\n`;
}
