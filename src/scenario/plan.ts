/**
 * plan(): scenario → RunPlan, pure. Never reads the clock, never mutates its input.
 * The plan is plain data (JSON-serialisable); `planSegment(plan)` rebuilds rate(t) from it.
 */
import { faultDef } from '../../faults/index.ts';
import { phaseDurationMs, segmentOf, sequence, type Segment } from './patterns.ts';
import { FAULT_COMMON_KEYS, type Phase, type ScenarioFile } from './schema.ts';
import { parseAt, type AtExpr } from './at.ts';
import { MAX_DURATION_MS } from '../core/units.ts';

export interface PlannedPhase {
  index: number; // 1-based, as users write `phase 2`
  name: string;
  kind: Phase['kind'];
  startMs: number;
  endMs: number;
  peakRate: number;
  expectedRequests: number;
  spec: Phase;
}

export interface PlannedFault {
  /** Stable id: `f<index>` or `f<index>.<occurrence>` for repeats. */
  id: string;
  index: number;
  occurrence: number;
  type: string;
  target: string;
  startMs: number;
  endMs: number;
  /** Probability that this occurrence is applied at all (seeded). */
  probability: number;
  count?: number;
  percent?: number;
  /** How late the apply may land and still count as planned (absent: the default rule). */
  toleranceMs?: number;
  /** The type-specific parameters as written (for results and reports). */
  params: Record<string, unknown>;
  /** The same parameters parsed by the fault type's schema (what the driver gets). */
  parsed: unknown;
}

/** One load's timeline: its arrivals, phases and peak (a run's, or one stream's). */
export interface LoadTimeline {
  arrivals: 'even' | 'poisson';
  /** open: phases are arrival rates; closed: phases are numbers of virtual users (rate = users). */
  model: 'open' | 'closed';
  durationMs: number;
  expectedRequests: number;
  peakRate: number;
  peakAtMs: number;
  phases: PlannedPhase[];
}

export interface RunPlan extends LoadTimeline {
  scenario: string;
  seed: number;
  timeScale: number;
  faults: PlannedFault[];
  /** Several load streams at once (`load:` as a list): each one's own timeline. Absent for one load. */
  streams?: StreamPlan[];
}

/** One stream's timeline; the run's `durationMs` is the longest stream's. */
export interface StreamPlan extends LoadTimeline {
  name: string;
  target: string;
  engine: string;
}

/** The plan as one stream's engine sees it: that stream's phases and rates, the run's faults. */
export function streamPlan(plan: RunPlan, name: string): RunPlan {
  const st = plan.streams?.find((x) => x.name === name);
  if (!st) return plan;
  const { name: _n, target: _t, engine: _e, ...rest } = st;
  return { ...plan, ...rest, streams: undefined } as RunPlan;
}

export interface PlanOptions {
  seed: number;
  timeScale?: number;
}

export function planSegment(plan: Pick<RunPlan, 'phases' | 'timeScale'>): Segment {
  return sequence(plan.phases.map((p) => segmentOf(p.spec, plan.timeScale)));
}

/** Problems found while resolving fault times; the loader turns them into located errors. */
export interface PlanProblem {
  path: (string | number)[];
  message: string;
}

/** One load's phases laid out in time (time-scaled), its peak and its rate function. */
function timelineOf(pattern: readonly Phase[], timeScale: number) {
  const phases: PlannedPhase[] = [];
  let t = 0;
  pattern.forEach((spec, i) => {
    const seg = segmentOf(spec, timeScale);
    const d = phaseDurationMs(spec) * timeScale;
    phases.push({
      index: i + 1,
      name: spec.name ?? `${spec.kind}`,
      kind: spec.kind,
      startMs: t,
      endMs: t + d,
      peakRate: seg.peakRate,
      expectedRequests: seg.integral(seg.durationMs),
      spec,
    });
    t += d;
  });
  const seg = planSegment({ phases, timeScale });
  return { phases, durationMs: t, seg, peakAtMs: findPeak(seg) };
}

