/**
 * The HTML report's charts: the data they plot, built here from the RunResult, and uPlot, which
 * is inlined from node_modules so the report works offline. html-client.ts draws them.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RunResult } from '../src/result.ts';
import { phaseSegments } from './shared.ts';

export interface ChartData {
  durationS: number;
  /** Bucket midpoints, seconds since the load started. */
  x: number[];
  requested: number[];
  sent: number[];
  ok: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  errors: { kind: string; values: number[] }[];
  /** Q(t) in percent. */
  q: (number | null)[];
  faults: { id: string; label: string; start: number; end: number }[];
  phases: { name: string; start: number; end: number }[];
  saturated: number[];
  host: {
    x: number[];
    cpu: (number | null)[];
    mem: (number | null)[];
    gpus: { index: number; util: (number | null)[]; mem: (number | null)[] }[];
  } | null;
}

const pct = (used: number | null, total: number | null) =>
  used === null || !total ? null : +((100 * used) / total).toFixed(2);

export function chartData(r: RunResult): ChartData {
  const tl = r.timeline;
  const kinds = new Map<string, number>();
  for (const s of tl) for (const [k, n] of Object.entries(s.errors)) kinds.set(k, (kinds.get(k) ?? 0) + n);
  const errors = [...kinds.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([kind]) => ({ kind, values: tl.map((s) => s.errors[kind] ?? 0) }));
  const host = [...r.host].sort((a, b) => a.t - b.t);
  const gpuIds = [...new Set(host.flatMap((h) => h.gpus.map((g) => g.index)))];
  const durationS = Math.max(tl.length, Math.ceil(r.plan.durationMs / 1000));
  return {
    durationS,
    x: tl.map((s) => s.t + 0.5),
    requested: tl.map((s) => s.requested),
    sent: tl.map((s) => s.sent),
    ok: tl.map((s) => s.ok),
    p50: tl.map((s) => s.latencyMs?.p50 ?? null),
    p95: tl.map((s) => s.latencyMs?.p95 ?? null),
    p99: tl.map((s) => s.latencyMs?.p99 ?? null),
    errors,
    q: r.verdict ? r.verdict.degradation.q.map((v) => (v === null ? null : +(v * 100).toFixed(2))) : [],
    faults: r.faults
      .filter((f) => f.appliedAtMs !== null)
      .map((f) => ({
        id: f.id,
        label: `${f.id} ${f.type}`,
        start: f.appliedAtMs! / 1000,
        end: (f.revertedAtMs ?? r.plan.durationMs) / 1000,
      })),
    phases: r.verdict ? phaseSegments(r.verdict) : [],
    saturated: tl.filter((s) => s.generator?.saturated).map((s) => s.t),
    host: host.length
      ? {
          x: host.map((h) => +(h.t / 1000).toFixed(3)),
          cpu: host.map((h) => h.cpuPct),
          mem: host.map((h) => pct(h.memUsedBytes, h.memTotalBytes)),
          gpus: gpuIds.map((index) => ({
            index,
            util: host.map((h) => h.gpus.find((g) => g.index === index)?.utilizationPct ?? null),
            mem: host.map((h) => {
              const g = h.gpus.find((x) => x.index === index);
              return g ? pct(g.memUsedBytes, g.memTotalBytes) : null;
            }),
          })),
        }
      : null,
  };
}

const require = createRequire(import.meta.url);

/** uPlot's script and stylesheet, read at render time; the banner's link is dropped so the file names no URL. */
export function uplotAssets(): { js: string; css: string } {
  const js = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8').replace(
    /^\/\*![^*]*\*\//,
    '/*! uPlot (MIT License, Copyright (c) 2022 Leon Sorokin) */',
  );
  const css = readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
  return { js, css };
}

/** JSON inside <script>: `<` escaped so no text from the result can close the element. */
export const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
