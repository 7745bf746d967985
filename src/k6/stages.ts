/**
 * A plan's rate(t) as k6 ramping-arrival-rate stages (or, for the closed model, ramping-vus
 * stages of user counts): k6 interpolates linearly between stage targets, so constant, ramp,
 * spike, step and burst map exactly and sine is approximated piecewise.
 */
import type { RunPlan } from '../scenario/plan.ts';

export interface Stage {
  target: number;
  durationMs: number;
}

/** Sine periods are cut into this many linear pieces (max error ≈ 2% of the amplitude). */
const SINE_PIECES_PER_PERIOD = 16;

export function stagesOf(plan: RunPlan): { startRate: number; stages: Stage[] } {
  const stages: Stage[] = [];
  let current: number | null = null;
  const jump = (rate: number) => {
    if (current !== rate) stages.push({ target: rate, durationMs: 0 });
    current = rate;
  };
  const ramp = (to: number, ms: number) => {
    if (ms > 0) stages.push({ target: to, durationMs: ms });
    current = to;
  };
  const scale = plan.timeScale;
  for (const p of plan.phases) {
    const s = p.spec;
    switch (s.kind) {
      case 'constant':
        jump(s.rate);
        ramp(s.rate, s.duration * scale);
        break;
      case 'ramp':
        jump(s.from);
        ramp(s.to, s.duration * scale);
        break;
      case 'spike':
        jump(s.from);
        ramp(s.to, s.rise * scale);
        ramp(s.to, s.hold * scale);
        ramp(s.from, s.fall * scale);
        break;
      case 'sine': {
        jump(s.mean);
        const pieces = Math.max(1, Math.ceil((s.duration / s.period) * SINE_PIECES_PER_PERIOD));
        const step = s.duration / pieces;
        for (let i = 1; i <= pieces; i++) {
          const t = i * step;
          ramp(round(s.mean + s.amplitude * Math.sin((2 * Math.PI * t) / s.period)), step * scale);
        }
        break;
      }
      case 'burst': {
        // A pulse of `rate` at the start of every period, `base` between: jumps are 0 s stages.
        for (let t = 0; t < s.duration; t += s.every) {
          const pulse = Math.min(s.length, s.duration - t);
          jump(s.rate);
          ramp(s.rate, pulse * scale);
          const rest = Math.min(s.every - s.length, s.duration - t - pulse);
          if (rest > 0) {
            jump(s.base);
            ramp(s.base, rest * scale);
          }
        }
        break;
      }
      case 'step':
        for (const level of s.levels) {
          const rate = typeof level === 'number' ? level : (parseFloat(level) / 100) * (s.peak ?? 0);
          jump(round(rate));
          ramp(round(rate), s.each * scale);
        }
        break;
    }
  }
  const first = stages[0];
  // The first jump becomes k6's startRate.
  if (first && first.durationMs === 0) {
    stages.shift();
    return { startRate: first.target, stages };
  }
  return { startRate: 0, stages };
}

const round = (v: number) => Math.round(v * 100) / 100;

export function k6Duration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${Math.round(ms)}ms`;
}
