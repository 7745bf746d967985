/**
 * A loopback HTTP target for the benches (started by bench/lib/targets.ts, pinned to its core).
 *   ok:    answers 200 "ok" at once.
 *   stall: like ok, but a request arriving in the last second of every 10 s of wall clock
 *          (Date.now() % 10000 >= 9000) is answered only when that second ends.
 * It exits by itself after 15 minutes whatever happens, and on SIGTERM/SIGINT.
 */
import { createServer } from 'node:http';

const { port, mode } = JSON.parse(process.env.BENCH_ARGS ?? '{}') as { port: number; mode: 'ok' | 'stall' };
const PERIOD = 10_000;
const STALL = 1_000;

const server = createServer((req, res) => {
  const answer = () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '3' });
    res.end('ok\n');
  };
  req.resume();
  if (mode !== 'stall') return answer();
  const now = Date.now();
  const phase = now % PERIOD;
  if (phase < PERIOD - STALL) return answer();
  setTimeout(answer, PERIOD - phase);
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.listen(port, '127.0.0.1');

const bye = () => {
  server.closeAllConnections();
  server.close();
  process.exit(0);
};
process.on('SIGTERM', bye);
process.on('SIGINT', bye);
setTimeout(bye, 15 * 60_000).unref();
