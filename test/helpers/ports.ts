/**
 * Free loopback ports for tests. A port is found by listening on port 0 and closing; the kernel may
 * hand the same port out again on the next try, so a port already given out in this process is
 * never given again (two of a test's servers on one port fail as "address in use").
 */
import net from 'node:net';

const given = new Set<number>();

async function listening(): Promise<net.Server> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => resolve());
  });
  return s;
}

/** `n` distinct ports nothing listens on right now, none given out before in this process. */
export async function freePorts(n: number): Promise<number[]> {
  const held: net.Server[] = [];
  const ports: number[] = [];
  try {
    // Bounded: at most 10 tries per port asked for.
    for (let tries = 0; ports.length < n && tries < 10 * n; tries++) {
      const s = await listening();
      held.push(s); // held open until all are chosen, so none repeats within this call
      const port = (s.address() as net.AddressInfo).port;
      if (!given.has(port)) ports.push(port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
  if (ports.length < n) throw new Error(`freePorts: found ${ports.length} of ${n} unused ports`);
  for (const p of ports) given.add(p);
  return ports;
}

/** A port nothing listens on right now, not given out before in this process. */
export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}
