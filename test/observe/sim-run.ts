/**
 * A run in simulated time for the observability tests: the real runner, scheduler, store and
 * fault runner against a simulated target (test/helpers/sim-engine.ts), so exporters hear the
 * real event sequence of a 10–30 s run in milliseconds.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runScenario, type RunHandle, type RunOptions } from '../../src/run.ts';
import type { RunResult } from '../../src/result.ts';
import { loadScenario } from '../../src/input/load.ts';
import { tempDir } from '../helpers/files.ts';
import { SimClock } from '../helpers/sim-clock.ts';
import { simEngine, simFaults, type TargetModel } from '../helpers/sim-engine.ts';

export const SIM_SCENARIO = `load:
  target: api
  timeout: 2s
  pattern:
    - { kind: constant, rate: 50, duration: 4s }
    - { name: surge, kind: constant, rate: 100, duration: 4s }
    - { kind: constant, rate: 50, duration: 4s }
faults:
  - { type: partition, target: api->dependency, at: 4s, duration: 3s }
`;

/** 10 ms answers; 30% of the requests fail with a 503 (and some time out) while a fault is on. */
export function flakyModel(): TargetModel {
  let faulty = false;
  let n = 0;
  return {
    fate: () => {
      n++;
      if (!faulty) return { latencyMs: 10 + (n % 7) };
      if (n % 10 < 2) return { latencyMs: 40, status: 503 };
      if (n % 10 === 2) return 'hang';
      return { latencyMs: 120 + (n % 13) };
    },
    onFault: (_id, active) => (faulty = active),
  };
}

export function scenarioFile(body = SIM_SCENARIO): string {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'env.yaml'),
    `targets:
  api: { kind: http, url: "http://127.0.0.1:9", health: /health }
  api->dependency: { kind: proxy, proxy: dependency, api: "http://127.0.0.1:9" }
`,
  );
  writeFileSync(
    join(dir, 'slo.yaml'),
    'services:\n  api:\n    availability: 99%\n    latency: { p99: 500ms }\n',
  );
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `name: sim-observe\nenvironment: ./env.yaml\nslo: slo.yaml\nseed: 7\n${body}`,
  );
  return join(dir, 'scenario.yaml');
}

/**
 * Starts a simulated run, lets `attach` listen before it begins, then drives the clock to the end.
 * `during(clock, run)` runs alongside (e.g. to look at exporters mid-run).
 */
export async function simRun(
  attach: (run: RunHandle) => void,
  o: {
    body?: string;
    model?: TargetModel;
    opts?: RunOptions;
    during?: (clock: SimClock, run: RunHandle) => Promise<void>;
  } = {},
): Promise<{ result: RunResult; run: RunHandle; clock: SimClock }> {
  const clock = new SimClock(Date.now());
  const model = o.model ?? flakyModel();
  const sim = simEngine(model);
  const drivers = simFaults(model, clock, () => sim.load().now());
  const run = runScenario(loadScenario(scenarioFile(o.body)), {
    clock,
    createEngine: sim.create,
    faultDrivers: drivers as unknown as RunOptions['faultDrivers'],
    guard: false,
    hostSamples: false,
    stateDir: tempDir('chaoskit-state-'),
    ...o.opts,
  });
  attach(run);
  const during = o.during?.(clock, run);
  const result = await clock.runUntil(run.result, 120_000);
  await during;
  await run.closed;
  return { result, run, clock };
}
