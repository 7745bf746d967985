/** The tests' free-port helper (test/helpers/ports.ts): never the same port twice in a process. */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, freePorts } from './helpers/ports.ts';

describe('freePort / freePorts', () => {
  it('hands out distinct ports, one after another and several at once, each one free to listen on', async () => {
    const one: number[] = [];
    for (let i = 0; i < 100; i++) one.push(await freePort());
    const many = await freePorts(20);
    const all = [...one, ...many];
    expect(new Set(all).size).toBe(all.length);
    for (const port of many) {
      const s = net.createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});
