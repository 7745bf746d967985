/**
 * Runs HttpLoad in this process with either a flow of 3 requests (a body capture feeding a header,
 * 50 ms think between steps) at `sessions`/s, or the same 3 requests as independent arrivals at
 * 3 × `sessions`/s, and reports the process's own CPU over the load (after a warm-up second),
 * with what was sent. The runner's once-a-second ticker is imitated, as bench/workers/engine.ts does.
 */
import { realClock } from '../../src/core/clock.ts';
import { HttpLoad } from '../../src/load/http-engine.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { compileWorkload } from '../../src/load/workload.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import { loadSpec } from '../../src/scenario/schema.ts';

export interface FlowsArgs {
  url: string;
  mode: 'flow' | 'requests';
  sessions: number;
  durationMs: number;
  connections: number;
}

export interface FlowsResult {
  mode: FlowsArgs['mode'];
  /** CPU milliseconds of this process between 1 s into the load and its end. */
  cpuMs: number;
  measuredMs: number;
  requested: number;
  sent: number;
  ok: number;
  failed: number;
  dropped: number;
  sessions: { started: number; completed: number; failed: number; stopped: number } | null;
  latencyP99Ms: number | null;
}

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as FlowsArgs;
const requests =
  args.mode === 'flow'
    ? [
        {
          name: 'f',
          steps: [
            { name: 'a', path: '/a', capture: { word: 'regex:(o)k' } },
            { think: '50ms' },
            { name: 'b', path: '/b', headers: { 'x-word': '{{word}}' } },
            { think: '50ms' },
            { name: 'c', path: '/c' },
          ],
        },
      ]
    : [
        { name: 'a', path: '/a' },
        { name: 'b', path: '/b', headers: { 'x-word': 'o' } },
        { name: 'c', path: '/c' },
      ];
const rate = args.mode === 'flow' ? args.sessions : args.sessions * 3;
const spec = loadSpec.parse({
  target: 'bench',
  requests,
  pattern: [{ kind: 'constant', rate, duration: `${args.durationMs}ms` }],
});
const { workload, problems } = compileWorkload(spec, process.cwd());
if (problems.length) throw new Error(JSON.stringify(problems));
const store = new MetricsStore();
const load = new HttpLoad({
  url: args.url,
  workload,
  segment: segmentOf({ kind: 'constant', rate, duration: args.durationMs }),
  arrivals: 'even',
  connections: args.connections,
  maxBacklog: 100_000,
  timeoutMs: 5000,
  streamTimeoutMs: 5000,
  prng: createPrng(1).fork('requests'),
  store,
  clock: realClock,
  gracefulStopMs: 5000,
});
await load.warmUp();
const ticker = setInterval(() => {
  store.takeWindow();
  store.finalizeReady(load.arrivalsThroughMs);
}, 1000);
const hardStop = setTimeout(() => load.stop(), args.durationMs + 15_000);
let cpu0: NodeJS.CpuUsage | null = null;
let t1 = 0;
setTimeout(() => {
  cpu0 = process.cpuUsage();
  t1 = performance.now();
}, 1000);
await load.start();
const cpu = process.cpuUsage(cpu0 ?? undefined);
const measuredMs = performance.now() - t1;
clearInterval(ticker);
clearTimeout(hardStop);
const tl = store.timeline(Math.ceil(args.durationMs / 1000));
const sum = (k: 'requested' | 'sent' | 'ok' | 'failed' | 'dropped') => tl.reduce((n, s) => n + s[k], 0);
const flows = load.sessionsResult()?.flows.f;
const out: FlowsResult = {
  mode: args.mode,
  cpuMs: (cpu.user + cpu.system) / 1000,
  measuredMs,
  requested: sum('requested'),
  sent: sum('sent'),
  ok: sum('ok'),
  failed: sum('failed'),
  dropped: sum('dropped'),
  sessions: flows
    ? { started: flows.started, completed: flows.completed, failed: flows.failed, stopped: flows.stopped }
    : null,
  latencyP99Ms: store.totalLatency.totalCount ? store.totalLatency.getValueAtPercentile(99) / 1000 : null,
};
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
setTimeout(() => process.exit(0), 200).unref();
