/**
 * k6's `--out json` NDJSON → chaoskit's per-second timeline, so scoring and reports work on a
 * k6 run unchanged. Documented line formats (k6 docs, "JSON output"):
 *   {"type":"Metric","data":{"name":"http_reqs","type":"counter",...},"metric":"http_reqs"}
 *   {"type":"Point","data":{"time":"2017-05-09T14:34:45.625742514+02:00","value":1,"tags":{...}},"metric":"http_reqs"}
 * k6 measures from the actual send, not the intended one: its latencies can hide coordinated
 * omission, and the result says so.
 */
import { InputError } from '../errors.ts';
import { MetricsStore } from '../metrics/store.ts';

interface PointLine {
  type: 'Point';
  metric: string;
  data: { time: string; value: number; tags?: Record<string, string> | null };
}

export interface K6Parsed {
  store: MetricsStore;
  seconds: number;
  points: number;
  warnings: string[];
}

/** Parses the whole NDJSON text. A torn last line (k6 killed mid-write) is reported and skipped. */
export function parseK6Ndjson(text: string, file: string, into: MetricsStore = new MetricsStore()): K6Parsed {
  const lines = text.split('\n');
  const warnings: string[] = [];
  const points: PointLine[] = [];
  const last = lines.length - 1;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      if (i === last) {
        warnings.push(
          `${file}:${i + 1}: the k6 output ends mid-line (k6 stopped while writing?); that last record was ignored`,
        );
        return;
      }
      throw new InputError(`${file}:${i + 1}: not a JSON line of k6 output: ${(err as Error).message}`);
    }
    const o = obj as { type?: unknown; metric?: unknown; data?: { time?: unknown; value?: unknown } };
    if (o.type === 'Metric') return;
    if (
      o.type !== 'Point' ||
      typeof o.metric !== 'string' ||
      typeof o.data?.time !== 'string' ||
      typeof o.data.value !== 'number'
    ) {
      throw new InputError(
        `${file}:${i + 1}: expected a k6 {"type":"Metric"|"Point",...} record, got ${line.slice(0, 80)}`,
      );
    }
    points.push(o as PointLine);
  });
  const times = points.map((p) => Date.parse(p.data.time));
  const t0 = Math.min(...times);
  const store = into;
  let maxSecond = 0;
  // One k6 request yields several points with the same tags and time; pair them by that key.
  const pending = new Map<string, { durationMs?: number; failed?: boolean; status?: number }>();
  const key = (p: PointLine) => `${p.data.time}|${p.data.tags?.name ?? ''}|${p.data.tags?.method ?? ''}`;
  points.forEach((p, i) => {
    const at = times[i]! - t0;
    maxSecond = Math.max(maxSecond, Math.floor(at / 1000));
    if (p.metric === 'dropped_iterations') {
      for (let n = 0; n < p.data.value; n++) {
        store.arrival(at);
        store.drop(at);
      }
      return;
    }
    if (p.metric !== 'http_req_duration' && p.metric !== 'http_req_failed') return;
    const k = key(p);
    const rec = pending.get(k) ?? {};
    if (p.metric === 'http_req_duration') rec.durationMs = p.data.value;
    else rec.failed = p.data.value === 1;
    rec.status = Number(p.data.tags?.status ?? 0);
    if (rec.durationMs !== undefined && rec.failed !== undefined) {
      pending.delete(k);
      const sentAt = at - rec.durationMs;
      store.arrival(sentAt);
      store.send(sentAt, sentAt);
      const err = rec.failed
        ? rec.status >= 500
          ? 'http_5xx'
          : rec.status >= 400
            ? 'http_4xx'
            : 'other'
        : null;
      store.result(sentAt, sentAt, at, rec.status, err);
    } else pending.set(k, rec);
  });
  if (pending.size > 0)
    warnings.push(
      `${pending.size} k6 request(s) had a duration or a failure flag but not both; they were left out`,
    );
  warnings.push(
    'k6 measures latency from the actual send time, not the intended one: under overload its figures can hide coordinated omission',
  );
  return { store, seconds: points.length ? maxSecond + 1 : 0, points: points.length, warnings };
}
