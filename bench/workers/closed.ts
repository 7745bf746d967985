/**
 * Runs a real `chaos run` (src/run.ts runScenario) of the closed model in this process: `users`
 * virtual users, each looping one request and `thinkMs` of think time, held for `durationS`; samples
 * process.memoryUsage() once a second and returns the run's sessions timeline (active users per
 * second against the pattern's count) beside the samples.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../../src/run.ts';
import { loadScenario } from '../../src/input/load.ts';
import type { RunResult } from '../../src/result.ts';
import type { MemorySample } from './memory.ts';

export interface ClosedArgs {
  url: string;
  users: number;
  thinkMs: number;
  durationS: number;
  connections: number;
}

export interface ClosedResult {
  samples: MemorySample[];
  status: string;
  sent: number;
  ok: number;
  failed: number;
  dropped: number;
  p99Ms: number | null;
  sessions: NonNullable<RunResult['sessions']>['timeline'];
  requestedBySecond: number[];
  warnings: string[];
}

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as ClosedArgs;
const dir = mkdtempSync(join(tmpdir(), 'chaoskit-bench-closed-'));
const envFile = join(dir, 'env.yaml');
const scenarioFile = join(dir, 'closed-bench.yaml');
writeFileSync(envFile, `name: bench\ntargets:\n  bench:\n    kind: http\n    url: ${args.url}\n`);
writeFileSync(
  scenarioFile,
  `name: closed-bench
environment: ${envFile}
seed: 1
load:
  target: bench
  model: closed
  connections: ${args.connections}
  users: [{ kind: constant, name: hold, users: ${args.users}, duration: ${args.durationS}s }]
  requests:
    - name: user
      steps:
        - { name: page, path: /page }
        - think: ${args.thinkMs}ms
`,
);

const samples: MemorySample[] = [];
const t0 = performance.now();
const sample = () => {
  const m = process.memoryUsage();
  samples.push({
    t: (performance.now() - t0) / 1000,
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  });
};
sample();
const sampler = setInterval(sample, 1000);
try {
  const handle = runScenario(loadScenario(scenarioFile), { seed: 1, hostSamples: false });
  const guard = setTimeout(() => handle.abort('bench deadline'), (args.durationS + 60) * 1000);
  const r = await handle.result;
  clearTimeout(guard);
  sample();
  const out: ClosedResult = {
    samples,
    status: r.status,
    sent: r.totals.sent,
    ok: r.totals.ok,
    failed: r.totals.failed,
    dropped: r.totals.dropped,
    p99Ms: r.totals.latencyMs?.p99 ?? null,
    sessions: r.sessions?.timeline ?? [],
    requestedBySecond: r.timeline.map((s) => s.requested),
    warnings: r.warnings,
  };
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
} finally {
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
}
setTimeout(() => process.exit(0), 200).unref();