export function plan(scenario: ScenarioFile, opts: PlanOptions): { plan: RunPlan; problems: PlanProblem[] } {
  const timeScale = opts.timeScale ?? 1;
  const streamList = scenario.multiStream
    ? scenario.streams.map((st) => ({ st, tl: timelineOf(st.pattern, timeScale) }))
    : null;
  const main = streamList ? streamList[0]!.tl : timelineOf(scenario.load.pattern, timeScale);
  const phases = main.phases;
  // The run lasts as long as its longest stream.
  const durationMs = streamList ? Math.max(...streamList.map((x) => x.tl.durationMs)) : main.durationMs;
  const seg = main.seg;
  const peakAtMs = main.peakAtMs;
  /** Where a fault's `at` is anchored: one load's phases, or the named stream's. */
  const anchorOf = (stream: string | undefined): { phases: PlannedPhase[]; peakAtMs: number } | string => {
    if (!streamList) {
      if (stream !== undefined)
        return `the scenario has one load, not streams: write the time without "of ${stream}"`;
      return { phases, peakAtMs };
    }
    if (stream === undefined) return 'several streams could be meant';
    const x = streamList.find((y) => y.st.name === stream);
    if (!x)
      return `no stream ${JSON.stringify(stream)}: the scenario has streams ${streamList.map((y) => y.st.name).join(', ')}`;
    return { phases: x.tl.phases, peakAtMs: x.tl.peakAtMs };
  };
  const problems: PlanProblem[] = [];
  const faults: PlannedFault[] = [];
  if (durationMs > MAX_DURATION_MS) {
    // Beyond this, timers overflow and fire at once (a TimeoutOverflowWarning, faults out of time).
    problems.push({
      path: ['load', 'pattern'],
      message: `the load lasts ${+(durationMs / 86_400_000).toFixed(2)}d${timeScale !== 1 ? ` at time scale ${timeScale}` : ''}, longer than the ${MAX_DURATION_MS / 86_400_000}d a run may last`,
    });
  }

  scenario.faults.forEach((f, index) => {
    const at = parseAt(f.at);
    if (!at) return; // reported by the loader with the field's location
    const needsStream = at.anchor.kind === 'peak' || at.anchor.kind === 'phase';
    const anchor = needsStream ? anchorOf(at.stream) : { phases, peakAtMs };
    if (typeof anchor === 'string') {
      const names = streamList?.map((y) => y.st.name) ?? [];
      problems.push({
        path: ['faults', index, 'at'],
        message:
          anchor === 'several streams could be meant'
            ? `${JSON.stringify(f.at)} could mean the ${at.anchor.kind} of any of the streams ${names.join(', ')}: name one, e.g. '${at.anchor.kind === 'peak' ? 'peak' : `phase ${String((at.anchor as { ref: unknown }).ref)}`} of ${names[0]}'`
            : anchor,
      });
      return;
    }
    const start = resolveAt(at, anchor.phases, durationMs, anchor.peakAtMs, timeScale);
    if (typeof start === 'string') {
      problems.push({ path: ['faults', index, 'at'], message: start });
      return;
    }
    const dur = f.duration * timeScale;
    const repeat = f.repeat ?? 1;
    const every = (f.every ?? f.duration) * timeScale;
    if (repeat > 1 && f.every !== undefined && f.every < f.duration) {
      problems.push({
        path: ['faults', index, 'every'],
        message: `every (${f.every}ms) is shorter than duration (${f.duration}ms): occurrences would overlap`,
      });
      return;
    }
    const { type, target, probability, count, percent, tolerance } = f;
    const params = Object.fromEntries(
      Object.entries(f).filter(([k]) => !(FAULT_COMMON_KEYS as readonly string[]).includes(k)),
    );
    // Parsed once here; the loader has already reported any problem with its location.
    const parsedR = faultDef(type)?.params.safeParse(params);
    const parsed: unknown = parsedR?.success ? parsedR.data : params;
    for (let k = 0; k < repeat; k++) {
      const startMs = start + k * every;
      const endMs = startMs + dur;
      if (startMs < 0 || endMs > durationMs + 1e-6) {
        problems.push({
          path: ['faults', index, k === 0 ? 'duration' : 'repeat'],
          message: `the fault would run from ${fmt(startMs / timeScale)} to ${fmt(endMs / timeScale)}, outside the load (0s to ${fmt(durationMs / timeScale)})`,
        });
        return;
      }
      if (endMs >= durationMs - 1e-6) {
        // A fault that ends with the load leaves no time to see whether the system recovered.
        problems.push({
          path: ['faults', index, k === 0 ? 'duration' : 'repeat'],
          message: `the fault would end at ${fmt(endMs / timeScale)}, when the load ends: end it earlier (or lengthen the load) so recovery can be measured`,
        });
        return;
      }
      faults.push({
        id: repeat > 1 ? `f${index + 1}.${k + 1}` : `f${index + 1}`,
        index,
        occurrence: k + 1,
        type,
        target,
        startMs,
        endMs,
        probability: probability ?? 1,
        ...(count !== undefined ? { count } : {}),
        ...(percent !== undefined ? { percent } : {}),
        ...(tolerance !== undefined ? { toleranceMs: tolerance * timeScale } : {}),
        params,
        parsed,
      });
    }
  });

  return {
    plan: {
      scenario: scenario.name,
      seed: opts.seed,
      timeScale,
      arrivals: scenario.load.arrivals,
      model: scenario.load.model,
      durationMs,
      expectedRequests: streamList
        ? streamList.reduce((n, x) => n + x.tl.seg.integral(x.tl.durationMs), 0)
        : seg.integral(durationMs),
      peakRate: streamList ? Math.max(...streamList.map((x) => x.tl.seg.peakRate)) : seg.peakRate,
      peakAtMs,
      phases,
      faults,
      ...(streamList
        ? {
            streams: streamList.map(({ st, tl }) => ({
              name: st.name,
              target: st.target,
              engine: st.engine,
              arrivals: st.arrivals,
              model: st.model,
              durationMs: tl.durationMs,
              expectedRequests: tl.seg.integral(tl.durationMs),
              peakRate: tl.seg.peakRate,
              peakAtMs: tl.peakAtMs,
              phases: tl.phases,
            })),
          }
        : {}),
    },
    problems,
  };
}

