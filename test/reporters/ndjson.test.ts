/**
 * The ndjson reporter: chaoskit results as k6 `--out json` lines. Checked three ways: every line has
 * the shape k6 documents; aggregating the lines the way a k6 tool does gives back the result's
 * counts and percentiles; and our own k6 NDJSON reader (tested on k6's documented lines) reads them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ndjsonChunks, NDJSON_METRICS, k6Time } from '../../reporters/ndjson.ts';
import { render, writeReports } from '../../reporters/index.ts';
import { parseK6Ndjson } from '../../src/k6/ndjson.ts';
import { decode, encode, newHistogram, recordMs, summarize } from '../../src/core/hist.ts';
import type { RunResult } from '../../src/result.ts';
import { tempDir } from '../helpers/files.ts';
import { partitionRun, synthetic } from './synthetic.ts';

interface Line {
  type: 'Metric' | 'Point';
  metric: string;
  data: {
    name?: string;
    type?: string;
    contains?: string;
    time?: string;
    value?: number;
    tags?: Record<string, string> | null;
  };
}

const parse = (text: string): Line[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
const points = (lines: Line[], metric: string, second?: { base: number; t: number }) =>
  lines.filter(
    (l) =>
      l.type === 'Point' &&
      l.metric === metric &&
      (!second || Math.floor((Date.parse(l.data.time!) - second.base) / 1000) === second.t),
  );
/** HdrHistogram's percentile: the value at rank ceil(p/100 · n) of the sorted values. */
const pct = (vs: number[], p: number) => [...vs].sort((a, b) => a - b)[Math.ceil((p / 100) * vs.length) - 1];

