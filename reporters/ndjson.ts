/**
 * samples.ndjson: the run as k6 `--out json` lines (Metric declarations and Point samples), so
 * tools that read k6 output read ours. Line shapes follow k6's documented JSON output:
 *   {"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","tainted":null,"thresholds":[],"submetrics":null},"metric":"http_reqs"}
 *   {"type":"Point","data":{"time":"2026-11-25T14:00:05.000000000Z","value":1,"tags":{...}},"metric":"http_reqs"}
 *
 * What is rebuilt from results.json, and how exactly (docs/k6.md, "The ndjson report"):
 *   - http_req_duration (trend) and http_req_failed (rate): one Point per completed request, as k6
 *     writes them. Values come from the second's HdrHistogram, so each is exact to its bucket
 *     (3 significant digits); percentiles over the points equal the result's. results.json keeps
 *     one-second resolution, so a second's requests are spread evenly over it in a seeded order.
 *     Durations carry `expected_response` from the failed-request histogram (schema ≥ 2); `status`
 *     and `error` only where every request of that outcome in that second shared one.
 *   - http_reqs, dropped_iterations and the chaoskit_* counters and gauges: one Point per second
 *     (and per status), whose value is the count. k6 counters sum, so totals are exact.
 * Latency is measured from the *intended* send time (k6's from the actual send).
 */
import { decode, type Histogram } from '../src/core/hist.ts';
import { classifyStatus } from '../src/core/error-kinds.ts';
import { createPrng, type Prng } from '../src/load/prng.ts';
import type { RunResult, TimelineSecond } from '../src/result.ts';
import type { Reporter } from './shared.ts';

type MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
type Tags = Record<string, string>;

/** Every metric written, with k6's type and `contains` (time values are milliseconds). */
export const NDJSON_METRICS: Record<string, { type: MetricType; contains: 'default' | 'time' }> = {
  http_reqs: { type: 'counter', contains: 'default' },
  http_req_duration: { type: 'trend', contains: 'time' },
  http_req_failed: { type: 'rate', contains: 'default' },
  dropped_iterations: { type: 'counter', contains: 'default' },
  chaoskit_requested_rate: { type: 'gauge', contains: 'default' },
  chaoskit_achieved_rate: { type: 'gauge', contains: 'default' },
  chaoskit_active_faults: { type: 'gauge', contains: 'default' },
  chaoskit_stream_events: { type: 'counter', contains: 'default' },
  chaoskit_streams_completed: { type: 'counter', contains: 'default' },
  chaoskit_streams_cut: { type: 'counter', contains: 'default' },
  chaoskit_time_to_first_event: { type: 'trend', contains: 'time' },
};

/** RFC 3339 with nanoseconds, like k6's timestamps: `2026-11-25T14:00:05.250000000Z`. */
export function k6Time(epochMs: number, offsetNs = 0): string {
  const whole = Math.floor(epochMs / 1000) * 1000;
  const ns = Math.round((epochMs - whole) * 1e6) + offsetNs;
  const carry = Math.floor(ns / 1e9);
  return `${new Date(whole + carry * 1000).toISOString().slice(0, 19)}.${String(ns - carry * 1e9).padStart(9, '0')}Z`;
}

/** The values recorded in a histogram (milliseconds), each repeated by its count. */
function values(h: Histogram | null): number[] {
  const out: number[] = [];
  if (!h || h.totalCount === 0) return out;
  const it = (h as unknown as { recordedValuesIterator: RecordedValues }).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    // The bucket's highest equivalent value: what getValueAtPercentile reports, so percentiles agree.
    for (let i = 0; i < v.countAddedInThisIterationStep; i++) out.push(v.valueIteratedTo / 1000);
  }
  return out;
}
interface RecordedValues {
  reset(): void;
  hasNext(): boolean;
  next(): { valueIteratedTo: number; countAddedInThisIterationStep: number };
}

function shuffle<T>(a: T[], prng: Prng): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Failure kinds with no response at all: k6 gives those status 0. */
const NO_RESPONSE = new Set(['refused', 'reset', 'timeout', 'dns', 'tls', 'other']);

/**
 * How a second's completed requests split into outcomes, for `http_reqs` and the request tags.
 * Exact: the groups add up to ok + failed. A status is named only where the counts prove which
 * requests had it (gRPC calls have none; a cut SSE stream had a 2xx but counts as failed).
 */
function outcomes(s: TimelineSecond): { n: number; failed: boolean; tags: Tags }[] {
  const out: { n: number; failed: boolean; tags: Tags }[] = [];
  const okCodes = Object.entries(s.status).filter(([c]) => classifyStatus(Number(c)) === null);
  const cut = s.errors.stream_cut ?? 0;
  const okByStatus = cut === 0 && okCodes.reduce((a, [, n]) => a + n, 0) === s.ok;
  if (okByStatus) for (const [code, n] of okCodes) out.push({ n, failed: false, tags: { status: code } });
  else if (s.ok > 0) out.push({ n: s.ok, failed: false, tags: {} });
  for (const [kind, n] of Object.entries(s.errors)) {
    if (!n) continue;
    const cls = kind === 'http_4xx' ? 4 : kind === 'http_5xx' ? 5 : 0;
    const codes = cls ? Object.entries(s.status).filter(([c]) => Math.floor(Number(c) / 100) === cls) : [];
    if (cls && codes.reduce((a, [, m]) => a + m, 0) === n)
      for (const [code, m] of codes) out.push({ n: m, failed: true, tags: { status: code, error: kind } });
    else
      out.push({ n, failed: true, tags: { ...(NO_RESPONSE.has(kind) ? { status: '0' } : {}), error: kind } });
  }
  return out;
}

