/**
 * Sessions beside the request timeline: per flow, sessions started, completed, failed (at which
 * step) and stopped, their duration (from the first step's due time to the last step's end) and
 * their phase by exposure; per second, sessions started and ended and the concurrency (active
 * sessions, or in the closed model active virtual users beside the pattern's target), as a
 * time-weighted mean and a maximum.
 */
import {
  encode,
  newHistogram,
  recordMs,
  summarize,
  type Histogram,
  type LatencySummary,
} from '../core/hist.ts';
import type { PhaseName } from '../metrics/store.ts';
import type { FeederStats } from './feeder.ts';

export interface FlowPhase {
  ok: number;
  failed: number;
  dropped: number;
  hist: string | null;
}

export interface FlowStats {
  /** Request steps in program order (their profiles are `FLOW.STEP`). */
  steps: string[];
  started: number;
  completed: number;
  failed: number;
  /** Sessions cut short because the load stopped (a stop, or the end of gracefulStop). */
  stopped: number;
  /** Failed sessions by the step they failed at. */
  failedAt: Record<string, number>;
  durationMs: LatencySummary | null;
  /** Session duration HdrHistogram (µs), compressed base64. */
  hist: string | null;
  /** Completed (ok) and failed sessions by the phase they are attributed to (exposure over the session). */
  phases: Partial<Record<PhaseName, FlowPhase>>;
}

export interface SessionSecond {
  t: number;
  started: number;
  completed: number;
  failed: number;
  stopped: number;
  /** Active sessions (open model) or virtual users (closed): time-weighted mean over the second, and maximum. */
  active: { mean: number; max: number };
  /** Closed model: the pattern's user count, time-weighted mean over the second. */
  target?: number;
}

export interface SessionsResult {
  model: 'open' | 'closed';
  flows: Record<string, FlowStats>;
  timeline: SessionSecond[];
  data: FeederStats[];
}

/** A level over time (active sessions, users): time-weighted mean and maximum per second. */
export class LevelGauge {
  private level = 0;
  private since = 0;
  private readonly sums: number[] = [];
  private readonly maxs: number[] = [];

  get value(): number {
    return this.level;
  }

  set(atMs: number, level: number): void {
    this.advance(atMs);
    this.level = level;
    const s = sec(atMs);
    this.maxs[s] = Math.max(this.maxs[s] ?? 0, level);
  }

  add(atMs: number, delta: number): void {
    this.set(atMs, this.level + delta);
  }

  /** Accounts for the level up to `toMs`. */
  advance(toMs: number): void {
    let from = this.since;
    if (toMs <= from) return;
    while (from < toMs) {
      const s = sec(from);
      const end = Math.min(toMs, (s + 1) * 1000);
      this.sums[s] = (this.sums[s] ?? 0) + this.level * (end - from);
      this.maxs[s] = Math.max(this.maxs[s] ?? 0, this.level);
      from = end;
    }
    this.since = toMs;
  }

  /** Mean and max of second `s`, given the load ended at `endMs`. */
  at(s: number, endMs: number): { mean: number; max: number } {
    const covered = Math.max(0, Math.min(1000, endMs - s * 1000));
    const mean = covered > 0 ? (this.sums[s] ?? 0) / covered : 0;
    return { mean: Math.round(mean * 100) / 100, max: this.maxs[s] ?? 0 };
  }

  get seconds(): number {
    return Math.max(this.sums.length, this.maxs.length);
  }
}

const sec = (ms: number) => (ms < 0 ? 0 : Math.floor(ms / 1000));

class FlowAcc {
  started = 0;
  completed = 0;
  failed = 0;
  stopped = 0;
  failedAt: Record<string, number> = {};
  hist = newHistogram();
  phases: Partial<Record<PhaseName, { ok: number; failed: number; hist: Histogram }>> = {};
  constructor(readonly steps: string[]) {}
}

interface Counts {
  started: number;
  completed: number;
  failed: number;
  stopped: number;
}

export class SessionRecorder {
  private readonly flows: FlowAcc[];
  private readonly seconds: Counts[] = [];
  readonly active = new LevelGauge();
  /** Closed model: the pattern's target user count. */
  readonly target = new LevelGauge();

  constructor(
    private readonly names: readonly string[],
    steps: readonly string[][],
    private readonly model: 'open' | 'closed',
    private readonly phaseOf: (fromMs: number, toMs: number) => PhaseName,
  ) {
    this.flows = steps.map((s) => new FlowAcc([...s]));
  }

  private second(atMs: number): Counts {
    const s = sec(atMs);
    for (let i = this.seconds.length; i <= s; i++)
      this.seconds[i] = { started: 0, completed: 0, failed: 0, stopped: 0 };
    return this.seconds[s]!;
  }

  started(flow: number, atMs: number): void {
    this.flows[flow]!.started++;
    this.second(atMs).started++;
  }

  /** A session ended: completed, failed at `step`, or stopped with the load. */
  ended(
    flow: number,
    startMs: number,
    endMs: number,
    how: 'completed' | 'failed' | 'stopped',
    step?: string,
  ): void {
    const f = this.flows[flow]!;
    this.second(endMs)[how]++;
    if (how === 'stopped') {
      f.stopped++;
      return;
    }
    recordMs(f.hist, endMs - startMs);
    const ph = (f.phases[this.phaseOf(startMs, endMs)] ??= { ok: 0, failed: 0, hist: newHistogram() });
    recordMs(ph.hist, endMs - startMs);
    if (how === 'completed') {
      f.completed++;
      ph.ok++;
    } else {
      f.failed++;
      ph.failed++;
      if (step !== undefined) f.failedAt[step] = (f.failedAt[step] ?? 0) + 1;
    }
  }

  summary(endMs: number, data: FeederStats[]): SessionsResult {
    this.active.advance(endMs);
    this.target.advance(endMs);
    const flows: Record<string, FlowStats> = {};
    this.flows.forEach((f, i) => {
      const phases: FlowStats['phases'] = {};
      for (const [p, x] of Object.entries(f.phases) as [
        PhaseName,
        { ok: number; failed: number; hist: Histogram },
      ][])
        phases[p] = {
          ok: x.ok,
          failed: x.failed,
          dropped: 0,
          hist: x.hist.totalCount ? encode(x.hist) : null,
        };
      flows[this.names[i]!] = {
        steps: f.steps,
        started: f.started,
        completed: f.completed,
        failed: f.failed,
        stopped: f.stopped,
        failedAt: f.failedAt,
        durationMs: summarize(f.hist),
        hist: f.hist.totalCount ? encode(f.hist) : null,
        phases,
      };
    });
    const n = Math.max(this.seconds.length, this.active.seconds, Math.ceil(endMs / 1000));
    const timeline: SessionSecond[] = [];
    for (let t = 0; t < n; t++) {
      const c = this.seconds[t] ?? { started: 0, completed: 0, failed: 0, stopped: 0 };
      timeline.push({
        t,
        ...c,
        active: this.active.at(t, endMs),
        ...(this.model === 'closed' ? { target: this.target.at(t, endMs).mean } : {}),
      });
    }
    return { model: this.model, flows, timeline, data };
  }
}
