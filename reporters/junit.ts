/**
 * junit.xml for CI test views (Jenkins, GitLab, GitHub test reporters). One <testsuite> per run:
 *   - one <testcase> per objective per phase, classname `chaoskit.<scenario>.<phase>`;
 *   - one per fault for its time to recover, classname `chaoskit.<scenario>.recovery`;
 *   - one for the error budget when the SLO sets maxSpend, classname `chaoskit.<scenario>.run`.
 * Mapping (docs/slo-format.md, "In the reports"): a gating miss is a <failure>; a non-gating miss passes
 * and describes the degradation in <system-out>; a baseline miss is <skipped> (an unmet
 * assumption, like JUnit's assumeTrue: the run is inconclusive, not failed); a fault that could not
 * be applied or reverted, and an aborted run, are <error>s.
 *
 * Valid against junit-10.xsd (the schema Jenkins' xunit plugin and most CI parsers follow): no
 * `skipped` on <testsuites>. Times add up: each phase's seconds are shared among that phase's
 * objective test cases, time-to-recover and budget cases take none of their own (their figures are
 * in the text), an aborted run's error case takes the seconds no objective covered, and every
 * <testsuite> and <testsuites> time is the sum of its test cases' (in whole milliseconds).
 */
import type { RunResult, Verdict } from '../src/result.ts';
import {
  budgetLine,
  fmtDur,
  runLine,
  scoreFormula,
  STATUS_LABEL,
  streamRows,
  ttrText,
  type Reporter,
} from './shared.ts';
import { captureLine, concurrencyLine, dataLines, flowRows, profileRows } from './flows.ts';

