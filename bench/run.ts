/**
 * `npm run bench` runs every benchmark; `npm run bench -- NAME [NAME...]` runs some.
 * `--short` (or BENCH_SHORT=1) runs shorter versions for a quick check; docs/benchmarks.md
 * records full-length runs. Results are printed as tables and written to out/bench/NAME.json.
 *
 * Traffic goes only to targets this process starts on 127.0.0.1; every child has a deadline and
 * is killed by PID when it overruns, on Ctrl-C, or on exit.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  awaitQuiet,
  BENCH_DIR,
  canPin,
  killAll,
  NICE,
  printReport,
  SHORT,
  startLoadMeter,
  type BenchReport,
} from './lib/common.ts';
import { builtins } from './builtins.ts';
import { closedModel } from './closed-model.ts';
import { coordinatedOmission } from './coordinated-omission.ts';
import { flows } from './flows.ts';
import { engineAb } from './engine-ab.ts';
import { grpc } from './grpc.ts';
import { memory } from './memory.ts';
import { observability } from './observability.ts';
import { proxy } from './proxy.ts';
import { rateAccuracy } from './rate-accuracy.ts';
import { stopLatency } from './stop-latency.ts';
import { throughput } from './throughput.ts';
import { workersScaling } from './workers-scaling.ts';

const BENCHES: Record<string, () => Promise<BenchReport>> = {
  throughput,
  'rate-accuracy': rateAccuracy,
  'coordinated-omission': coordinatedOmission,
  memory,
  proxy,
  grpc,
  'stop-latency': stopLatency,
  'engine-ab': engineAb,
  builtins,
  flows,
  'closed-model': closedModel,
  observability,
  'workers-scaling': workersScaling,
};

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const chosen = names.length > 0 ? names : Object.keys(BENCHES);

process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.on('SIGTERM', () => {
  killAll();
  process.exit(143);
});
process.on('exit', killAll);

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `chaoskit bench: ${chosen.join(', ')}${SHORT ? ' (SHORT: quick-check durations, not the documented figures)' : ''}`,
);
console.log(
  `machine: ${cpus().length} cores, ${cpu}, Node ${process.version}, ${canPin() ? 'pinned with taskset' : 'NOT pinned'}` +
    (NICE !== null ? `, generators and targets at nice ${NICE} (BENCH_NICE)` : ''),
);

// The CLI runs the built JavaScript, as it does after `npm ci`: build it when the sources changed.
const build = spawnSync(process.execPath, [join(BENCH_DIR, '..', 'scripts', 'build.mjs')], {
  stdio: 'inherit',
});
if (build.status !== 0) {
  console.error('bench: the build failed; the CLI would run the sources through tsx');
  process.exit(1);
}

const outDir = join(BENCH_DIR, '..', 'out', 'bench');
mkdirSync(outDir, { recursive: true });
let missed = 0;
let failed = 0;
for (const name of chosen) {
  const idleBusy = NICE !== null ? Number.NaN : await awaitQuiet(30_000);
  const started = Date.now();
  const meter = startLoadMeter();
  try {
    const report = await BENCHES[name]!();
    const other = meter.stop();
    if (other) {
      const noisy = other.foreignPctOfCore >= 10;
      report.notes.push(
        `other processes on this machine used ${other.foreignPctOfCore.toFixed(0)}% of a core on average during this bench` +
          (noisy ? ' — NOISY: figures are less trustworthy; rerun on a quiet machine' : '') +
          (idleBusy >= 15 ? ` (machine was ${idleBusy.toFixed(0)}% busy when it started)` : ''),
      );
      report.data.foreignCpuPctOfCore = other.foreignPctOfCore;
    }
    printReport(report);
    console.log(`   (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    if (report.rows.some((r) => r.verdict === 'MISS')) missed++;
    writeFileSync(
      join(outDir, `${name}.json`),
      JSON.stringify(
        {
          ...report,
          short: SHORT,
          nice: NICE,
          date: new Date().toISOString(),
          node: process.version,
          cpu,
          cores: cpus().length,
        },
        null,
        2,
      ),
    );
  } catch (err) {
    failed++;
    console.error(`\n== ${name}: FAILED: ${(err as Error).stack ?? String(err)}`);
  } finally {
    killAll();
  }
}
console.log(
  `\n${missed === 0 && failed === 0 ? 'all targets met' : `${missed} benchmark(s) missed a target, ${failed} failed to run`}`,
);
// A MISS is a result (exit 0): the numbers are the output. A benchmark that could not run is exit 1.
process.exitCode = failed > 0 ? 1 : 0;
