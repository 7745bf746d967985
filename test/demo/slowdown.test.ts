/** CHAOSKIT_DEMO_SLOWDOWN: the demo api answers that many times slower (docs/ci.md "Planting a slowdown"). */
import type http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { demoSlowdown, startApi } from '../../src/demo/api.ts';
import { startDependency } from '../../src/demo/dependency.ts';
import { InputError } from '../../src/core/errors.ts';
import { freePort } from '../helpers/cli.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

describe('demoSlowdown', () => {
  it('reads a factor of 1 to 100; unset or empty is 1', () => {
    expect(demoSlowdown({})).toBe(1);
    expect(demoSlowdown({ CHAOSKIT_DEMO_SLOWDOWN: '' })).toBe(1);
    expect(demoSlowdown({ CHAOSKIT_DEMO_SLOWDOWN: '2' })).toBe(2);
    expect(demoSlowdown({ CHAOSKIT_DEMO_SLOWDOWN: '1.5' })).toBe(1.5);
  });

  it.each(['0.5', 'twice', '-2', '1000'])('%s is invalid input, said plainly', (v) => {
    expect(() => demoSlowdown({ CHAOSKIT_DEMO_SLOWDOWN: v })).toThrow(InputError);
    expect(() => demoSlowdown({ CHAOSKIT_DEMO_SLOWDOWN: v })).toThrow(
      `CHAOSKIT_DEMO_SLOWDOWN must be a factor from 1 to 100 (2 answers twice as slowly), got "${v}"`,
    );
  });
});

describe('the demo api with a planted slowdown', { timeout: 30_000 }, () => {
  /** Median time of 15 sequential GETs through the api to a dependency that takes 50 ms. */
  async function medianMs(slowdown: number): Promise<number> {
    const depPort = await freePort();
    servers.push(await startDependency({ port: depPort, workMs: 50 }));
    const port = await freePort();
    servers.push(
      await startApi({ port, dependencyUrl: `http://127.0.0.1:${depPort}`, timeoutMs: 2000, slowdown }),
    );
    const times: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t0 = performance.now();
      const r = await fetch(`http://127.0.0.1:${port}/items/${i}`, { signal: AbortSignal.timeout(5000) });
      expect(r.status).toBe(200);
      await r.text();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[7]!;
  }

  it('a factor of 3 makes /items about 3 times slower; health checks stay fast', async () => {
    const plain = await medianMs(1);
    const slowed = await medianMs(3);
    expect(plain).toBeGreaterThanOrEqual(49);
    expect(slowed / plain).toBeGreaterThan(2);
    expect(slowed / plain).toBeLessThan(3.5);
    const port = await freePort();
    servers.push(await startApi({ port, dependencyUrl: 'http://127.0.0.1:9', timeoutMs: 500, slowdown: 50 }));
    const t0 = performance.now();
    const r = await fetch(`http://127.0.0.1:${port}/health`);
    expect(r.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
