/**
 * The coordinator's ScaleEngine in simulated time: the real runner, N real segment hosts with the
 * simulated target, JSON channels with a delay. Merge exactness against one process, failure
 * semantics (a segment killed or stalled), stop conditions and exposure on the merged data.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScenario, type RunOptions } from '../../src/run.ts';
import type { RunResult } from '../../src/result.ts';
import { loadScenario } from '../../src/input/load.ts';
import { scaleEngineDef } from '../../src/scale/setup.ts';
import type { RunnerLossPolicy } from '../../src/scale/engine.ts';
import { tempDir } from '../helpers/files.ts';
import { SimClock } from '../helpers/sim-clock.ts';
import { simEngine, simFaults, type TargetModel } from '../helpers/sim-engine.ts';
import { expectAccounting } from '../helpers/accounting.ts';
import { decode } from '../../src/core/hist.ts';
import { Arrivals } from '../../src/load/arrivals.ts';
import { segmentOf } from '../../src/scenario/patterns.ts';
import { createPrng } from '../../src/load/prng.ts';
import { simSegments, type SimSegments } from './sim.ts';

const SLO = `services:
  api:
    availability: 99%
    latency: { p99: 500ms }
    recovery: 5s
    holdFor: 2s
`;

function scenarioFile(body: string): string {
  const dir = tempDir();
  writeFileSync(
    join(dir, 'env.yaml'),
    `targets:
  api: { kind: http, url: "http://127.0.0.1:9", health: /health }
  api->dependency: { kind: proxy, proxy: dependency, api: "http://127.0.0.1:9" }
`,
  );
  writeFileSync(join(dir, 'slo.yaml'), SLO);
  writeFileSync(
    join(dir, 'scenario.yaml'),
    `name: sim\nenvironment: ./env.yaml\nslo: slo.yaml\nseed: 3\n${body}`,
  );
  return join(dir, 'scenario.yaml');
}

/** A deterministic target: latency depends on the send time only; a fault makes it fail. */
function target(): TargetModel & { faulty: boolean; picks: number[] } {
  const m = {
    faulty: false,
    picks: [0, 0],
    fate: (sentMs: number, profile: number) => {
      m.picks[profile]!++;
      return m.faulty
        ? { latencyMs: 3, status: 503 }
        : { latencyMs: 5 + ((Math.floor(sentMs) * 7 + profile * 13) % 41), status: 200 };
    },
    onFault: (_id: string, active: boolean) => {
      m.faulty = active;
    },
  };
  return m;
}

interface Run {
  result: RunResult;
  segs: SimSegments | null;
  /** Requests of the mix the target saw, by profile. */
  picks: number[];
}

async function run(
  body: string,
  n: number | null,
  o: {
    onLoss?: RunnerLossPolicy;
    during?: (clock: SimClock, segs: SimSegments | null) => void;
    delayMs?: number;
  } = {},
): Promise<Run> {
  const clock = new SimClock();
  const model = target();
  const scenario = loadScenario(scenarioFile(body));
  let now = () => 0;
  const drivers = simFaults(model, clock, () => now());
  const opts: RunOptions = {
    clock,
    faultDrivers: drivers as unknown as RunOptions['faultDrivers'],
    guard: false,
    hostSamples: false,
    stateDir: tempDir('chaoskit-state-'),
  };
  let segs: SimSegments | null = null;
  let abort = (_: string) => {};
  if (n === null) {
    const sim = simEngine(model);
    opts.createEngine = sim.create;
    now = () => sim.load().now();
  } else {
    segs = simSegments(n, model, clock, { delayMs: o.delayMs ?? 1 });
    const s = segs;
    const def = scaleEngineDef('http', {
      kind: 'runners',
      count: n,
      onLoss: o.onLoss ?? 'abort',
      seed: 3,
      timeScale: 1,
      force: false,
      links: async () => s.links,
      abortRun: (why) => abort(why),
      runId: () => 'sim',
      log: () => {},
    });
    const create = def.create;
    let made: ReturnType<typeof create> | null = null;
    def.create = (ctx) => (made = create(ctx));
    now = () => made?.now() ?? 0;
    opts.engineDef = def;
  }
  const handle = runScenario(scenario, opts);
  abort = (why) => handle.abort(why);
  o.during?.(clock, segs);
  const result = await clock.runUntil(handle.result, 200_000);
  await handle.closed;
  expectAccounting(result);
  return { result, segs, picks: model.picks };
}

