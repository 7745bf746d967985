/**
 * What every report shows about request profiles, flow steps and sessions: rows built once from
 * results.json (`profiles`, `sessions`), rendered by console, Markdown, HTML and JUnit alike. Only
 * what was measured; nothing here judges.
 */
import type { RunResult } from '../src/result.ts';
import { dash, fmtDur, fmtInt, fmtMs, fmtPct } from './shared.ts';

type Profile = NonNullable<RunResult['profiles']>[string];
type Flow = NonNullable<RunResult['sessions']>['flows'][string];

export interface ProfileRow {
  name: string;
  /** The flow it is a step of, or null for a request of the mix. */
  flow: string | null;
  sent: string;
  ok: string;
  failed: string;
  /** Arrivals dropped or not sent (only when any). */
  unsent: string;
  p50: string;
  p95: string;
  p99: string;
  max: string;
  /** Streams: time to first event p50 / p99, gap p99, cut streams; dash when not a stream. */
  firstEvent: string;
  gapP99: string;
  cut: string;
  errors: string;
  /** Failed checks and capture misses, in words (empty when none). */
  notes: string[];
}

export interface FlowRow {
  name: string;
  steps: string[];
  started: string;
  completed: string;
  failed: string;
  stopped: string;
  /** `browse 12, login 1` or a dash. */
  failedAt: string;
  duration: string;
  p50: number | null;
}

