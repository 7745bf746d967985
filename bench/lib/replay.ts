/**
 * A finished run replayed to observers, for the "alone" measurements of bench/observability.ts
 * (bench/workers/dashboard-replay.ts, bench/workers/otlp-replay.ts): a run handle that emits
 * what the runner emits once a second, read back from the run's results.json.
 */
import { readFileSync } from 'node:fs';
import type { SecondStats } from '../../src/metrics/store.ts';
import type { Progress, RunHandle } from '../../src/run.ts';
import { GuardedEmitter, type RunEvents } from '../../src/run/events.ts';

export interface Replay {
  run: RunHandle;
  timeline: SecondStats[];
  /**
   * Emits recorded second `s` as second `second` of a `seconds`-long run: the live view
   * (`second`, with running totals) and the finished second (`secondFinal`, histograms included).
   */
  emitSecond(s: SecondStats, second: number, seconds: number): void;
}

export function loadReplay(resultsFile: string): Replay {
  const r = JSON.parse(readFileSync(resultsFile, 'utf8')) as { runId: string; timeline: SecondStats[] };
  const run = new GuardedEmitter<RunEvents>(() => {}) as unknown as RunHandle;
  Object.assign(run, {
    runId: r.runId,
    scenario: { spec: { name: 'observability-bench', description: 'replayed', engine: 'http' } },
  });
  let sent = 0;
  let failed = 0;
  return {
    run,
    timeline: r.timeline,
    emitSecond(s, second, seconds) {
      sent += s.achieved;
      failed += s.failed;
      const p: Progress = {
        elapsedMs: (second + 1) * 1000,
        durationMs: seconds * 1000,
        second,
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
      run.emit('secondFinal', s.t === second ? s : { ...s, t: second }, null);
    },
  };
}
