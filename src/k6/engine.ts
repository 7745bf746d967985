/**
 * `engine: k6` (or `chaos run --engine k6`): the scenario's load is run by a k6 binary that the
 * user installed (k6 is AGPL: chaoskit never bundles, downloads or builds it). chaoskit writes
 * the script (`chaos export k6`), runs `k6 run --out json=…`, applies and reverts the faults on
 * its own clock meanwhile, and turns k6's NDJSON into the same per-second timeline, so scoring
 * and reports work unchanged. k6 reports nothing until it ends: stop conditions and the live view
 * see no requests during a k6 run (the result says so).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { InputError } from '../core/errors.ts';
import type { LoadEngine } from '../load/engine.ts';
import type { LoadOutcome } from '../load/open-model.ts';
import type { MetricsStore } from '../metrics/store.ts';
import type { Scenario } from '../input/load.ts';
import type { RunPlan } from '../scenario/plan.ts';
import { exportK6 } from './export.ts';
import { parseK6NdjsonFile } from './ndjson.ts';

/** Fails before anything runs when there is no k6 to run. */
export function k6Preflight(env: NodeJS.ProcessEnv = process.env): string {
  const bin = env.CHAOSKIT_K6 ?? 'k6';
  const r = spawnSync(bin, ['version'], { encoding: 'utf8', env });
  if (r.error || r.status !== 0) {
    throw new InputError(
      `engine k6 needs a k6 binary on PATH (looked for ${JSON.stringify(bin)}: ${r.error ? (r.error as NodeJS.ErrnoException).code : `exit ${r.status}`}). ` +
        'k6 is AGPL-licensed, so chaoskit does not ship or download it: install it yourself (https://k6.io), or use the default http engine.',
    );
  }
  return bin;
}

export class K6Load implements LoadEngine {
  private t0 = 0;
  private child: ChildProcess | null = null;
  private stopped = false;
  private over = false;
  private readonly notes: string[] = [
    'engine k6: requests are known only when k6 ends, so stop conditions and live progress saw none during the run, and requests are not tagged with the faults active when sent',
  ];

  constructor(
    private readonly o: {
      bin: string;
      scenario: Scenario;
      plan: RunPlan;
      baseUrl: string;
      store: MetricsStore;
      clock: Clock;
      log: (l: string) => void;
    },
  ) {}

  now(): number {
    return this.o.clock.now() - this.t0;
  }

  get arrivalsThroughMs(): number {
    return this.over ? Number.POSITIVE_INFINITY : 0;
  }

  warmUp(): Promise<null> {
    return Promise.resolve(null);
  }

  outstanding(): void {}

  warnings(): string[] {
    return this.notes;
  }

  /** k6 timestamps completions and may run past the plan. */
  timelineMs(_planMs: number, ranMs: number): number {
    return ranMs;
  }

  extras(): ReturnType<LoadEngine['extras']> {
    return {};
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill('SIGINT'); // k6 stops gracefully on SIGINT and still writes its output
    setTimeout(() => this.child?.kill('SIGKILL'), 5_000).unref();
  }

  async start(): Promise<LoadOutcome> {
    const dir = mkdtempSync(join(tmpdir(), 'chaoskit-k6-'));
    const script = join(dir, `${this.o.scenario.spec.name}.k6.ts`);
    const out = join(dir, 'k6.ndjson');
    writeFileSync(script, exportK6(this.o.scenario, this.o.plan));
    this.t0 = this.o.clock.now();
    const child = spawn(
      this.o.bin,
      ['run', '--quiet', '--out', `json=${out}`, '-e', `BASE_URL=${this.o.baseUrl}`, script],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.child = child;
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    // k6 exits 99 when its own thresholds fail: that is for the SLO scoring to judge, not an error.
    if (code !== 0 && code !== 99 && !this.stopped) {
      this.o.log(`k6 exited with code ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (!existsSync(out)) {
      throw new InputError(
        `k6 wrote no output to ${out} (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    const parsed = await parseK6NdjsonFile(out, this.o.store);
    this.notes.push(...parsed.warnings);
    this.over = true;
    const sent = this.o.store.timeline(parsed.seconds).reduce((n, s) => n + s.sent, 0);
    return {
      ended: this.stopped ? 'stopped' : 'completed',
      durationMs: Math.max(this.now(), parsed.seconds * 1000),
      sent,
      completed: sent,
      dropped: 0,
      cancelled: 0,
      notSent: 0,
    };
  }
}