/** The tags every request of one outcome (ok or failed) in a second shared, if they did. */
function sharedTags(groups: { failed: boolean; tags: Tags }[], failed: boolean): Tags {
  const same = groups.filter((g) => g.failed === failed);
  if (same.length !== 1) return {};
  return same[0]!.tags;
}

class Writer {
  private declared = new Set<string>();
  out: string[] = [];
  point(metric: string, time: string, value: number, tags: Tags | string): void {
    if (!this.declared.has(metric)) {
      this.declared.add(metric);
      const m = NDJSON_METRICS[metric]!;
      this.out.push(
        `${JSON.stringify({ type: 'Metric', data: { name: metric, type: m.type, contains: m.contains, tainted: null, thresholds: [], submetrics: null }, metric })}\n`,
      );
    }
    const t = typeof tags === 'string' ? tags : JSON.stringify(tags);
    this.out.push(
      `{"type":"Point","data":{"time":"${time}","value":${value},"tags":${t}},"metric":"${metric}"}\n`,
    );
  }
  take(): string {
    const s = this.out.join('');
    this.out = [];
    return s;
  }
}

/** The report in chunks (one per second of the run), so long runs stream to disk. */
export function* ndjsonChunks(r: RunResult): Generator<string> {
  const w = new Writer();
  const base = Date.parse(r.loadStartedAt ?? r.startedAt);
  const phaseOf = new Map<number, string>();
  for (const p of r.verdict?.phases ?? []) for (const t of p.seconds) phaseOf.set(t, p.name);
  for (const s of r.timeline) {
    const at = base + s.t * 1000;
    const time = k6Time(at);
    const common: Tags = { scenario: r.scenario.name };
    const phase = phaseOf.get(s.t);
    if (phase) common.phase = phase;
    if (s.activeFaults.length) common.faults = s.activeFaults.join(',');

    w.point('chaoskit_requested_rate', time, s.requested, common);
    w.point('chaoskit_achieved_rate', time, s.sent, common);
    w.point('chaoskit_active_faults', time, s.activeFaults.length, common);
    if (s.dropped > 0) w.point('dropped_iterations', time, s.dropped, common);
    const groups = outcomes(s);
    for (const g of groups)
      w.point('http_reqs', time, g.n, { ...common, ...g.tags, expected_response: String(!g.failed) });

    // Per request: the latency and outcome of each completed request of this second.
    const all = s.hist ? decode(s.hist) : null;
    const failedH = s.failedHist ? decode(s.failedHist) : null;
    const known = failedH !== null || s.failed === 0;
    let reqs: { ms: number; failed: boolean }[];
    if (known) {
      const okH = all && failedH ? (all.subtract(failedH), all) : all;
      reqs = [
        ...values(okH).map((ms) => ({ ms, failed: false })),
        ...values(failedH).map((ms) => ({ ms, failed: true })),
      ];
    } else {
      // Schema 1 (migrated): which latency belonged to a failure was not recorded.
      reqs = values(all).map((ms, i) => ({ ms, failed: i >= s.ok }));
    }
    const prng = createPrng((r.seed ^ Math.imul(s.t + 1, 0x9e3779b1)) >>> 0);
    shuffle(reqs, prng);
    const tagsFor = (failed: boolean) =>
      JSON.stringify({
        ...common,
        ...(known ? { expected_response: String(!failed), ...sharedTags(groups, failed) } : {}),
      });
    const okTags = tagsFor(false);
    const failedTags = tagsFor(true);
    reqs.forEach((q, i) => {
      const t = k6Time(at, Math.floor((i * 1e9) / reqs.length));
      const tags = q.failed ? failedTags : okTags;
      w.point('http_req_duration', t, q.ms, tags);
      w.point('http_req_failed', t, q.failed ? 1 : 0, tags);
    });

    if (s.stream) {
      w.point('chaoskit_stream_events', time, s.stream.events, common);
      w.point('chaoskit_streams_completed', time, s.stream.completed, common);
      w.point('chaoskit_streams_cut', time, s.stream.cut, common);
      const ttfe = shuffle(values(s.stream.firstEventHist ? decode(s.stream.firstEventHist) : null), prng);
      const tags = JSON.stringify(common);
      ttfe.forEach((ms, i) =>
        w.point('chaoskit_time_to_first_event', k6Time(at, Math.floor((i * 1e9) / ttfe.length)), ms, tags),
      );
    }
    yield w.take();
  }
}

export const ndjson: Reporter = {
  file: 'samples.ndjson',
  render: (r) => [...ndjsonChunks(r)].join(''),
  chunks: ndjsonChunks,
};