const kinds = (e: Record<string, number> | undefined) =>
  Object.entries(e ?? {})
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${fmtInt(n)}`)
    .join(', ') || dash;

export function profileRows(r: RunResult): ProfileRow[] {
  return Object.entries(r.profiles ?? {}).map(([name, p]: [string, Profile]) => {
    const notes: string[] = [];
    for (const [msg, n] of Object.entries(p.checks ?? {})) notes.push(`check failed ${fmtInt(n)}×: ${msg}`);
    for (const [v, n] of Object.entries(p.captureMisses ?? {}))
      notes.push(`capture ${v} found nothing in ${fmtInt(n)} answer${n === 1 ? '' : 's'}`);
    const unsent = (p.dropped ?? 0) + (p.notSent ?? 0);
    const s = p.stream;
    return {
      name,
      flow: p.flow ?? null,
      sent: fmtInt(p.sent),
      ok: fmtInt(p.ok),
      failed: fmtInt(p.failed),
      unsent: unsent ? fmtInt(unsent) : dash,
      p50: fmtMs(p.latencyMs?.p50),
      p95: fmtMs(p.latencyMs?.p95),
      p99: fmtMs(p.latencyMs?.p99),
      max: fmtMs(p.latencyMs?.max),
      firstEvent: s ? `${fmtMs(s.firstEventMs?.p50)} / ${fmtMs(s.firstEventMs?.p99)}` : dash,
      gapP99: s ? fmtMs(s.gapMs?.p99) : dash,
      cut: s ? `${fmtInt(s.cut)} of ${fmtInt(s.cut + s.completed)}` : dash,
      errors: kinds(p.errors),
      notes,
    };
  });
}

export function flowRows(r: RunResult): FlowRow[] {
  return Object.entries(r.sessions?.flows ?? {}).map(([name, f]: [string, Flow]) => ({
    name,
    steps: f.steps,
    started: fmtInt(f.started),
    completed: fmtInt(f.completed),
    failed: fmtInt(f.failed),
    stopped: fmtInt(f.stopped),
    failedAt:
      Object.entries(f.failedAt)
        .sort((a, b) => b[1] - a[1])
        .map(([step, n]) => `${step} ${fmtInt(n)}`)
        .join(', ') || dash,
    duration: f.durationMs
      ? `p50 ${fmtDur(f.durationMs.p50)} · p95 ${fmtDur(f.durationMs.p95)} · max ${fmtDur(f.durationMs.max)}`
      : dash,
    p50: f.durationMs?.p50 ?? null,
  }));
}

/**
 * Concurrency in one line: active sessions (open model) or virtual users against the pattern
 * (closed), over the seconds that had any.
 */
export function concurrencyLine(r: RunResult): string | null {
  const s = r.sessions;
  if (!s || s.timeline.length === 0) return null;
  const busy = s.timeline.filter((x) => x.active.max > 0 || (x.target ?? 0) > 0);
  if (busy.length === 0) return null;
  const peak = Math.max(...busy.map((x) => x.active.max));
  const mean = busy.reduce((n, x) => n + x.active.mean, 0) / busy.length;
  if (s.model === 'closed') {
    // Seconds in which the pattern held one count (not ramping, and not its first or last second).
    const tl = s.timeline;
    const held = tl.filter(
      (x, i) => (x.target ?? 0) > 0 && tl[i - 1]?.target === x.target && tl[i + 1]?.target === x.target,
    );
    const worst = held.reduce((w, x) => Math.max(w, Math.abs(x.active.mean - x.target!) / x.target!), 0);
    const hold = held.length
      ? `; while the count held (${held.length}s), the worst second was ${fmtPct(worst, 1)} away from it`
      : '';
    return `virtual users: peak ${fmtInt(peak)}, mean ${+mean.toFixed(1)} over ${busy.length}s${hold} (ramping down, a user leaves when its session ends)`;
  }
  return `active sessions: peak ${fmtInt(peak)}, mean ${+mean.toFixed(1)} over ${busy.length}s`;
}

/** Data feeders: rows used, and whether unique rows ran out. */
export function dataLines(r: RunResult): string[] {
  return (r.sessions?.data ?? []).map((d) => {
    const base = d.file.split(/[\\/]/).pop() ?? d.file;
    const extra =
      d.refused > 0
        ? `; ran out at ${fmtDur(d.exhaustedAtMs)}, ${fmtInt(d.refused)} arrival(s) not sent`
        : d.wrapped > 0
          ? `; every row used, started over ${d.wrapped}×`
          : '';
    return `data ${base} (${d.order}): ${fmtInt(d.used)} row(s) used of ${fmtInt(d.rows)}${extra}`;
  });
}

/**
 * Captured values at work: how many steps were not sent because a value they needed was unset (a
 * capture that never matched), and how many answers a capture found nothing in. Null without flows.
 */
export function captureLine(r: RunResult): string | null {
  if (!r.sessions || Object.keys(r.sessions.flows).length === 0) return null;
  let unset = 0;
  let misses = 0;
  for (const p of Object.values(r.profiles ?? {})) {
    for (const [msg, n] of Object.entries(p.checks ?? {})) if (msg.startsWith('not sent:')) unset += n;
    for (const n of Object.values(p.captureMisses ?? {})) misses += n;
  }
  return `captures: ${fmtInt(misses)} answer(s) without the value a capture looked for; ${fmtInt(unset)} step(s) not sent for want of a captured value (never sent with it unset: such a step fails as check)`;
}

/** The profile table's head, shared by the text reports. */
export const PROFILE_HEAD = [
  'profile',
  'sent',
  'ok',
  'failed',
  'not sent',
  'p50',
  'p95',
  'p99',
  'max',
  'first event p50/p99',
  'gap p99',
  'cut',
];

export function profileCells(p: ProfileRow): string[] {
  return [
    p.name,
    p.sent,
    p.ok,
    p.failed,
    p.unsent,
    p.p50,
    p.p95,
    p.p99,
    p.max,
    p.firstEvent,
    p.gapP99,
    p.cut,
  ];
}

export const FLOW_HEAD = [
  'flow',
  'started',
  'completed',
  'failed',
  'stopped',
  'failed at step',
  'session duration',
];

export function flowCells(f: FlowRow): string[] {
  return [f.name, f.started, f.completed, f.failed, f.stopped, f.failedAt, f.duration];
}

/** True when the result has anything for these sections. */
export const hasProfiles = (r: RunResult): boolean =>
  Object.keys(r.profiles ?? {}).length > 0 || Object.keys(r.sessions?.flows ?? {}).length > 0;
