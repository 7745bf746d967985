import type { Comparison } from '../../compare.ts';
import { DEFAULT_TOLERANCES, type Tolerances } from '../../tolerances.ts';
import { ExitCode, InputError } from '../../errors.ts';
import { formatDuration, parseDurationMs } from '../../units.ts';
import type { Command } from './index.ts';

export const COMPARE_FORMATS = ['console', 'md', 'markdown', 'json'] as const;

/** `20%` or `20` → 0.2. */
export function parseIncrease(v: string | number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(String(v));
  if (!m)
    throw new InputError(
      `--max-p99-increase must be a percentage like 20%, got ${JSON.stringify(String(v))}`,
    );
  return Number(m[1]) / 100;
}

/** `2s`, `500ms` → milliseconds. */
export function parseTtrIncrease(v: string | number): number {
  const d = parseDurationMs(String(v));
  if (d === undefined)
    throw new InputError(
      `--max-ttr-increase must be a duration like 2s or 500ms, got ${JSON.stringify(String(v))}`,
    );
  return d;
}

const n = (v: number | null, unit = '', digits = 1) => (v === null ? '–' : `${+v.toFixed(digits)}${unit}`);
const signed = (v: number | null, unit = '', digits = 1) =>
  v === null ? '–' : `${v > 0 ? '+' : ''}${+v.toFixed(digits)}${unit}`;
const ms = (v: number | null) =>
  v === null
    ? '–'
    : Math.abs(v) >= 1000
      ? `${+(v / 1000).toFixed(2)}s`
      : Math.abs(v) < 10
        ? `${+v.toFixed(2)}ms`
        : `${Math.round(v)}ms`;
const fmtValue = (target: string, v: number | null) =>
  v === null ? '–' : /%/.test(target) ? `${+(v * 100).toFixed(3)}%` : ms(v);

/** Rows for both text formats: [what, old, new, change, flag]. */
function rows(c: Comparison): string[][] {
  const flag = (r: boolean) => (r ? 'REGRESSION' : '');
  const out: string[][] = [
    ['resilience score', n(c.score.old), n(c.score.new), signed(c.score.delta), flag(c.score.regressed)],
  ];
  for (const p of c.p99) {
    const note = p.lowConfidence ? ' (low confidence)' : '';
    out.push([
      `p99 latency, ${p.scope === 'all' ? 'whole run' : p.scope}${note}`,
      ms(p.oldMs),
      ms(p.newMs),
      p.change === null ? '–' : signed(p.change * 100, '%'),
      flag(p.regressed),
    ]);
  }
  for (const t of c.ttr) {
    const v = (x: number | null, present: boolean) =>
      !present ? 'absent' : x === null ? 'not recovered' : ms(x);
    out.push([
      `time to recover, ${t.fault}`,
      v(t.oldMs, t.present.old),
      v(t.newMs, t.present.new),
      t.deltaMs === null ? '–' : `${t.deltaMs > 0 ? '+' : ''}${ms(t.deltaMs)}`,
      flag(t.regressed),
    ]);
  }
  for (const o of c.objectives) {
    const mark = (x: { pass: boolean | null } | null) =>
      x?.pass === true ? ' ✓' : x?.pass === false ? ' ✗' : '';
    const change =
      o.delta === null
        ? '–'
        : `${/%/.test(o.target) ? signed(o.delta * 100, ' pts', 3) : `${o.delta > 0 ? '+' : ''}${ms(o.delta)}`}${o.worse ? ' (worse)' : ''}`;
    out.push([
      `${o.phase}: ${o.name}${o.gating ? '' : ' †'}`,
      `${fmtValue(o.target, o.old?.value ?? null)}${mark(o.old)}`,
      `${fmtValue(o.target, o.new?.value ?? null)}${mark(o.new)}`,
      change,
      flag(o.regressed),
    ]);
  }
  return out;
}

function tolerancesLine(t: Tolerances): string {
  return `tolerances: score drop ≤ ${t.maxScoreDrop} points, p99 increase ≤ ${+(t.maxP99Increase * 100).toFixed(2)}%, time-to-recover increase ≤ ${formatDuration(t.maxTtrIncreaseMs)}`;
}