/** Arrivals per second of segment i of n of a constant rate (even spacing). */
function segmentShare(rate: number, seconds: number, i: number, n: number): number[] {
  const a = new Arrivals(
    segmentOf({ kind: 'constant', rate, duration: seconds * 1000 }),
    'even',
    createPrng(1),
    {
      index: i,
      count: n,
    },
  );
  const out = new Array<number>(seconds).fill(0);
  for (let t = a.next(); Number.isFinite(t); t = a.next()) out[Math.floor(t / 1000)]!++;
  return out;
}

const perSecond = (r: RunResult, k: 'requested' | 'ok' | 'failed' | 'sent') => r.timeline.map((s) => s[k]);
const pct = (hist: string | null, p: number) => (hist ? decode(hist).getValueAtPercentile(p) : null);

const MIX = `load:
  target: api
  requests:
    - { name: read, weight: 3, path: /r }
    - { name: write, weight: 1, method: POST, path: /w }
  pattern:
    - { kind: ramp, from: 20, to: 180, duration: 4s }
    - { kind: constant, rate: 120, duration: 3s }
`;

describe('scale-out engine (simulated time)', () => {
  it('per-second requested, outcomes, profiles and latency histograms equal one process for N = 1, 2, 3', async () => {
    const single = await run(MIX, null);
    const one = single.result;
    expect(one.totals.requested).toBeGreaterThan(600);
    expect(single.picks[1]).toBeGreaterThan(100);
    for (const n of [1, 2, 3]) {
      const scaled = await run(MIX, n);
      const r = scaled.result;
      expect(perSecond(r, 'requested'), `N=${n}`).toEqual(perSecond(one, 'requested'));
      expect(perSecond(r, 'ok'), `N=${n}`).toEqual(perSecond(one, 'ok'));
      expect(r.totals.requested).toBe(one.totals.requested);
      // Picks are seeded per arrival: the same requests of the mix, whichever segment sent them.
      expect(scaled.picks).toEqual(single.picks);
      // HDR addition: merged percentiles are the single process's, second by second and in total.
      for (const [i, s] of r.timeline.entries()) {
        expect(pct(s.hist, 50), `N=${n} second ${i} p50`).toBe(pct(one.timeline[i]!.hist, 50));
        expect(pct(s.hist, 99), `N=${n} second ${i} p99`).toBe(pct(one.timeline[i]!.hist, 99));
      }
      // Percentiles are exact; an added histogram's max is its bucket's top (HDR precision, 0.1%).
      for (const k of ['latencyMs', 'serviceMs'] as const) {
        const { max, ...rest } = r.totals[k]!;
        const { max: max1, ...rest1 } = one.totals[k]!;
        expect(rest).toEqual(rest1);
        expect(Math.abs(max - max1) / max1).toBeLessThan(0.001);
      }
      expect(r.runners!.map((x) => x.state)).toEqual(Array(n).fill('completed'));
      expect(r.runners!.reduce((a, x) => a + x.secondsReceived, 0)).toBeGreaterThanOrEqual(7 * n);
      expect(r.verdict!.status).toBe(one.verdict!.status);
    }
  });

  it('poisson arrivals replay the same per-second requested whatever N is', async () => {
    const body = MIX.replace('target: api', 'target: api\n  arrivals: poisson');
    const one = await run(body, null);
    const three = await run(body, 3);
    expect(perSecond(three.result, 'requested')).toEqual(perSecond(one.result, 'requested'));
    expect(three.picks).toEqual(one.picks);
  });

  const FAULTY = `load:
  target: api
  pattern: [{ kind: constant, rate: 100, duration: 12s }]
faults:
  - { type: latency, target: api->dependency, at: 4s, duration: 3s, delay: 10ms }
`;

  it('fault windows reach every segment: phases by exposure match one process', async () => {
    const one = (await run(FAULTY, null, { delayMs: 0 })).result;
    const two = (await run(FAULTY, 2, { delayMs: 0 })).result;
    const phases = (r: RunResult) =>
      r.timeline.map((s) => [
        s.phases.baseline?.ok ?? 0,
        s.phases.fault?.failed ?? 0,
        s.phases.recovery?.ok ?? 0,
      ]);
    expect(one.timeline.some((s) => (s.phases.fault?.failed ?? 0) > 0)).toBe(true);
    expect(phases(two)).toEqual(phases(one));
    expect(two.faults[0]!.status).toBe('reverted');
  });

  it('stop conditions fire on the merged live view, as with one process', async () => {
    const body = `${FAULTY}abort:\n  - { when: error-rate > 50%, for: 2s }\n`;
    const one = (await run(body, null)).result;
    const three = (await run(body, 3)).result;
    expect(one.status).toBe('aborted');
    expect(three.status).toBe('aborted');
    expect(three.abort!.reason).toMatch(/stop condition: error-rate > 50%/);
    // Reports travel every 250 ms: the merged view may lag a report behind, never a second more.
    expect(Math.abs(three.abort!.atMs - one.abort!.atMs)).toBeLessThanOrEqual(1000);
    expect(three.faults[0]!.status).toBe('reverted');
  });

  it('a segment killed mid-run (continue): its unshipped share is dropped (stall), the rate was not delivered, verdict invalid', async () => {
    const one = (await run(FAULTY, null)).result;
    const { result: r, segs } = await run(FAULTY, 3, {
      onLoss: 'continue',
      during: (clock, s) => clock.setTimeout(() => s!.kill(1), 5_600),
    });
    expect(r.status).toBe('completed');
    // requested stays whole, second by second: the lost share is known exactly.
    expect(perSecond(r, 'requested')).toEqual(perSecond(one, 'requested'));
    const runner = r.runners!.find((x) => x.index === 1)!;
    expect(runner.state).toBe('lost');
    expect(runner.lostAtMs).toBeGreaterThan(5_000);
    expect(runner.lostAtMs).toBeLessThan(6_000);
    expect(r.runners!.filter((x) => x.state === 'completed')).toHaveLength(2);
    // From the second it died in, segment 1's exact share of every second is dropped as a stalled generator's.
    const share = segmentShare(100, 12, 1, 3);
    for (const s of r.timeline.slice(6)) expect(s.droppedStall).toBe(share[s.t]);
    for (const s of r.timeline.slice(0, 5)) expect(s.droppedStall).toBe(0);
    expect(r.warnings.some((w) => /runner 1 \(sim-1\) was lost at t=5\.\d+s.*not delivered/.test(w))).toBe(
      true,
    );
    expect(r.warnings.some((w) => /achieved rate differed/.test(w))).toBe(true);
    expect(r.verdict!.status).toBe('invalid');
    expect(r.faults[0]!.status).toBe('reverted');
    expect(segs!.ends.get(0)!.code).toBe(0);
  });

  it('a segment killed mid-run (abort, the default): the run aborts at once with every fault reverted', async () => {
    const { result: r, segs } = await run(FAULTY, 3, {
      during: (clock, s) => clock.setTimeout(() => s!.kill(2), 5_000),
    });
    expect(r.status).toBe('aborted');
    expect(r.abort!.reason).toMatch(
      /runner 2 \(sim-2\) lost at t=(4\.9|5\.0)\d*s: the connection closed \(--on-runner-loss abort\)/,
    );
    expect(r.abort!.atMs).toBeLessThan(5_200);
    expect(r.faults[0]!.status).toBe('reverted');
    expect(r.runners!.map((x) => x.state)).toEqual(['stopped', 'stopped', 'lost']);
    // The others were told to stop, shipped what they had and were ended.
    expect(segs!.ends.get(0)!.code).toBe(0);
    expect(segs!.ends.get(1)!.code).toBe(0);
  });

  it('a stalled segment is lost after 2 s of silence; when it wakes it finds its coordinator gone and stops', async () => {
    const { result: r, segs } = await run(FAULTY, 2, {
      onLoss: 'continue',
      during: (clock, s) => {
        clock.setTimeout(() => s!.stall(0), 3_000);
        clock.setTimeout(() => s!.resume(0), 8_000);
      },
    });
    const lost = r.runners!.find((x) => x.index === 0)!;
    expect(lost.state).toBe('lost');
    expect(lost.lostReason).toMatch(/silent for 2\.\d+s/);
    expect(lost.lostAtMs).toBeGreaterThan(4_900);
    expect(lost.lostAtMs).toBeLessThan(5_600);
    expect(segs!.ends.get(0)!.code).toBe(3);
    expect(segs!.ends.get(0)!.why).toMatch(/lost the coordinator.*stopped the load at once/);
    expect(r.verdict!.status).toBe('invalid');
  });
});
