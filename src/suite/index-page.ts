/**
 * The suite's artifacts index: index.html linking every scenario's reports with its score and
 * verdict, summary.md, job-summary.md (for $GITHUB_STEP_SUMMARY), and one junit.xml merging every
 * scenario's test suites. Built from the per-scenario folders the pipeline wrote (results.json,
 * report.md, exit-code, compare.json).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from '../result.ts';

export interface ScenarioOutcome {
  name: string;
  exitCode: number | null;
  result: RunResult | null;
  regression: string[] | null;
}

const EXIT_MEANING: Record<number, string> = {
  0: 'pass',
  1: 'SLO missed',
  2: 'invalid input',
  3: 'aborted',
  4: 'REVERT FAILED',
  5: 'internal error',
};

export function readOutcome(dir: string, name: string): ScenarioOutcome {
  const d = join(dir, name);
  const read = (f: string) => (existsSync(join(d, f)) ? readFileSync(join(d, f), 'utf8') : null);
  const code = read('exit-code');
  const results = read('results.json');
  const cmp = read('compare.json');
  let regression: string[] | null = null;
  if (cmp) {
    try {
      const c = JSON.parse(cmp) as { regressions?: { message?: string }[] | string[] };
      regression = (c.regressions ?? []).map((r) =>
        typeof r === 'string' ? r : (r.message ?? JSON.stringify(r)),
      );
    } catch {
      regression = ['compare.json could not be read'];
    }
  }
  let result: RunResult | null = null;
  try {
    result = results ? (JSON.parse(results) as RunResult) : null;
  } catch {
    result = null;
  }
  return { name, exitCode: code === null ? null : Number(code.trim()), result, regression };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function verdictText(o: ScenarioOutcome): string {
  const v = o.result?.verdict;
  const status = v
    ? v.status
    : o.exitCode !== null
      ? (EXIT_MEANING[o.exitCode] ?? `exit ${o.exitCode}`)
      : 'not run';
  return o.exitCode === 4 ? `REVERT FAILED (${status})` : status;
}

const icon = (o: ScenarioOutcome) =>
  o.exitCode === 0 && !o.regression?.length ? '✅' : o.exitCode === 4 ? '🚨' : '❌';
/** Text for a Markdown table cell: no line breaks, no column separators. */
const cell = (s: string) => s.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
const EXIT_LINE =
  'Exit codes: 0 pass, 1 SLO missed or regression, 2 invalid input, 3 aborted, 4 a fault could not be reverted, 5 internal error. The suite exits with the worst: 4 > 5 > 2 > 3 > 1 > 0.';

/** The suite table; `link` gives a scenario's name cell (a link in the artifacts, plain text elsewhere). */
function suiteTable(
  suite: string,
  outs: ScenarioOutcome[],
  exitCode: number,
  link: (o: ScenarioOutcome) => string,
): string[] {
  const rows = outs.map((o) => {
    const v = o.result?.verdict;
    const reg =
      o.regression === null ? 'no previous run' : o.regression.length ? o.regression.join('; ') : 'none';
    return `| ${icon(o)} | ${link(o)} | ${verdictText(o)} | ${v ? `${v.score} (${v.grade})` : '–'} | ${o.exitCode ?? '–'} | ${cell(reg)} |`;
  });
  return [
    `# Resilience suite ${suite}: ${exitCode === 0 ? 'passed' : `failed (exit ${exitCode})`}`,
    '',
    '| | scenario | verdict | score | exit | regressions |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    EXIT_LINE,
    '',
  ];
}

/** summary.md in the artifacts folder: the suite table, each scenario linked to its report.md beside it. */
export function summaryMarkdown(suite: string, outs: ScenarioOutcome[], exitCode: number): string {
  return suiteTable(suite, outs, exitCode, (o) => `[${o.name}](${o.name}/report.md)`).join('\n');
}

/** A scenario's report.md, at most this much of it, in the job summary (GitHub allows 1 MiB per step). */
const DETAILS_MAX_BYTES = 64 * 1024;

/**
 * job-summary.md, for $GITHUB_STEP_SUMMARY: the suite table first, then each scenario's report
 * collapsed in a <details> block. A job summary is shown on the run's page, away from the
 * artifacts, so it has no relative links (they could not resolve there): scenario names are plain
 * text, and links in the embedded reports that are not absolute http(s) URLs become their text.
 */
export function jobSummaryMarkdown(
  dir: string,
  suite: string,
  outs: ScenarioOutcome[],
  exitCode: number,
): string {
  const out = suiteTable(suite, outs, exitCode, (o) => `\`${o.name}\``);
  out.push(
    "Every report (index.html, and per scenario report.html, report.md, junit.xml, results.json) is in this run's artifacts.",
    '',
  );
  for (const o of outs) {
    const v = o.result?.verdict;
    const head = `${o.name}: ${verdictText(o)}${v ? `, score ${v.score} (${v.grade})` : ''}, exit ${o.exitCode ?? '–'}`;
    const f = join(dir, o.name, 'report.md');
    let body = existsSync(f)
      ? readFileSync(f, 'utf8')
      : `No report: the scenario ${o.exitCode === null ? 'did not run' : `exited ${o.exitCode} (${EXIT_MEANING[o.exitCode] ?? 'unknown'}) without one`}; see its run.log in the artifacts.`;
    if (Buffer.byteLength(body) > DETAILS_MAX_BYTES) {
      body = `${Buffer.from(body)
        .subarray(0, DETAILS_MAX_BYTES)
        .toString('utf8')
        .replace(
          /\n[^\n]*$/,
          '',
        )}\n\n_(cut at ${DETAILS_MAX_BYTES / 1024} KiB: the whole report.md is in the artifacts)_`;
    }
    out.push(`<details><summary>${esc(head)}</summary>`, '', unlink(body).trim(), '', '</details>', '');
  }
  return out.join('\n');
}