/** XML 1.0 text and attribute escaping; control characters XML cannot carry are dropped. */
export function xmlEsc(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(
        /[&<>"']/g,
        (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
      )
      .replace(/\n/g, '&#10;')
  );
}

type Outcome =
  | { kind: 'pass'; out?: string }
  | { kind: 'failure' | 'error'; message: string; type: string; detail?: string }
  | { kind: 'skipped'; message: string };

interface Case {
  classname: string;
  name: string;
  /** Whole milliseconds, so that sums are exact. */
  timeMs: number;
  outcome: Outcome;
}

/** `total` ms shared among `n` cases: equal parts, the remainder one ms at a time from the first. */
function share(totalMs: number, n: number): number[] {
  const base = Math.floor(totalMs / n);
  return Array.from({ length: n }, (_, i) => base + (i < totalMs - base * n ? 1 : 0));
}

const seconds = (ms: number) => String(ms / 1000);

function objectiveCases(r: RunResult, v: Verdict): Case[] {
  const cls = (p: string) => `chaoskit.${r.scenario.name}.${p}`;
  const phaseMs = (p: string) => (v.phases.find((x) => x.name === p)?.seconds.length ?? 0) * 1000;
  const perPhase = new Map<string, number[]>();
  for (const p of new Set(v.objectives.map((o) => o.phase))) {
    perPhase.set(p, share(phaseMs(p), v.objectives.filter((o) => o.phase === p).length));
  }
  return v.objectives.map((o): Case => {
    const vs = `${o.actual ?? 'no data'} vs target ${o.target}`;
    const lc = o.lowConfidence ? ` (low confidence: ${o.requests} requests)` : '';
    let outcome: Outcome;
    if (o.pass === null)
      outcome = {
        kind: 'skipped',
        message: `not judged: no data in the ${o.phase} phase (${o.requests} requests)`,
      };
    else if (o.pass) outcome = { kind: 'pass', out: `${o.phase}: ${vs}: met${lc}` };
    else if (o.phase === 'baseline')
      outcome = {
        kind: 'skipped',
        message: `inconclusive: the baseline already misses ${o.name} (${vs})${lc}; the system was not healthy before any fault`,
      };
    else if (o.gating)
      outcome = { kind: 'failure', type: 'slo', message: `${o.phase}: ${o.name} missed: ${vs}${lc}` };
    else
      outcome = {
        kind: 'pass',
        out: `degradation (not gating): during the ${o.phase} phase ${o.name} was missed: ${vs}${lc}. The ${o.phase} phase is judged through the error budget and time to recover.`,
      };
    return { classname: cls(o.phase), name: o.name, timeMs: perPhase.get(o.phase)!.shift()!, outcome };
  });
}

function faultCases(r: RunResult, v: Verdict | undefined): Case[] {
  const cls = `chaoskit.${r.scenario.name}.recovery`;
  return r.faults.map((f): Case => {
    const name = `${f.id} ${f.type} on ${f.target}: time to recover`;
    const rec = v?.recovery.find((x) => x.fault === f.id);
    let outcome: Outcome;
    if (f.status === 'revert-failed')
      outcome = {
        kind: 'error',
        type: 'revert-failed',
        message: `${f.id} could not be reverted: ${f.error ?? 'unknown error'}`,
        detail: `revert by hand: ${f.manualRevert ?? 'chaos emergency-stop'}`,
      };
    else if (f.status === 'apply-failed')
      outcome = {
        kind: 'error',
        type: 'apply-failed',
        message: `${f.id} could not be applied: ${f.error ?? 'unknown error'}`,
      };
    else if (!rec) outcome = { kind: 'skipped', message: `${f.id} was not applied (${f.status})` };
    else if (rec.pass === false)
      outcome = { kind: 'failure', type: 'recovery', message: `${f.id}: ${ttrText(rec)}` };
    else outcome = { kind: 'pass', out: `${f.id}: ${ttrText(rec)}` };
    return { classname: cls, name, timeMs: 0, outcome };
  });
}

function runCases(r: RunResult, v: Verdict | undefined, coveredMs: number): Case[] {
  const cls = `chaoskit.${r.scenario.name}.run`;
  const out: Case[] = [];
  if (r.status !== 'completed') {
    out.push({
      classname: cls,
      name: 'run completed',
      timeMs: Math.max(0, r.timeline.length * 1000 - coveredMs),
      outcome: {
        kind: 'error',
        type: r.status,
        message: `run ${r.status}${r.abort ? `: ${r.abort.reason}` : ''}`,
      },
    });
  }
  const b = v?.budget;
  if (b && b.maxSpend !== null) {
    const line = budgetLine(v)!;
    out.push({
      classname: cls,
      name: `error budget burned ≤ ${+(b.maxSpend * 100).toFixed(3)}%`,
      timeMs: 0,
      outcome:
        b.pass === false
          ? { kind: 'failure', type: 'error-budget', message: line }
          : { kind: 'pass', out: line },
    });
  }
  return out;
}

/**
 * One testcase per load stream of a multi-stream run (classname `chaoskit.<scenario>.streams`):
 * a failure when its own verdict is not a pass. Its objectives are among the objective testcases.
 */
function streamCases(r: RunResult): Case[] {
  const cls = `chaoskit.${r.scenario.name}.streams`;
  return streamRows(r).map((s): Case => {
    const figures = `${s.target} (service ${s.service}, engine ${s.engine}): ${STATUS_LABEL[s.status]}, score ${s.score}; sent ${s.sent}, ok ${s.ok}, failed ${s.failed}, dropped ${s.dropped}, p99 ${s.p99}`;
    const reasons = r.streams?.find((x) => x.name === s.name)?.verdict?.reasons ?? [];
    return {
      classname: cls,
      name: `stream ${s.name}`,
      timeMs: 0,
      outcome:
        s.status === 'pass'
          ? { kind: 'pass', out: figures }
          : { kind: 'failure', type: s.status, message: figures, detail: [figures, ...reasons].join('\n') },
    };
  });
}

/**
 * What was measured per flow and per step or request profile, one testcase each (classname
 * `chaoskit.<scenario>.profiles`): they pass and carry the figures in <system-out>; the
 * objectives about them are judged among the objective testcases above.
 */
function profileCases(r: RunResult): Case[] {
  const cls = `chaoskit.${r.scenario.name}.profiles`;
  const facts = [captureLine(r), concurrencyLine(r), ...dataLines(r)].filter(Boolean).join('\n');
  const flows = flowRows(r).map((f): Case => ({
    classname: cls,
    name: `flow ${f.name}: sessions`,
    // Figures only: no time of their own (the suite's time is the run's, covered by the objectives).
    timeMs: 0,
    outcome: {
      kind: 'pass',
      out: `sessions started ${f.started}, completed ${f.completed}, failed ${f.failed} (at step: ${f.failedAt}), stopped ${f.stopped}; duration ${f.duration}${facts ? `\n${facts}` : ''}`,
    },
  }));
  const profiles = profileRows(r).map((p): Case => ({
    classname: cls,
    name: `${p.flow ? 'step' : 'request'} ${p.name}: measured`,
    timeMs: 0,
    outcome: {
      kind: 'pass',
      out: [
        `sent ${p.sent}, ok ${p.ok}, failed ${p.failed}, not sent ${p.unsent}; latency from when it came due p50 ${p.p50}, p95 ${p.p95}, p99 ${p.p99}, max ${p.max}`,
        ...(p.firstEvent !== '–'
          ? [`streams: first event p50/p99 ${p.firstEvent}, gap p99 ${p.gapP99}, cut ${p.cut}`]
          : []),
        ...(p.errors !== '–' ? [`errors: ${p.errors}`] : []),
        ...p.notes,
      ].join('\n'),
    },
  }));
  return [...flows, ...profiles];
}

function testcase(c: Case): string {
  const open = `    <testcase classname="${xmlEsc(c.classname)}" name="${xmlEsc(c.name)}" time="${seconds(c.timeMs)}"`;
  const o = c.outcome;
  if (o.kind === 'pass')
    return o.out ? `${open}>\n      <system-out>${xmlEsc(o.out)}</system-out>\n    </testcase>` : `${open}/>`;
  if (o.kind === 'skipped')
    return `${open}>\n      <skipped message="${xmlEsc(o.message)}"/>\n    </testcase>`;
  return `${open}>\n      <${o.kind} message="${xmlEsc(o.message)}" type="${xmlEsc(o.type)}">${xmlEsc(o.detail ?? o.message)}</${o.kind}>\n    </testcase>`;
}

function render(r: RunResult): string {
  const v = r.verdict;
  const objectives = v ? objectiveCases(r, v) : [];
  const covered = objectives.reduce((n, c) => n + c.timeMs, 0);
  const cases = [
    ...objectives,
    ...faultCases(r, v),
    ...runCases(r, v, covered),
    ...streamCases(r),
    ...profileCases(r),
  ];
  const count = (k: Outcome['kind']) => cases.filter((c) => c.outcome.kind === k).length;
  const time = seconds(cases.reduce((n, c) => n + c.timeMs, 0));
  const totals = `tests="${cases.length}" failures="${count('failure')}" errors="${count('error')}"`;
  const props: [string, string | number][] = [
    ['scenario', r.scenario.name],
    ['scenario.file', r.scenario.file],
    ['run', runLine(r)],
    ['runId', r.runId],
    ['seed', r.seed],
    ['timeScale', r.timeScale],
    ['verdict', v ? v.status : 'not scored'],
  ];
  if (v)
    props.push(
      ['service', v.service],
      ['score', v.score],
      ['grade', v.grade],
      ['score.formula', scoreFormula(v)],
    );
  for (const why of v?.reasons ?? []) props.push(['reason', why]);
  const name = `chaoskit.${r.scenario.name}`;
  // timestamp: xs:dateTime without a zone, as the Ant schema has it; left out when unknown.
  const ts = r.startedAt.replace(/(\.\d+)?Z$/, '');
  const timestamp = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(ts) ? ` timestamp="${ts}"` : '';
  const summary = `${r.scenario.name}: ${v ? `${v.status}, score ${v.score} (${v.grade})` : 'not scored'}; ran ${fmtDur(r.plan.durationMs)}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="chaoskit" ${totals} time="${time}">`,
    `  <testsuite name="${xmlEsc(name)}" ${totals} skipped="${count('skipped')}" time="${time}"${timestamp} hostname="localhost" id="0" package="chaoskit">`,
    '    <properties>',
    ...props.map(([k, val]) => `      <property name="${xmlEsc(k)}" value="${xmlEsc(String(val))}"/>`),
    '    </properties>',
    ...cases.map(testcase),
    `    <system-out>${xmlEsc(summary)}</system-out>`,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export const junit: Reporter = { file: 'junit.xml', render };
