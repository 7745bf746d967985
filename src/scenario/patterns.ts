/**
 * Load patterns as pure rate functions. A phase becomes a Segment with rate(t) and its integral
 * (expected arrivals since the segment's start), both in local milliseconds.
 * Rates are arrivals per second throughout. The plan (./plan.ts: durations, the peak, fault
 * anchors) and the engines' arrivals (src/load/arrivals.ts) share them.
 */
import type { Phase } from './schema.ts';

export interface Segment {
  readonly durationMs: number;
  /** Arrivals per second at local time t (ms). */
  rate(tMs: number): number;
  /** Expected arrivals in [0, t]. */
  integral(tMs: number): number;
  readonly peakRate: number;
}

const S = 1000;

function constant(r: number, durationMs: number): Segment {
  return { durationMs, rate: () => r, integral: (t) => (r * t) / S, peakRate: r };
}

function linear(from: number, to: number, durationMs: number): Segment {
  const slope = durationMs === 0 ? 0 : (to - from) / durationMs;
  return {
    durationMs,
    rate: (t) => from + slope * t,
    integral: (t) => (from * t + (slope * t * t) / 2) / S,
    peakRate: Math.max(from, to),
  };
}

/** Segments played one after another. */
export function sequence(parts: readonly Segment[]): Segment {
  const starts: number[] = [];
  const baseCounts: number[] = [];
  let t = 0;
  let n = 0;
  for (const p of parts) {
    starts.push(t);
    baseCounts.push(n);
    t += p.durationMs;
    n += p.integral(p.durationMs);
  }
  const total = t;
  const find = (tMs: number): number => {
    let i = parts.length - 1;
    while (i > 0 && tMs < starts[i]!) i--;
    return i;
  };
  return {
    durationMs: total,
    rate: (tMs) => {
      if (tMs < 0 || tMs >= total) return 0;
      const i = find(tMs);
      return parts[i]!.rate(tMs - starts[i]!);
    },
    integral: (tMs) => {
      if (tMs <= 0) return 0;
      if (tMs >= total) return n;
      const i = find(tMs);
      return baseCounts[i]! + parts[i]!.integral(tMs - starts[i]!);
    },
    peakRate: Math.max(0, ...parts.map((p) => p.peakRate)),
  };
}

function sine(mean: number, amplitude: number, periodMs: number, durationMs: number): Segment {
  const w = (2 * Math.PI) / periodMs;
  return {
    durationMs,
    rate: (t) => mean + amplitude * Math.sin(w * t),
    integral: (t) => (mean * t + (amplitude / w) * (1 - Math.cos(w * t))) / S,
    peakRate: durationMs >= periodMs / 4 ? mean + amplitude : mean + amplitude * Math.sin(w * durationMs),
  };
}

/**
 * Pulses: `rate` for the first `lengthMs` of every `everyMs`, `base` for the rest. Its integral in
 * closed form: whole cycles, plus the part of the current cycle.
 */
function burst(rate: number, base: number, lengthMs: number, everyMs: number, durationMs: number): Segment {
  const perCycle = rate * lengthMs + base * (everyMs - lengthMs);
  return {
    durationMs,
    rate: (t) => (t - Math.floor(t / everyMs) * everyMs < lengthMs ? rate : base),
    integral: (t) => {
      const k = Math.floor(t / everyMs);
      const u = t - k * everyMs;
      const part = u < lengthMs ? rate * u : rate * lengthMs + base * (u - lengthMs);
      return (k * perCycle + part) / S;
    },
    peakRate: durationMs > 0 ? Math.max(rate, base) : 0,
  };
}

/** Resolves a step level: a rate, or `NN%` of the phase's peak. */
export function stepLevel(level: number | string, peak: number | undefined): number {
  if (typeof level === 'number') return level;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(level);
  if (!m || peak === undefined) return Number.NaN;
  return (Number(m[1]) / 100) * peak;
}

/** Phase → segment. `timeScale` compresses every time in the phase (0.1 = ten times faster). */
export function segmentOf(p: Phase, timeScale = 1): Segment {
  const d = (ms: number) => ms * timeScale;
  switch (p.kind) {
    case 'constant':
      return constant(p.rate, d(p.duration));
    case 'ramp':
      return linear(p.from, p.to, d(p.duration));
    case 'spike':
      return sequence([
        linear(p.from, p.to, d(p.rise)),
        constant(p.to, d(p.hold)),
        linear(p.to, p.from, d(p.fall)),
      ]);
    case 'sine':
      return sine(p.mean, p.amplitude, d(p.period), d(p.duration));
    case 'step':
      return sequence(p.levels.map((l) => constant(stepLevel(l, p.peak), d(p.each))));
    case 'burst':
      return burst(p.rate, p.base, d(p.length), d(p.every), d(p.duration));
  }
}

/** Duration of a phase in ms (before time scaling). */
export function phaseDurationMs(p: Phase): number {
  switch (p.kind) {
    case 'spike':
      return p.rise + p.hold + p.fall;
    case 'step':
      return p.each * p.levels.length;
    default:
      return p.duration;
  }
}

/**
 * Time (ms) at which the cumulative expected arrivals reach `target`, searching from `fromMs`.
 * Newton steps on the integral, guarded by bisection where the rate is zero or the step overshoots.
 */
export function inverseIntegral(
  seg: Segment,
  target: number,
  fromMs: number,
  total = seg.integral(seg.durationMs),
): number {
  if (target >= total) return Number.POSITIVE_INFINITY;
  let lo = Math.max(0, fromMs);
  let hi = seg.durationMs;
  if (seg.integral(lo) >= target) return lo;
  let t = lo;
  for (let i = 0; i < 60; i++) {
    const f = seg.integral(t) - target;
    if (Math.abs(f) < 1e-9) return t;
    if (f < 0) lo = t;
    else hi = t;
    const r = seg.rate(t) / S;
    let next = r > 1e-12 ? t - f / r : Number.NaN;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (hi - lo < 1e-6) return hi;
    t = next;
  }
  return t;
}