function fmt(ms: number): string {
  return `${Math.round(ms) / 1000}s`;
}

/** First time the rate reaches its maximum (10 ms resolution is plenty for a fault anchor). */
function findPeak(seg: Segment): number {
  let best = 0;
  let bestRate = -1;
  const step = Math.max(1, seg.durationMs / 100_000, 10);
  for (let t = 0; t < seg.durationMs; t += step) {
    const r = seg.rate(t);
    if (r > bestRate + 1e-9) {
      bestRate = r;
      best = t;
    }
  }
  return best;
}

/** Anchors are in plan (scaled) time; offsets are written in scenario time and scaled here. */
function resolveAt(
  at: AtExpr,
  phases: PlannedPhase[],
  durationMs: number,
  peakAtMs: number,
  timeScale: number,
): number | string {
  const offset = at.offsetMs * timeScale;
  switch (at.anchor.kind) {
    case 'start':
      return offset;
    case 'end':
      return durationMs + offset;
    case 'peak':
      return peakAtMs + offset;
    case 'phase': {
      const ref = at.anchor.ref;
      const p = typeof ref === 'number' ? phases[ref - 1] : phases.find((x) => x.name === ref);
      if (!p) {
        const names = phases.map((x) => `${x.index} (${x.name})`).join(', ');
        return `no phase ${JSON.stringify(ref)}: the scenario has phases ${names}`;
      }
      return p.startMs + offset;
    }
  }
}
