/** The demo's session API, uploads and login-protected routes, on loopback. */
import { afterEach, describe, expect, it } from 'vitest';
import { startApi } from '../../src/demo/api.ts';
import { startDependency } from '../../src/demo/dependency.ts';
import { startInference, type InferenceService } from '../../src/demo/inference.ts';
import { freePort } from '../helpers/cli.ts';

let closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.map((c) => c()));
  closers = [];
});

async function inference(): Promise<InferenceService> {
  const svc = await startInference({
    grpcPort: 0,
    httpPort: 0,
    slots: 4,
    maxQueue: 64,
    prefillMs: 5,
    tokenDelayMs: 1,
    defaultTokens: 4,
  });
  closers.push(() => svc.close());
  return svc;
}

/** Sends a message and returns the answer's time to first event (ms) and its text. */
async function say(
  base: string,
  id: string,
  content: string,
): Promise<{ firstMs: number; text: string; status: number }> {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/conversations/${id}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ content, max_tokens: 3 }),
    signal: AbortSignal.timeout(10_000),
  });
  const reader = r.body!.getReader();
  let text = '';
  let firstMs = -1;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (firstMs < 0) firstMs = performance.now() - t0;
    text += Buffer.from(value).toString();
  }
  return { firstMs, text, status: r.status };
}

describe('demo inference: conversations and uploads', () => {
  it('a conversation grows its context turn by turn, so later turns take longer to start answering', async () => {
    const svc = await inference();
    const created = await fetch(`${svc.httpUrl}/v1/conversations`, { method: 'POST' });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const long = 'x'.repeat(2000); // ~500 tokens of context per turn, 0.5 ms each for the next prefill
    const first = await say(svc.httpUrl, id, long);
    expect(first.status).toBe(200);
    expect(first.text).toContain('data: [DONE]');
    expect(first.text).toContain('"turn":1');
    await say(svc.httpUrl, id, long);
    const third = await say(svc.httpUrl, id, long);
    expect(third.text).toContain('"turn":3');
    // Turn 3 prefills ~1,000 tokens of context: about 500 ms more than turn 1.
    expect(third.firstMs - first.firstMs).toBeGreaterThan(300);
    const state = (await (await fetch(`${svc.httpUrl}/v1/conversations/${id}`)).json()) as {
      turns: number;
      contextTokens: number;
    };
    expect(state.turns).toBe(3);
    expect(state.contextTokens).toBeGreaterThan(1500);
    expect((await fetch(`${svc.httpUrl}/v1/conversations/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await say(svc.httpUrl, id, 'hi')).status).toBe(404);
  });

  it('uploads cost time with their size (image and audio, multipart)', async () => {
    const svc = await inference();
    const send = async (path: string, field: string, bytes: number) => {
      const form = new FormData();
      form.set(field, new Blob([new Uint8Array(bytes)], { type: 'application/octet-stream' }), 'x.bin');
      const t0 = performance.now();
      const r = await fetch(`${svc.httpUrl}${path}`, { method: 'POST', body: form });
      return {
        ms: performance.now() - t0,
        status: r.status,
        body: (await r.json()) as Record<string, unknown>,
      };
    };
    const small = await send('/v1/vision', 'image', 1024);
    const big = await send('/v1/vision', 'image', 2 << 20); // 2 MiB: ~410 ms at 0.2 ms/KiB
    expect(small.status).toBe(200);
    expect(big.body).toMatchObject({ bytes: 2 << 20 });
    expect(big.ms - small.ms).toBeGreaterThan(250);
    const audio = await send('/v1/speech', 'audio', 4096);
    expect(audio.body).toMatchObject({ bytes: 4096, transcript: expect.any(String) });
    const wrongField = await send('/v1/speech', 'image', 10);
    expect(wrongField.status).toBe(400);
    const notMultipart = await fetch(`${svc.httpUrl}/v1/vision`, { method: 'POST', body: 'raw' });
    expect(notMultipart.status).toBe(415);
  });
});

describe('demo api: login-protected routes', () => {
  it('gives a token on POST /login; /account works without the dependency, /account/items needs it', async () => {
    const depPort = await freePort();
    const dep = await startDependency({ port: depPort, workMs: 0 });
    const api = await startApi({ port: 0, dependencyUrl: `http://127.0.0.1:${depPort}`, timeoutMs: 500 });
    closers.push(() => new Promise<void>((r) => api.close(() => r())));
    let depUp = true;
    const closeDep = () =>
      new Promise<void>((r) => {
        if (!depUp) return r();
        depUp = false;
        dep.closeAllConnections();
        dep.close(() => r());
      });
    closers.push(closeDep);
    const base = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
    const login = await fetch(`${base}/login`, {
      method: 'POST',
      body: JSON.stringify({ user: 'ada', password: 'pw' }),
    });
    const { token } = (await login.json()) as { token: string };
    expect(token).toMatch(/^[0-9a-f]{24}$/);
    const auth = { authorization: `Bearer ${token}` };
    expect(
      ((await (await fetch(`${base}/account`, { headers: auth })).json()) as { user: string }).user,
    ).toBe('ada');
    expect((await fetch(`${base}/account/items/7`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/account`)).status).toBe(401);
    expect((await fetch(`${base}/account`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect(
      (await fetch(`${base}/login`, { method: 'POST', body: '{"user":"x","password":""}' })).status,
    ).toBe(401);
    await closeDep();
    expect((await fetch(`${base}/account`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/account/items/7`, { headers: auth })).status).toBe(503);
    expect((await fetch(`${base}/logout`, { method: 'POST', headers: auth })).status).toBe(204);
    expect((await fetch(`${base}/account`, { headers: auth })).status).toBe(401);
  });
});
