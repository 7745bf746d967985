/**
 * Runs a real `chaos run` in this process (src/run.ts runScenario, from scenario and environment
 * files written to a temp dir) at a constant rate, and samples process.memoryUsage() once a
 * second. Only the runner, the engine and this sampler live in the process, so RSS is theirs.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runScenario } from '../../src/run.ts';
import { loadScenario } from '../../src/input/load.ts';

export interface MemoryArgs {
  url: string;
  rate: number;
  durationS: number;
  connections: number;
}

export interface MemorySample {
  t: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

export interface MemoryResult {
  samples: MemorySample[];
  status: string;
  sent: number;
  ok: number;
  failed: number;
  dropped: number;
  p99Ms: number | null;
  warnings: string[];
}

const args = JSON.parse(process.env.BENCH_ARGS ?? '{}') as MemoryArgs;
const dir = mkdtempSync(join(tmpdir(), 'chaoskit-bench-mem-'));
const envFile = join(dir, 'env.yaml');
const scenarioFile = join(dir, 'memory-bench.yaml');
writeFileSync(envFile, `name: bench\ntargets:\n  bench:\n    kind: http\n    url: ${args.url}\n`);
writeFileSync(
  scenarioFile,
  `name: memory-bench
environment: ${envFile}
seed: 1
load:
  target: bench
  connections: ${args.connections}
  pattern:
    - { kind: constant, rate: ${args.rate}, duration: ${args.durationS}s }
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
  const handle = runScenario(loadScenario(scenarioFile), { seed: 1 });
  // Bounded: abort 30 s past the planned end whatever happens.
  const guard = setTimeout(() => handle.abort('bench deadline'), (args.durationS + 30) * 1000);
  const r = await handle.result;
  clearTimeout(guard);
  sample();
  const out: MemoryResult = {
    samples,
    status: r.status,
    sent: r.totals.sent,
    ok: r.totals.ok,
    failed: r.totals.failed,
    dropped: r.totals.dropped,
    p99Ms: r.totals.latencyMs?.p99 ?? null,
    warnings: r.warnings,
  };
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
} finally {
  clearInterval(sampler);
  rmSync(dir, { recursive: true, force: true });
}
setTimeout(() => process.exit(0), 200).unref();
