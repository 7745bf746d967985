/**
 * The HTTP API: Toxiproxy v2's routes, JSON and status codes over a ProxyRegistry, plus a few
 * extension routes kept apart (`/proxies/{p}/toxics/{t}/renew`, `/chaoskit/...`).
 * Every failure is answered as `{"error": message, "status": code}`; nothing a client sends can
 * take the server down.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { accessPolicy, type AccessPolicy } from './access.ts';
import { badRequest, ProxyApiError } from './api-error.ts';
import type { ProxyRegistry } from './registry.ts';
import { isObject } from './toxic-def.ts';
import { toxicKinds, toxicTypes } from './toxics/index.ts';
import type { ProxyInput, ProxyPatch, ToxicInput, ToxicPatch } from './types.ts';

/** The Toxiproxy API level this server speaks (reported by GET /version). */
export const TOXIPROXY_API_VERSION = '2.6.0';
const MAX_BODY = 1024 * 1024;

interface Reply {
  status: number;
  json?: unknown;
}

interface Call {
  params: string[];
  /** The parsed JSON body; undefined when the body is empty. */
  body(): Promise<unknown>;
  req: IncomingMessage;
}

type Handler = (call: Call) => Reply | Promise<Reply>;

const ok = (json: unknown): Reply => ({ status: 200, json });
const noContent: Reply = { status: 204 };

function routes(reg: ProxyRegistry): Array<[string, Record<string, Handler>]> {
  const updateProxy: Handler = async (c) =>
    ok(await reg.updateProxy(c.params[0]!, (await c.body()) as ProxyPatch));
  const updateToxic: Handler = async (c) =>
    ok(reg.updateToxic(c.params[0]!, c.params[1]!, (await c.body()) as ToxicPatch));
  return [
    ['/version', { GET: (c) => version(c.req) }],
    [
      '/reset',
      {
        POST: async () => {
          await reg.reset();
          return noContent;
        },
      },
    ],
    [
      '/proxies',
      {
        GET: () => ok(Object.fromEntries(reg.list().map((p) => [p.name, p]))),
        POST: async (c) => ({ status: 201, json: await reg.createProxy((await c.body()) as ProxyInput) }),
      },
    ],
    [
      '/populate',
      {
        POST: async (c) => ({
          status: 201,
          json: { proxies: await reg.populate((await c.body()) as ProxyInput[]) },
        }),
      },
    ],
    [
      '/proxies/:proxy',
      {
        GET: (c) => ok(reg.get(c.params[0]!) ?? notFound('proxy', c.params[0]!)),
        POST: updateProxy,
        PATCH: updateProxy,
        DELETE: async (c) => {
          await reg.delete(c.params[0]!);
          return noContent;
        },
      },
    ],
    [
      '/proxies/:proxy/toxics',
      {
        GET: (c) => ok(reg.listToxics(c.params[0]!)),
        // Toxiproxy answers 200 here (not 201), and its clients check for exactly that.
        POST: async (c) => ok(reg.addToxic(c.params[0]!, (await c.body()) as ToxicInput)),
      },
    ],
    [
      '/proxies/:proxy/toxics/:toxic',
      {
        GET: (c) => ok(reg.getToxic(c.params[0]!, c.params[1]!) ?? notFound('toxic', c.params[1]!)),
        POST: updateToxic,
        PATCH: updateToxic,
        DELETE: (c) => {
          reg.removeToxic(c.params[0]!, c.params[1]!);
          return noContent;
        },
      },
    ],
    // ---- chaoskit extensions ----
    [
      '/proxies/:proxy/toxics/:toxic/renew',
      {
        POST: async (c) => {
          const body = await c.body();
          const lease = isObject(body) ? body.lease_ms : undefined;
          return ok(reg.renewToxic(c.params[0]!, c.params[1]!, lease as number | undefined));
        },
      },
    ],
    ['/chaoskit', { GET: () => ok(features()) }],
    [
      '/chaoskit/remove-toxics',
      {
        POST: async (c) => {
          const body = await c.body();
          return ok({
            removed: reg.removeToxicsByPrefix((isObject(body) ? body.prefix : undefined) as string),
          });
        },
      },
    ],
  ];
}

export interface ApiOptions {
  /** Who may use the API (access.ts); default: loopback clients only. */
  access?: AccessPolicy;
  log?: (line: string) => void;
}