function renderText(c: Comparison): string {
  const head = ['', `old ${c.old.runId}`, `new ${c.new.runId}`, 'change', ''];
  const all = [head, ...rows(c)];
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const lines = [
    `compare ${c.new.scenario}: ${c.regressed ? `${c.regressions.length} regression(s)` : 'no regression'}`,
    '',
  ];
  for (const r of all)
    lines.push(`  ${r.map((x, i) => (i === 0 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join('  ')}`.trimEnd());
  lines.push('', `  ${tolerancesLine(c.tolerances)}; † not gating`);
  for (const r of c.regressions) lines.push(`  ✗ ${r.message}`);
  for (const x of c.warnings) lines.push(`  ⚠ ${x}`);
  return `${lines.join('\n')}\n`;
}

function renderMarkdown(c: Comparison): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/</g, '&lt;');
  const lines = [
    `### ${c.regressed ? '❌' : '✅'} ${esc(c.new.scenario)}: ${c.regressed ? `${c.regressions.length} regression(s)` : 'no regression'} against the previous run`,
    '',
    `| | old \`${c.old.runId}\` | new \`${c.new.runId}\` | change | |`,
    '|---|---:|---:|---:|---|',
    ...rows(c).map((r) => `| ${r.map((x, i) => (i === 4 && x ? '**REGRESSION**' : esc(x))).join(' | ')} |`),
    '',
    `<sub>${esc(tolerancesLine(c.tolerances))}; † not gating</sub>`,
  ];
  if (c.regressions.length) lines.push('', ...c.regressions.map((r) => `- ❌ ${esc(r.message)}`));
  if (c.warnings.length) lines.push('', ...c.warnings.map((x) => `- ⚠️ ${esc(x)}`));
  return `${lines.join('\n')}\n`;
}

export const compareCommand: Command = (cli, setCode) =>
  cli.command(
    'compare <old> <new>',
    'compare two results.json files: score, p99, time-to-recover and objective deltas; exit 1 on a regression',
    (y) =>
      y
        .positional('old', {
          type: 'string',
          demandOption: true,
          describe: 'the earlier results.json (the reference)',
        })
        .positional('new', { type: 'string', demandOption: true, describe: 'the later results.json' })
        .option('max-score-drop', {
          type: 'number',
          default: DEFAULT_TOLERANCES.maxScoreDrop,
          describe: 'resilience-score points the new run may lose',
        })
        .option('max-p99-increase', {
          type: 'string',
          default: '20%',
          describe: 'how much p99 latency may rise (overall and per phase)',
        })
        .option('max-ttr-increase', {
          type: 'string',
          default: '2s',
          describe: "how much a fault's time to recover may grow",
        })
        .option('format', {
          choices: COMPARE_FORMATS,
          default: 'console' as (typeof COMPARE_FORMATS)[number],
          describe: 'output format',
        }),
    async (args) => {
      const [{ compareResults }, { readResultFile }, { migrationNote }] = await Promise.all([
        import('../../compare.ts'),
        import('../../results/read.ts'),
        import('../../results/migrate.ts'),
      ]);
      if (!(Number.isFinite(args.maxScoreDrop) && args.maxScoreDrop >= 0)) {
        throw new InputError(
          `--max-score-drop must be a number of points, 0 or more, got ${args.maxScoreDrop}`,
        );
      }
      const tolerances: Tolerances = {
        maxScoreDrop: args.maxScoreDrop,
        maxP99Increase: parseIncrease(args.maxP99Increase),
        maxTtrIncreaseMs: parseTtrIncrease(args.maxTtrIncrease),
      };
      const [older, newer] = [readResultFile(args.old), readResultFile(args.new)];
      // Say when a side was written by an older chaoskit: what it lacks cannot be compared.
      for (const [file, r] of [
        [args.old, older],
        [args.new, newer],
      ] as const) {
        const migrated = migrationNote(r);
        if (migrated) process.stderr.write(`chaos compare: ${file}: ${migrated}\n`);
      }
      const c = compareResults(older, newer, tolerances);
      const out =
        args.format === 'json'
          ? `${JSON.stringify(c, null, 2)}\n`
          : args.format === 'console'
            ? renderText(c)
            : renderMarkdown(c);
      process.stdout.write(out);
      setCode(c.regressed ? ExitCode.sloMissed : ExitCode.ok);
    },
  );
