/**
 * Flows over real HTTP on loopback: captures from real answers (JSON bodies, headers, SSE streams),
 * templates in header values, default content types for bodyFile and multipart, and multipart
 * uploads as a server parses them.
 */
import { writeFileSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../../src/core/clock.ts';
import { HttpLoad } from '../../src/load/http-engine.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { compileWorkload } from '../../src/load/workload.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import { loadSpec } from '../../src/scenario/schema.ts';
import { expectStoreAccounting } from '../helpers/accounting.ts';
import { tempDir } from '../helpers/files.ts';
import { httpServer, type TestServer } from '../helpers/servers.ts';

let servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

async function serve(
  handler: (req: Seen, res: http.ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const s = await httpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const x = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(x);
      handler(x, res);
    });
  });
  servers.push(s);
  return { url: s.url, seen };
}

/** Runs a `load:` (YAML-shaped object) against `url` at `rate`/s for `ms`, files relative to `dir`. */
async function run(load: Record<string, unknown>, url: string, dir: string, rate: number, ms: number) {
  const spec = loadSpec.parse({
    target: 'api',
    pattern: [{ kind: 'constant', rate, duration: `${ms}ms` }],
    ...load,
  });
  const { workload, problems } = compileWorkload(spec, dir);
  expect(problems).toEqual([]);
  const store = new MetricsStore();
  const engine = new HttpLoad({
    url,
    workload,
    segment: segmentOf({ kind: 'constant', rate, duration: ms }),
    arrivals: 'even',
    connections: 8,
    maxBacklog: 100,
    timeoutMs: 2000,
    streamTimeoutMs: 5000,
    prng: createPrng(3),
    store,
    clock: realClock,
    gracefulStopMs: 5000,
  });
  const outcome = await engine.start();
  const tl = store.timeline(Math.ceil(ms / 1000));
  expectStoreAccounting(tl);
  return { outcome, store, profiles: store.profiles.summary()!, sessions: engine.sessionsResult() };
}

describe('flows over real HTTP', () => {
  it('captures a JSON field and a header, and sends them in later paths and header values', async () => {
    let n = 0;
    const { url, seen } = await serve((req, res) => {
      if (req.url === '/login') {
        const id = ++n;
        res.setHeader('x-session', `s-${id}`);
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ token: `tok-${id}`, user: { id } }));
      }
      res.end('{}');
    });
    const r = await run(
      {
        requests: [
          {
            name: 'f',
            steps: [
              {
                name: 'login',
                method: 'POST',
                path: '/login',
                body: '{"u":"x"}',
                capture: { token: 'json:$.token', uid: 'json:$.user.id', sid: 'header:X-Session' },
              },
              {
                name: 'me',
                path: '/users/{{uid}}',
                headers: { authorization: 'Bearer {{token}}', 'x-session': '{{sid}}', 'x-trace': '{{uuid}}' },
              },
            ],
          },
        ],
      },
      url,
      tempDir(),
      10,
      500,
    );
    const logins = seen.filter((x) => x.url === '/login');
    const mes = seen.filter((x) => x.url.startsWith('/users/'));
    expect(logins).toHaveLength(5);
    expect(mes).toHaveLength(5);
    for (const m of mes) {
      const id = m.url.slice('/users/'.length);
      expect(m.headers.authorization).toBe(`Bearer tok-${id}`);
      expect(m.headers['x-session']).toBe(`s-${id}`);
      // A template in a header value is rendered, not sent literally.
      expect(m.headers['x-trace']).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
    // The login body had no content-type: it went as JSON.
    expect(logins[0]!.headers['content-type']).toBe('application/json');
    expect(r.sessions!.flows.f).toMatchObject({ started: 5, completed: 5 });
    expect(r.profiles['f.me']!.ok).toBe(5);
  });

  it('a bodyFile body gets the same default content-type as an inline one', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'order.json'), '{"item":"{{randInt 1 9}}"}');
    const { url, seen } = await serve((_req, res) => res.end('ok'));
    await run(
      { requests: [{ name: 'order', method: 'POST', path: '/orders', bodyFile: 'order.json' }] },
      url,
      dir,
      4,
      500,
    );
    expect(seen.length).toBe(2);
    for (const s of seen) {
      expect(s.headers['content-type']).toBe('application/json');
      expect(s.body.toString()).toMatch(/^\{"item":"[1-9]"\}$/);
    }
  });

  it('uploads multipart/form-data: file parts byte for byte, text parts rendered, with a boundary', async () => {
    const dir = tempDir();
    const image = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 253, 254, 255]);
    writeFileSync(join(dir, 'cat.png'), image);
    const { url, seen } = await serve((_req, res) => res.end('{"labels":["cat"]}'));
    const r = await run(
      {
        requests: [
          {
            name: 'vision',
            method: 'POST',
            path: '/v1/vision',
            multipart: [
              { name: 'image', file: 'cat.png' },
              { name: 'prompt', value: 'what is in picture {{seq}}?' },
            ],
            expect: { json: { '$.labels[0]': 'cat' } },
          },
        ],
      },
      url,
      dir,
      4,
      500,
    );
    expect(seen).toHaveLength(2);
    const type = seen[0]!.headers['content-type']!;
    const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(type)![1]!;
    // Parse it the way a server does, with the platform's own multipart parser.
    const form = await new Response(new Uint8Array(seen[1]!.body), {
      headers: { 'content-type': type },
    }).formData();
    const file = form.get('image') as File;
    expect(file.name).toBe('cat.png');
    expect(file.type).toBe('image/png');
    expect(Buffer.from(await file.arrayBuffer())).toEqual(image);
    expect(form.get('prompt')).toBe('what is in picture 2?');
    expect(seen[0]!.body.includes(Buffer.from(`--${boundary}--\r\n`))).toBe(true);
    expect(r.profiles.vision!.ok).toBe(2);
  });

  it('an SSE step: streamed answer measured per step (time to first event), and captured from', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/conv') return res.end('{"id":"c1"}');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"text":"hel"}\n\n');
      setTimeout(() => res.end('data: {"text":"lo","turn":3}\n\nevent: done\ndata: [DONE]\n\n'), 40);
    });
    const r = await run(
      {
        requests: [
          {
            name: 'chat',
            steps: [
              { name: 'open', method: 'POST', path: '/conv', capture: { conv: 'json:$.id' } },
              {
                name: 'answer',
                method: 'POST',
                path: '/conv/{{conv}}/messages',
                body: '{"content":"hi"}',
                stream: 'sse',
                streamEnd: '[DONE]',
                capture: { turn: 'regex:"turn":(\\d+)' },
                expect: { bodyContains: '"lo"' },
              },
              { name: 'again', path: '/conv/{{conv}}/turn/{{turn}}' },
            ],
          },
        ],
      },
      url,
      tempDir(),
      4,
      500,
    );
    const a = r.profiles['chat.answer']!;
    expect(a.ok).toBe(2);
    expect(a.stream).toMatchObject({ completed: 2, cut: 0 });
    expect(a.stream!.firstEventMs!.p50).toBeLessThan(a.latencyMs!.p50);
    expect(a.stream!.gapMs!.p50).toBeGreaterThanOrEqual(30);
    expect(r.profiles['chat.again']!.ok).toBe(2);
    expect(r.sessions!.flows.chat!.completed).toBe(2);
  });
});