/** Markdown and HTML links that are not absolute http(s) URLs become their text; such images go. */
function unlink(md: string): string {
  return md
    .replace(/!\[([^\]]*)\]\((?!https?:\/\/)[^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\((?!https?:\/\/)[^)]*\)/g, '$1')
    .replace(/<a\s[^>]*href="(?!https?:\/\/)[^"]*"[^>]*>([\s\S]*?)<\/a>/gi, '$1');
}

export function indexHtml(suite: string, outs: ScenarioOutcome[], exitCode: number): string {
  const rows = outs
    .map((o) => {
      const v = o.result?.verdict;
      const ok = o.exitCode === 0 && !o.regression?.length;
      const reg =
        o.regression === null
          ? 'no previous run'
          : o.regression.length
            ? o.regression.map(esc).join('<br>')
            : 'none';
      return `<tr class="${ok ? 'ok' : 'bad'}"><td>${esc(o.name)}</td><td>${esc(verdictText(o))}</td><td>${v ? `${v.score} (${esc(v.grade)})` : '–'}</td><td>${o.exitCode ?? '–'}</td><td>${reg}</td>
<td><a href="${encodeURI(o.name)}/report.html">HTML</a> · <a href="${encodeURI(o.name)}/report.md">Markdown</a> · <a href="${encodeURI(o.name)}/junit.xml">JUnit</a> · <a href="${encodeURI(o.name)}/results.json">JSON</a></td></tr>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Resilience suite ${esc(suite)}</title>
<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem;color:#1d2330}table{border-collapse:collapse}td,th{padding:.4rem .8rem;border-bottom:1px solid #dde}
tr.ok td:first-child{border-left:4px solid #2f9e44}tr.bad td:first-child{border-left:4px solid #e03131}h1{font-weight:600}</style></head>
<body><h1>Resilience suite ${esc(suite)}: ${exitCode === 0 ? 'passed' : `failed (exit ${exitCode})`}</h1>
<table><thead><tr><th>scenario</th><th>verdict</th><th>score</th><th>exit</th><th>regressions</th><th>reports</th></tr></thead><tbody>
${rows}
</tbody></table><p>Generated ${esc(new Date().toISOString())} by chaoskit.</p></body></html>
`;
}

/** One <testsuites> document holding every scenario's <testsuite> elements. */
export function mergeJunit(dir: string, outs: ScenarioOutcome[]): string {
  const suites: string[] = [];
  for (const o of outs) {
    const f = join(dir, o.name, 'junit.xml');
    if (existsSync(f)) {
      const xml = readFileSync(f, 'utf8');
      suites.push(...(xml.match(/<testsuite[\s>][\s\S]*?<\/testsuite>/g) ?? []));
    } else {
      // A scenario that produced no report still shows up in CI, as an error.
      const why =
        o.exitCode === null
          ? 'did not run'
          : `exited ${o.exitCode} (${EXIT_MEANING[o.exitCode] ?? 'unknown'}) without a report`;
      suites.push(
        `<testsuite name="chaoskit.${esc(o.name)}" tests="1" failures="0" errors="1" skipped="0" time="0"><testcase classname="chaoskit.${esc(o.name)}" name="run" time="0"><error message="${esc(why)}" type="run"/></testcase></testsuite>`,
      );
    }
    if (o.regression?.length) {
      suites.push(
        `<testsuite name="chaoskit.${esc(o.name)}.regression" tests="1" failures="1" errors="0" skipped="0" time="0"><testcase classname="chaoskit.${esc(o.name)}" name="no regression against the previous run" time="0"><failure message="${esc(o.regression.join('; '))}" type="regression"/></testcase></testsuite>`,
      );
    }
  }
  // Totals from each suite's opening tag (never a testcase's time); summed in milliseconds.
  const total = (name: string) =>
    suites.reduce((n, x) => {
      const open = /^<testsuite\b[^>]*>/.exec(x)?.[0] ?? '';
      return n + Math.round(Number(new RegExp(`\\b${name}="([\\d.]+)"`).exec(open)?.[1] ?? 0) * 1000);
    }, 0) / 1000;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="chaoskit" tests="${total('tests')}" failures="${total('failures')}" errors="${total('errors')}" time="${total('time')}">\n${suites.join('\n')}\n</testsuites>\n`;
}

export function writeSuiteIndex(dir: string, suite: string, names: string[], exitCode: number): void {
  const outs = names.map((n) => readOutcome(dir, n));
  writeFileSync(join(dir, 'index.html'), indexHtml(suite, outs, exitCode));
  writeFileSync(join(dir, 'summary.md'), summaryMarkdown(suite, outs, exitCode));
  writeFileSync(join(dir, 'job-summary.md'), jobSummaryMarkdown(dir, suite, outs, exitCode));
  writeFileSync(join(dir, 'junit.xml'), mergeJunit(dir, outs));
}