describe('ndjson reporter', () => {
  const result = partitionRun();
  const text = render(result, 'ndjson');
  const lines = parse(text);
  const base = Date.parse(result.startedAt);

  it('writes only lines of the shapes k6 documents, each metric declared once before its points', () => {
    expect(text.endsWith('\n')).toBe(true);
    const declared = new Set<string>();
    for (const l of lines) {
      expect(Object.keys(l).sort()).toEqual(['data', 'metric', 'type']);
      if (l.type === 'Metric') {
        expect(declared.has(l.metric)).toBe(false);
        declared.add(l.metric);
        expect(l.data).toEqual({
          name: l.metric,
          type: NDJSON_METRICS[l.metric]!.type,
          contains: NDJSON_METRICS[l.metric]!.contains,
          tainted: null,
          thresholds: [],
          submetrics: null,
        });
      } else {
        expect(l.type).toBe('Point');
        expect(declared.has(l.metric), `${l.metric} used before its Metric line`).toBe(true);
        expect(Object.keys(l.data).sort()).toEqual(['tags', 'time', 'value']);
        expect(l.data.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        expect(typeof l.data.value).toBe('number');
        expect(Number.isFinite(l.data.value)).toBe(true);
        for (const v of Object.values(l.data.tags ?? {})) expect(typeof v).toBe('string');
      }
    }
    expect([...declared].sort()).toEqual(
      [
        'chaoskit_achieved_rate',
        'chaoskit_active_faults',
        'chaoskit_requested_rate',
        'http_req_duration',
        'http_req_failed',
        'http_reqs',
      ].sort(),
    );
  });

  it('aggregated as a k6 tool would, the points give back every second of the result', () => {
    for (const s of result.timeline) {
      const at = { base, t: s.t };
      const durations = points(lines, 'http_req_duration', at).map((l) => l.data.value!);
      const failed = points(lines, 'http_req_failed', at).map((l) => l.data.value!);
      expect(durations.length).toBe(s.ok + s.failed);
      expect(failed.filter((v) => v === 1).length).toBe(s.failed);
      expect(failed.length).toBe(s.ok + s.failed);
      const reqs = points(lines, 'http_reqs', at).reduce((a, l) => a + l.data.value!, 0);
      expect(reqs).toBe(s.ok + s.failed);
      // Exact: the points are the histogram's values, so its percentiles are the result's.
      expect(pct(durations, 50)).toBe(s.latencyMs!.p50);
      expect(pct(durations, 99)).toBe(s.latencyMs!.p99);
      // HdrHistogram keeps 3 significant digits: a value is its bucket's highest equivalent.
      expect(Math.abs(Math.max(...durations) - s.latencyMs!.max)).toBeLessThanOrEqual(
        s.latencyMs!.max / 1000,
      );
      expect(points(lines, 'chaoskit_requested_rate', at).map((l) => l.data.value)).toEqual([s.requested]);
      expect(points(lines, 'chaoskit_achieved_rate', at).map((l) => l.data.value)).toEqual([s.sent]);
    }
  });

  it('tags each request with its outcome from the failed-request histogram, and the fault and phase', () => {
    const s = result.timeline[25]!; // inside the partition: 40 ok, 60 failed (503)
    const at = { base, t: 25 };
    const durations = points(lines, 'http_req_duration', at);
    const bad = durations.filter((l) => l.data.tags!.expected_response === 'false');
    expect(bad.length).toBe(60);
    // The failed points' latencies are exactly the failed-request histogram's.
    const got = newHistogram();
    for (const l of bad) recordMs(got, l.data.value!);
    expect(got.totalCount).toBe(60);
    expect(summarize(got)).toEqual(summarize(decode(s.failedHist!)));
    expect(bad[0]!.data.tags).toEqual({
      scenario: 'partition',
      phase: 'fault',
      faults: 'f1',
      expected_response: 'false',
      status: '503',
      error: 'http_5xx',
    });
    const good = durations.filter((l) => l.data.tags!.expected_response === 'true');
    expect(good.length).toBe(40);
    expect(good[0]!.data.tags!.status).toBe('200');
    // Each duration point has its outcome point at the same time with the same tags (k6 pairs them).
    const outcomes = points(lines, 'http_req_failed', at);
    durations.forEach((d, i) => {
      expect(outcomes[i]!.data.time).toBe(d.data.time);
      expect(outcomes[i]!.data.value).toBe(d.data.tags!.expected_response === 'false' ? 1 : 0);
    });
    // Spread evenly over the second, in order: unique timestamps.
    expect(new Set(durations.map((d) => d.data.time)).size).toBe(100);
    // Outside the fault: baseline and recovery.
    expect(points(lines, 'http_reqs', { base, t: 2 })[0]!.data.tags!.phase).toBe('baseline');
    expect(points(lines, 'http_reqs', { base, t: 50 })[0]!.data.tags!.phase).toBe('recovery');
  });

  it('leaves status out where the second mixed several, and counts transport errors as status 0', () => {
    const r = synthetic({
      name: 'mixed',
      seconds: 3,
      at: (t) =>
        t === 1 ? { ok: 10, failed: 5, ms: 30, errorKind: 'refused' } : { ok: 10, failed: 0, ms: 5 },
    });
    const s = r.timeline[1]!;
    s.status = { 200: 6, 204: 4 }; // mixed ok statuses; the 5 failures were refused connections
    const out = parse(render(r, 'ndjson'));
    const b = Date.parse(r.startedAt);
    const reqs = points(out, 'http_reqs', { base: b, t: 1 }).map((l) => [l.data.tags!.status, l.data.value]);
    expect(reqs).toEqual([
      ['200', 6],
      ['204', 4],
      ['0', 5],
    ]);
    const d = points(out, 'http_req_duration', { base: b, t: 1 });
    const okTags = d.find((l) => l.data.tags!.expected_response === 'true')!.data.tags!;
    const badTags = d.find((l) => l.data.tags!.expected_response === 'false')!.data.tags!;
    expect(okTags.status).toBeUndefined();
    expect(badTags).toMatchObject({ status: '0', error: 'refused' });
  });

  it('http_reqs adds up to every completed request for gRPC calls (no HTTP status) and cut SSE streams', () => {
    const r = synthetic({ name: 'kinds', seconds: 2, at: () => ({ ok: 8, failed: 2, ms: 20 }) });
    // A gRPC second: no HTTP statuses at all; two UNAVAILABLE calls.
    Object.assign(r.timeline[0]!, { status: {}, errors: { grpc_unavailable: 2 } });
    // An SSE second: 8 complete streams and 2 cut ones, all answered 200 first.
    Object.assign(r.timeline[1]!, { status: { 200: 10 }, errors: { stream_cut: 2 } });
    const out = parse(render(r, 'ndjson'));
    const b = Date.parse(r.startedAt);
    const reqs = (t: number) =>
      points(out, 'http_reqs', { base: b, t }).map((l) => [
        l.data.value,
        l.data.tags!.expected_response,
        l.data.tags!.status,
        l.data.tags!.error,
      ]);
    expect(reqs(0)).toEqual([
      [8, 'true', undefined, undefined],
      [2, 'false', undefined, 'grpc_unavailable'],
    ]);
    expect(reqs(1)).toEqual([
      [8, 'true', undefined, undefined],
      [2, 'false', undefined, 'stream_cut'],
    ]);
    const failedTags = points(out, 'http_req_duration', { base: b, t: 1 }).find(
      (l) => l.data.tags!.expected_response === 'false',
    )!.data.tags!;
    expect(failedTags).toMatchObject({ error: 'stream_cut' });
    expect(failedTags.status).toBeUndefined(); // not 0: the server did answer
  });

  it('is read back by the k6 NDJSON reader: same totals, same latency percentiles', () => {
    const parsed = parseK6Ndjson(text, 'samples.ndjson');
    const seconds = parsed.store.timeline(parsed.seconds);
    const sum = (k: 'ok' | 'failed') => seconds.reduce((a, s) => a + s[k], 0);
    expect(sum('ok')).toBe(result.totals.ok);
    expect(sum('failed')).toBe(result.totals.failed);
    expect(parsed.warnings.filter((w) => w.includes('left out'))).toEqual([]);
    const total = summarize(decode(result.totals.hist!))!;
    const back = summarize(parsed.store.totalLatency)!;
    for (const p of ['p50', 'p99', 'max'] as const) expect(back[p]).toBeCloseTo(total[p], 1);
    // The failures keep their kind through the status tag.
    const errs = seconds.reduce((a, s) => a + (s.errors.http_5xx ?? 0), 0);
    expect(errs).toBe(result.totals.failed);
  });

  it('writes streaming seconds as time-to-first-event points and stream counters', () => {
    const r = synthetic({ name: 'stream', seconds: 2, at: () => ({ ok: 4, failed: 0, ms: 50 }) });
    const h = newHistogram();
    for (const ms of [120, 130, 400]) recordMs(h, ms);
    r.timeline[0]!.stream = {
      events: 90,
      completed: 2,
      cut: 1,
      firstEventMs: summarize(h),
      gapMs: { p50: 20, p99: 40, max: 41 },
      firstEventHist: encode(h),
    };
    const out = parse(render(r, 'ndjson'));
    const b = Date.parse(r.startedAt);
    const ttfe = points(out, 'chaoskit_time_to_first_event', { base: b, t: 0 }).map((l) => l.data.value);
    const sorted = [...ttfe].sort((a, c) => a! - c!);
    [120, 130, 400].forEach((ms, i) => expect(Math.abs(sorted[i]! - ms)).toBeLessThanOrEqual(ms / 1000));
    expect(points(out, 'chaoskit_streams_cut').map((l) => l.data.value)).toEqual([1]);
    expect(points(out, 'chaoskit_stream_events').map((l) => l.data.value)).toEqual([90]);
    expect(points(out, 'chaoskit_time_to_first_event', { base: b, t: 1 })).toEqual([]);
  });

  it('counts dropped arrivals as k6 dropped_iterations, and times from the load start when known', () => {
    const r: RunResult = { ...partitionRun(), loadStartedAt: '2026-01-02T03:04:09.000Z' };
    r.timeline[4]!.dropped = 17;
    const out = parse(render(r, 'ndjson'));
    const dropped = points(out, 'dropped_iterations');
    expect(dropped.map((l) => [l.data.time, l.data.value])).toEqual([['2026-01-02T03:04:13.000000000Z', 17]]);
    expect(parseK6Ndjson(render(r, 'ndjson'), 'x').store.timeline(60)[4]!.dropped).toBe(17);
  });

  it('streams to disk chunk by chunk through writeReports, byte for byte the rendered text', () => {
    const dir = tempDir('chaoskit-ndjson-');
    const { written, failed } = writeReports(result, dir, ['ndjson'], () => {});
    expect(failed).toEqual([]);
    expect(written).toEqual([join(dir, 'samples.ndjson')]);
    expect(readFileSync(written[0]!, 'utf8')).toBe(text);
    expect([...ndjsonChunks(result)].length).toBe(result.timeline.length);
  });

  it('k6Time formats nanosecond RFC 3339 timestamps and carries into the next second', () => {
    expect(k6Time(Date.parse('2026-11-25T14:00:05.250Z'))).toBe('2026-11-25T14:00:05.250000000Z');
    expect(k6Time(Date.parse('2026-11-25T14:00:05.250Z'), 999_000_001)).toBe(
      '2026-11-25T14:00:06.249000001Z',
    );
    expect(k6Time(Date.parse('2026-11-25T14:00:59.999Z'), 1_000_000)).toBe('2026-11-25T14:01:00.000000000Z');
  });

  it('renders the same lines for the same result (seeded order)', () => {
    expect(render(result, 'ndjson')).toBe(text);
  });
});
