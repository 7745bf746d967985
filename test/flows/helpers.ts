/** Runs scenarios with flows in simulated time against a FlowTarget (test/flows/sim-flows.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { RunResult } from '../../src/result.ts';
import { runScenario, type RunOptions } from '../../src/run.ts';
import { loadScenario } from '../../src/input/load.ts';
import { expectAccounting } from '../helpers/accounting.ts';
import { tempDir } from '../helpers/files.ts';
import { SimClock } from '../helpers/sim-clock.ts';
import { simFaults, type TargetModel } from '../helpers/sim-engine.ts';
import { simFlowEngine, type FlowTarget, type SimFlowLoad } from './sim-flows.ts';

export const FLOW_SLO = `services:
  api:
    availability: 99%
    latency: { p99: 500ms }
    recovery: 5s
    holdFor: 2s
`;

/** Writes a scenario (name, environment and SLO added) and any extra files beside it. */
export function flowScenario(body: string, files: Record<string, string> = {}, slo = FLOW_SLO): string {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'env.yaml'),
    `targets:
  api: { kind: http, url: "http://127.0.0.1:9", health: /health }
  api->dependency: { kind: proxy, proxy: dependency, api: "http://127.0.0.1:9" }
`,
  );
  writeFileSync(join(dir, 'slo.yaml'), slo);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `name: flows\nenvironment: ./env.yaml\nslo: slo.yaml\nseed: 1\n${body}`,
  );
  return join(dir, 'scenario.yaml');
}

export interface FlowRun {
  result: RunResult;
  load: SimFlowLoad;
  clock: SimClock;
}

/** Runs in simulated time; every result is checked for exact accounting, per second and per profile. */
export async function runFlows(
  body: string,
  target: FlowTarget,
  o: {
    files?: Record<string, string>;
    slo?: string;
    abortAtMs?: number;
    maxMs?: number;
    keepSeen?: boolean;
    opts?: RunOptions;
    /** Fault windows flip this model (simulated drivers). */
    faults?: TargetModel;
  } = {},
): Promise<FlowRun> {
  const clock = new SimClock();
  const sim = simFlowEngine(target, o.keepSeen ?? true);
  const model: TargetModel = o.faults ?? { fate: () => ({ latencyMs: 1 }) };
  const drivers = simFaults(model, clock, () => sim.load().now());
  const run = runScenario(loadScenario(flowScenario(body, o.files, o.slo)), {
    clock,
    createEngine: sim.create,
    faultDrivers: drivers as unknown as RunOptions['faultDrivers'],
    guard: false,
    hostSamples: false,
    stateDir: tempDir('chaoskit-state-'),
    ...o.opts,
  });
  if (o.abortAtMs !== undefined) clock.setTimeout(() => run.abort('test abort'), o.abortAtMs);
  const result = await clock.runUntil(run.result, o.maxMs ?? 300_000, 100);
  await run.closed;
  expectAccounting(result);
  expectProfileAccounting(result);
  return { result, load: sim.load(), clock };
}

/** Per profile: requested = sent + dropped + notSent and sent = ok + failed + cancelled; they sum to the totals. */
export function expectProfileAccounting(r: RunResult): void {
  const ps = Object.entries(r.profiles ?? {});
  if (ps.length === 0) return;
  let requested = 0;
  let sent = 0;
  for (const [name, p] of ps) {
    expect(p.requested, `${name}: requested = sent + dropped + notSent`).toBe(
      p.sent + (p.dropped ?? 0) + (p.notSent ?? 0),
    );
    expect(p.sent, `${name}: sent = ok + failed + cancelled`).toBe(p.ok + p.failed + (p.cancelled ?? 0));
    requested += p.requested ?? 0;
    sent += p.sent;
  }
  expect(requested, 'profiles add up to the totals (requested)').toBe(r.totals.requested);
  expect(sent, 'profiles add up to the totals (sent)').toBe(r.totals.sent);
}
