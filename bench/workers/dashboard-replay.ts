/**
 * The dashboard's own cost, alone in a process: the real dashboard server (src/dashboard) hears a
 * real run's events replayed from its results.json — one `second` (the live view) and one
 * `secondFinal` (the finished second, histograms included) per second of the load, as the runner
 * emits them — while `clients` pages follow /events from another process. Prints the CPU this
 * process spent from the first event to the last (its idle timers are all it does besides), per
 * second of the run replayed. Started pinned to the generator core by bench/observability.ts.
 */
import { startDashboard } from '../../src/dashboard/server.ts';
import { loadReplay } from '../lib/replay.ts';

export interface ReplayArgs {
  port: number;
  clients: number;
  resultsFile: string;
  /** Milliseconds between two replayed seconds (real time: each second's writes stay apart). */
  everyMs: number;
  /** false: the same replay with no dashboard (the control: what the replay itself costs). */
  dashboard: boolean;
}

export interface ReplayResult {
  seconds: number;
  cpuMs: number;
  cpuMsPerSecond: number;
  pages: number;
}

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as ReplayArgs;
const replay = loadReplay(args.resultsFile);
const run = replay.run;
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

const d = args.dashboard ? await startDashboard({ port: args.port }) : null;
d?.attach(run);
const deadline = Date.now() + 30_000;
while (d && d.clients < args.clients && Date.now() < deadline) await sleep(50);
const pages = d?.clients ?? 0;

const c0 = process.cpuUsage();
const seconds = replay.timeline.length;
for (const s of replay.timeline) {
  replay.emitSecond(s, s.t, seconds);
  await sleep(args.everyMs);
}
const c = process.cpuUsage(c0);
const cpuMs = (c.user + c.system) / 1000;
const out: ReplayResult = {
  seconds,
  cpuMs,
  cpuMsPerSecond: cpuMs / seconds,
  pages,
};
await d?.stop();
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
process.exit(0);
