/**
 * Reference ceiling, not a peer: undici's Pool.dispatch() in a closed loop (each connection sends
 * its next request as soon as the last one completes), one small handler object per request and
 * no promise — the shape DESIGN.md asks of the engine's hot path, with none of its bookkeeping.
 * Counts responses that end inside [window[0], window[1]) ms.
 */
import { Pool, type Dispatcher } from 'undici';

interface Args {
  url: string;
  connections: number;
  durationMs: number;
  window: [number, number];
}

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as Args;
const url = new URL(args.url);
const pool = new Pool(url.origin, { connections: args.connections, pipelining: 1, keepAliveTimeout: 10_000 });
const opts: Dispatcher.DispatchOptions = { origin: url.origin, method: 'GET', path: '/', headers: {} };
const t0 = performance.now();
let stopping = false;
let inflight = 0;
let windowCompleted = 0;
let errors = 0;

class Handler {
  constructor(readonly startMs: number) {}
  onConnect(): void {}
  onHeaders(): boolean {
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    done(false);
  }
  onError(): void {
    done(true);
  }
}

function send(): void {
  inflight++;
  pool.dispatch(opts, new Handler(performance.now() - t0) as unknown as Dispatcher.DispatchHandler);
}

function done(err: boolean): void {
  inflight--;
  const t = performance.now() - t0;
  if (err) errors++;
  else if (t >= args.window[0] && t < args.window[1]) windowCompleted++;
  if (!stopping) send();
  else if (inflight === 0) finish();
}

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  process.stdout.write(
    `RESULT ${JSON.stringify({ windowMs: args.window[1] - args.window[0], windowCompleted, errors })}\n`,
  );
  void pool.destroy().catch(() => {});
  setTimeout(() => process.exit(0), 200).unref();
}

for (let i = 0; i < args.connections; i++) send();
setTimeout(() => {
  stopping = true;
  setTimeout(finish, 2000).unref();
}, args.durationMs);