export function createApiHandler(
  registry: ProxyRegistry,
  opts: ApiOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const table = routes(registry).map(([path, methods]) => ({ parts: path.split('/').slice(1), methods }));
  const log = opts.log ?? (() => {});
  const access = opts.access ?? accessPolicy({});
  return (req, res) => {
    handle(req, table, access)
      .catch((err: unknown) => {
        if (err instanceof ProxyApiError)
          return { status: err.status, json: { error: err.message, status: err.status } };
        log(`proxy api: internal error on ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
        return {
          status: 500,
          json: { error: `internal error: ${(err as Error)?.message ?? err}`, status: 500 },
        };
      })
      .then((reply) => send(req, res, reply))
      .catch((err: unknown) => {
        log(`proxy api: cannot answer ${req.method} ${req.url}: ${(err as Error)?.message ?? err}`);
        res.destroy();
      });
  };
}

async function handle(
  req: IncomingMessage,
  table: Array<{ parts: string[]; methods: Record<string, Handler> }>,
  access: AccessPolicy,
): Promise<Reply> {
  // Toxiproxy refuses browsers so a web page cannot drive a loopback API (CSRF, DNS rebinding).
  if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/'))
    throw new ProxyApiError('user agent not allowed', 403);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://api');
  } catch {
    throw new ProxyApiError(`bad request target ${JSON.stringify(req.url)}`, 400);
  }
  const segments = url.pathname.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  // GET /version is open to anyone who can connect: it tells nothing but the API level.
  const isVersion = segments.length === 1 && segments[0] === 'version' && req.method === 'GET';
  const refused = isVersion ? undefined : access.refuse(req.socket.remoteAddress, req.headers.authorization);
  if (refused) throw new ProxyApiError(refused.message, refused.status);
  for (const route of table) {
    const params = match(route.parts, segments);
    if (!params) continue;
    const handler = route.methods[req.method ?? 'GET'];
    if (!handler) {
      throw new ProxyApiError(`method ${req.method} not allowed on ${url.pathname}`, 405);
    }
    let cached: Promise<unknown> | undefined;
    return handler({ params, req, body: () => (cached ??= readJson(req)) });
  }
  throw new ProxyApiError(`not found: ${url.pathname}`, 404);
}

function match(parts: string[], segments: string[]): string[] | undefined {
  if (parts.length !== segments.length) return undefined;
  const params: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const seg = segments[i]!;
    if (part.startsWith(':')) {
      try {
        params.push(decodeURIComponent(seg));
      } catch {
        throw badRequest(`bad percent-encoding in path segment ${JSON.stringify(seg)}`);
      }
    } else if (part !== seg) return undefined;
  }
  return params;
}

/** Reads the whole body; an oversized one is drained (not cut) so the client can read our 413. */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
      else if (size > 64 * MAX_BODY) req.destroy();
    });
    req.on('error', reject);
    req.on('close', () => reject(new ProxyApiError('request aborted', 400)));
    req.on('end', () => {
      if (size > MAX_BODY)
        return reject(new ProxyApiError(`request body larger than ${MAX_BODY} bytes`, 413));
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text) as unknown);
      } catch (err) {
        reject(badRequest((err as Error).message.toLowerCase()));
      }
    });
  });
}

function notFound(what: 'proxy' | 'toxic', name: string): never {
  throw new ProxyApiError(`${what} not found: ${name}`, 404);
}

/** JSON as current Toxiproxy answers; plain text for a client that asks only for text. */
function version(req: IncomingMessage): Reply {
  const accept = req.headers.accept ?? '';
  if (/text\/plain/.test(accept) && !/json/.test(accept)) return { status: 200, json: TOXIPROXY_API_VERSION };
  return ok({ version: TOXIPROXY_API_VERSION, server: 'chaoskit' });
}

function features(): unknown {
  return {
    server: 'chaoskit',
    toxiproxy_api: TOXIPROXY_API_VERSION,
    toxics: toxicTypes.filter((t) => !toxicKinds[t].extension),
    extension_toxics: toxicTypes.filter((t) => toxicKinds[t].extension),
    extensions: ['lease_ms', 'renew', 'remove-toxics'],
  };
}

function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  // Drain an unread body so a keep-alive connection stays usable.
  if (!req.complete) req.resume();
  if (reply.status === 204 || reply.json === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const text = typeof reply.json === 'string';
  const body = text ? `${reply.json as string}\n` : JSON.stringify(reply.json);
  res.writeHead(reply.status, {
    'content-type': text ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
