/**
 * The dashboard's own cost, alone in a process: the real dashboard server (src/dashboard) hears a
 * real run's events replayed from its results.json — one `second` (the live view) and one
 * `secondFinal` (the finished second, histograms included) per second of the load, as the runner
 * emits them — while `clients` pages follow /events from another process. Prints the CPU this
 * process spent from the first event to the last (its idle timers are all it does besides), per
 * second of the run replayed. Started pinned to the generator core by bench/observability.ts.
 */
import { readFileSync } from 'node:fs';
import { startDashboard } from '../../src/dashboard/server.ts';
import type { SecondStats } from '../../src/metrics/store.ts';
import type { Progress, RunHandle } from '../../src/run.ts';
import { GuardedEmitter, type RunEvents } from '../../src/run/events.ts';

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
const r = JSON.parse(readFileSync(args.resultsFile, 'utf8')) as { runId: string; timeline: SecondStats[] };
const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

const run = new GuardedEmitter<RunEvents>(() => {}) as unknown as RunHandle;
Object.assign(run, {
  runId: r.runId,
  scenario: { spec: { name: 'observability-bench', description: 'replayed' } },
});
const d = args.dashboard ? await startDashboard({ port: args.port }) : null;
d?.attach(run);
const deadline = Date.now() + 30_000;
while (d && d.clients < args.clients && Date.now() < deadline) await sleep(50);
const pages = d?.clients ?? 0;

let sent = 0;
let failed = 0;
const c0 = process.cpuUsage();
for (const s of r.timeline) {
  sent += s.achieved;
  failed += s.failed;
  const p: Progress = {
    elapsedMs: (s.t + 1) * 1000,
    durationMs: r.timeline.length * 1000,
    second: s.t,
    requestedRate: s.requested,
    achievedRate: s.achieved,
    ok: s.ok,
    failed: s.failed,
    dropped: s.dropped,
    p99Ms: s.latencyMs?.p99 ?? null,
    latencyMs: s.latencyMs,
    outstanding: s.inflightMax,
    errors: s.errors,
    totalSent: sent,
    totalFailed: failed,
    activeFaults: s.activeFaults,
    saturated: s.generator?.saturated ?? false,
  };
  run.emit('second', p);
  run.emit('secondFinal', s, null);
  await sleep(args.everyMs);
}
const c = process.cpuUsage(c0);
const cpuMs = (c.user + c.system) / 1000;
const out: ReplayResult = {
  seconds: r.timeline.length,
  cpuMs,
  cpuMsPerSecond: cpuMs / r.timeline.length,
  pages,
};
await d?.stop();
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
process.exit(0);
