import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Comparison } from '../../compare.ts';
import { DEFAULT_TOLERANCES, type Tolerances } from '../../tolerances.ts';
import { ExitCode, InputError } from '../../core/errors.ts';
import { formatDuration, parseDurationMs } from '../../core/units.ts';
import type { Command } from './index.ts';

export const COMPARE_FORMATS = ['console', 'md', 'markdown', 'json'] as const;

/** `20%` or `20` → 0.2; `flag` names the option in the error. */
export function parseIncrease(v: string | number, flag = '--max-latency-increase'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(String(v));
  if (!m) throw new InputError(`${flag} must be a percentage like 20%, got ${JSON.stringify(String(v))}`);
  return Number(m[1]) / 100;
}

/** `2s`, `500ms` → milliseconds; `flag` names the option in the error. */
export function parseTtrIncrease(v: string | number, flag = '--max-ttr-increase'): number {
  const d = parseDurationMs(String(v));
  if (d === undefined)
    throw new InputError(`${flag} must be a duration like 2s or 500ms, got ${JSON.stringify(String(v))}`);
  return d;
}

/**
 * Reads both files and compares them. Every problem with a file (unreadable, not JSON, not a
 * result, a histogram that does not decode) is an InputError naming the file, line and field.
 */
export async function compareFiles(
  oldFile: string,
  newFile: string,
  tolerances: Tolerances,
  note: (line: string) => void = () => {},
): Promise<Comparison> {
  const [{ compareResults, HistogramError }, { readResultFile }, { migrationNote }, yaml] = await Promise.all(
    [
      import('../../compare.ts'),
      import('../../results/read.ts'),
      import('../../results/migrate.ts'),
      import('../../core/yaml.ts'),
    ],
  );
  const [older, newer] = [readResultFile(oldFile), readResultFile(newFile)];
  // Say when a side was written by an older chaoskit: what it lacks cannot be compared.
  for (const [file, r] of [
    [oldFile, older],
    [newFile, newer],
  ] as const) {
    const migrated = migrationNote(r);
    if (migrated) note(`chaos compare: ${file}: ${migrated}`);
  }
  try {
    return compareResults(older, newer, tolerances);
  } catch (err) {
    if (!(err instanceof HistogramError)) throw err;
    let file = err.side === 'old' ? oldFile : newFile;
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'results.json');
    const src = yaml.parseYamlDocs(file, yaml.readSource(file, 'results file'))[0]!;
    return yaml.failWith(src, 'results file', [
      { path: err.path, message: `not a valid encoded latency histogram (${err.reason})` },
    ]);
  }
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
  const p = (v: number | null) => (v === null ? '' : v < 0.001 ? ' (p < 0.001)' : ` (p = ${+v.toFixed(3)})`);
  for (const l of c.latency) {
    const note = l.lowConfidence ? ', low confidence' : '';
    out.push([
      `${l.phase}: ${l.stat} latency, median of ${l.old.seconds}/${l.new.seconds} seconds${note}`,
      ms(l.old.medianMs),
      ms(l.new.medianMs),
      l.ratio === null ? '–' : `×${+l.ratio.toFixed(2)}${p(l.pValue)}`,
      flag(l.regressed),
    ]);
  }
  for (const e of c.errors) {
    const rate = (x: { rate: number | null }) => (x.rate === null ? '–' : `${+(x.rate * 100).toFixed(2)}%`);
    out.push([
      `${e.phase}: error rate, ${e.old.requests}/${e.new.requests} requests${e.lowConfidence ? ', low confidence' : ''}`,
      rate(e.old),
      rate(e.new),
      e.delta === null ? '–' : `${signed(e.delta * 100, ' pts', 2)}${p(e.pValue)}`,
      flag(e.regressed),
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
      o.nowMissed ? 'now missed' : '',
    ]);
  }
  return out;
}

function tolerancesLine(c: Comparison): string {
  const t = c.tolerances;
  const pts = +(t.maxErrorRateIncrease * 100).toFixed(2);
  return (
    `tolerances: score drop ≤ ${t.maxScoreDrop} points; latency rise ≤ ${+(t.maxLatencyIncrease * 100).toFixed(2)}% or ${ms(t.latencyFloorMs)}, whichever is more; ` +
    `error rate rise ≤ ${pts} point${pts === 1 ? '' : 's'} or to ${c.rule.minErrorRateRatio}x, whichever is more; ` +
    `time-to-recover increase ≤ ${formatDuration(t.maxTtrIncreaseMs)}; latency and errors count only beyond the runs' own noise (p < ${c.rule.alpha})`
  );
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
  lines.push('', `  ${tolerancesLine(c)}; † not gating`);
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
    ...rows(c).map(
      (r) => `| ${r.map((x) => (x === 'REGRESSION' ? '**REGRESSION**' : esc(x))).join(' | ')} |`,
    ),
    '',
    `<sub>${esc(tolerancesLine(c))}; † not gating</sub>`,
  ];
  if (c.regressions.length) lines.push('', ...c.regressions.map((r) => `- ❌ ${esc(r.message)}`));
  if (c.warnings.length) lines.push('', ...c.warnings.map((x) => `- ⚠️ ${esc(x)}`));
  return `${lines.join('\n')}\n`;
}

export const compareCommand: Command = (cli, setCode) =>
  cli.command(
    'compare <old> <new>',
    "compare two results.json files: score, latency and error rate per phase (judged against the runs' own noise), time-to-recover and objectives; exit 1 on a regression",
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
        .option('max-latency-increase', {
          type: 'string',
          default: `${DEFAULT_TOLERANCES.maxLatencyIncrease * 100}%`,
          describe: "how much a phase's typical per-second p50 or p99 may rise",
        })
        .option('latency-floor', {
          type: 'string',
          default: `${DEFAULT_TOLERANCES.latencyFloorMs}ms`,
          describe: 'a latency rise this small is never a regression, whatever the percentage',
        })
        .option('max-error-rate-increase', {
          type: 'string',
          default: `${DEFAULT_TOLERANCES.maxErrorRateIncrease * 100}%`,
          describe: "how many percentage points a phase's error rate may rise",
        })
        .option('max-p99-increase', {
          type: 'string',
          hidden: true,
          describe: 'the former name of --max-latency-increase',
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
      if (!(Number.isFinite(args.maxScoreDrop) && args.maxScoreDrop >= 0)) {
        throw new InputError(
          `--max-score-drop must be a number of points, 0 or more, got ${args.maxScoreDrop}`,
        );
      }
      const tolerances: Tolerances = {
        maxScoreDrop: args.maxScoreDrop,
        maxLatencyIncrease:
          args.maxP99Increase !== undefined
            ? parseIncrease(args.maxP99Increase, '--max-p99-increase')
            : parseIncrease(args.maxLatencyIncrease),
        latencyFloorMs: parseTtrIncrease(args.latencyFloor, '--latency-floor'),
        maxErrorRateIncrease: parseIncrease(args.maxErrorRateIncrease, '--max-error-rate-increase'),
        maxTtrIncreaseMs: parseTtrIncrease(args.maxTtrIncrease),
      };
      const c = await compareFiles(args.old, args.new, tolerances, (l) => process.stderr.write(`${l}\n`));
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
