/** A terminal chart of a plan's rate over time, with fault windows drawn underneath. Pure. */
import type { Target } from '../scenario/schema.ts';
import type { RunPlan } from '../scenario/plan.ts';
import { planSegment } from '../scenario/plan.ts';
import { formatDuration } from '../core/units.ts';

const BLOCKS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

export function renderPlanChart(plan: RunPlan, width = 64, height = 8): string {
  const seg = planSegment(plan);
  const dur = plan.durationMs;
  const cols: number[] = [];
  for (let c = 0; c < width; c++) {
    // Mean rate over the column's span: integral difference, so short spikes are not missed.
    const a = (c / width) * dur,
      b = ((c + 1) / width) * dur;
    cols.push(b > a ? ((seg.integral(b) - seg.integral(a)) / (b - a)) * 1000 : 0);
  }
  const peak = Math.max(plan.peakRate, 1e-9);
  const label = (v: number) => `${Math.round(v)}/s`.padStart(8);
  const lines: string[] = [];
  for (let row = height - 1; row >= 0; row--) {
    let line = '';
    for (const v of cols) {
      const level = (v / peak) * height - row;
      line += BLOCKS[Math.max(0, Math.min(8, Math.round(level * 8)))];
    }
    const axis = row === height - 1 ? label(peak) : row === 0 ? label(0) : ' '.repeat(8);
    lines.push(`${axis} │${line}`);
  }
  lines.push(`${' '.repeat(8)} └${'─'.repeat(width)}`);
  const end = formatDuration(dur);
  lines.push(`${' '.repeat(10)}0s${' '.repeat(Math.max(1, width - 2 - end.length))}${end}`);
  // Phase boundaries.
  let marks = '';
  for (const p of plan.phases) {
    const c = Math.min(width - 1, Math.floor((p.startMs / dur) * width));
    marks = marks.padEnd(c, ' ') + `${p.index}`;
  }
  lines.push(`${'phases'.padStart(8)}  ${marks}`);
  for (const f of plan.faults) {
    const a = Math.floor((f.startMs / dur) * width);
    const b = Math.max(a + 1, Math.ceil((f.endMs / dur) * width));
    const bar = ' '.repeat(a) + '━'.repeat(b - a);
    lines.push(
      `${f.id.padStart(8)}  ${bar.padEnd(width)}  ${f.type} → ${f.target} (${formatDuration(f.startMs)}–${formatDuration(f.endMs)})`,
    );
  }
  return lines.join('\n');
}

/** The plan as text: the chart, the phases table and the totals. */
export function describePlan(plan: RunPlan): string {
  const out = [renderPlanChart(plan), ''];
  for (const p of plan.phases) {
    out.push(
      `  phase ${p.index} ${p.name.padEnd(10)} ${p.kind.padEnd(8)} ${formatDuration(p.startMs).padStart(7)} → ${formatDuration(p.endMs).padEnd(7)} peak ${Math.round(p.peakRate)}/s, ~${Math.round(p.expectedRequests)} requests`,
    );
  }
  out.push('');
  out.push(
    `  duration ${formatDuration(plan.durationMs)}, ~${Math.round(plan.expectedRequests)} requests, peak ${Math.round(plan.peakRate)}/s at ${formatDuration(plan.peakAtMs)}, ${plan.faults.length} fault window(s), arrivals ${plan.arrivals}, seed ${plan.seed}${plan.timeScale !== 1 ? `, time scale ${plan.timeScale}` : ''}`,
  );
  return out.join('\n');
}

/**
 * What each fault on a process target would pick right now (`chaos plan`, `--dry-run`): the PIDs
 * and command lines, or why the pick does not fit. The demo's own processes exist only while it
 * runs, so for a demo environment an empty pick here is expected.
 */
export async function describePicks(
  targets: Readonly<Record<string, Target>>,
  faults: readonly { id: string; type: string; target: string }[],
  demo: boolean,
): Promise<string> {
  const { previewProcessTarget } = await import('../targets/process.ts');
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const f of faults) {
    const t = targets[f.target];
    if (t?.kind !== 'process' || seen.has(f.target)) continue;
    seen.add(f.target);
    const p = previewProcessTarget(t, `target ${f.target}`);
    if (p.refs.length === 0 && demo) {
      lines.push(`  ${f.target}: the demo system is not running now; its process is picked once it is up`);
      continue;
    }
    lines.push(`  ${f.target}: ${p.refs.length} process(es) would be picked`);
    for (const r of p.refs) lines.push(`    pid ${r.pid}: ${r.command}`);
    if (p.problem) lines.push(`    ✗ ${p.problem.split('\n')[0]}`);
  }
  return lines.length ? `process targets:\n${lines.join('\n')}` : '';
}
