/**
 * k6's `--out json` NDJSON → chaoskit's per-second timeline, so scoring and reports work on a
 * k6 run unchanged. Documented line formats (k6 docs, "JSON output"):
 *   {"type":"Metric","data":{"name":"http_reqs","type":"counter",...},"metric":"http_reqs"}
 *   {"type":"Point","data":{"time":"2017-05-09T14:34:45.625742514+02:00","value":1,"tags":{...}},"metric":"http_reqs"}
 * k6 measures from the actual send, not the intended one: its latencies can hide coordinated
 * omission, and the result says so.
 *
 * A k6 file can hold millions of points, so the file reader streams it twice, line by line:
 *   pass 1: validate every line, find the earliest point time (t0)   → nothing kept per line
 *   pass 2: feed each request into the MetricsStore at (time − t0)     → only unpaired points kept
 * Memory is constant in the number of points; the store grows with the run's seconds only.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { InputError } from '../core/errors.ts';
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

export interface K6FileParsed {
  seconds: number;
  points: number;
  warnings: string[];
}

type Classified = { kind: 'skip' } | { kind: 'point'; point: PointLine } | { kind: 'torn'; error: string };

/** One line of k6 output: skipped (blank, Metric), a Point, or not JSON (torn if it is the last line). */
function classify(line: string, lineNo: number, file: string): Classified {
  if (!line.trim()) return { kind: 'skip' };
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (err) {
    return {
      kind: 'torn',
      error: `${file}:${lineNo}: not a JSON line of k6 output: ${(err as Error).message}`,
    };
  }
  const o = obj as { type?: unknown; metric?: unknown; data?: { time?: unknown; value?: unknown } };
  if (o?.type === 'Metric') return { kind: 'skip' };
  if (
    o?.type !== 'Point' ||
    typeof o.metric !== 'string' ||
    typeof o.data?.time !== 'string' ||
    typeof o.data.value !== 'number'
  ) {
    throw new InputError(
      `${file}:${lineNo}: expected a k6 {"type":"Metric"|"Point",...} record, got ${line.slice(0, 80)}`,
    );
  }
  return { kind: 'point', point: o as PointLine };
}

const tornWarning = (file: string, lineNo: number) =>
  `${file}:${lineNo}: the k6 output ends mid-line (k6 stopped while writing?); that last record was ignored`;

/** Pairs each request's duration and failure points and records them; one per pass 2. */
class Accumulator {
  private maxSecond = 0;
  points = 0;
  // One k6 request yields several points with the same tags and time; pair them by that key.
  private readonly pending = new Map<string, { durationMs?: number; failed?: boolean; status?: number }>();

  constructor(
    private readonly store: MetricsStore,
    private readonly t0: number,
  ) {}

  add(p: PointLine): void {
    this.points++;
    const at = Date.parse(p.data.time) - this.t0;
    this.maxSecond = Math.max(this.maxSecond, Math.floor(at / 1000));
    if (p.metric === 'dropped_iterations') {
      // A dropped iteration was demand too: requested = sent + dropped.
      for (let n = 0; n < p.data.value; n++) {
        this.store.arrival(at);
        this.store.drop(at);
      }
      return;
    }
    if (p.metric !== 'http_req_duration' && p.metric !== 'http_req_failed') return;
    const k = `${p.data.time}|${p.data.tags?.name ?? ''}|${p.data.tags?.method ?? ''}`;
    const rec = this.pending.get(k) ?? {};
    if (p.metric === 'http_req_duration') rec.durationMs = p.data.value;
    else rec.failed = p.data.value === 1;
    rec.status = Number(p.data.tags?.status ?? 0);
    if (rec.durationMs === undefined || rec.failed === undefined) {
      this.pending.set(k, rec);
      return;
    }
    this.pending.delete(k);
    const sentAt = at - rec.durationMs;
    this.store.arrival(sentAt);
    this.store.send(sentAt, sentAt);
    const err = rec.failed
      ? rec.status >= 500
        ? 'http_5xx'
        : rec.status >= 400
          ? 'http_4xx'
          : 'other'
      : null;
    this.store.result(sentAt, sentAt, at, rec.status, err);
  }

  finish(warnings: string[]): { seconds: number; points: number; warnings: string[] } {
    if (this.pending.size > 0)
      warnings.push(
        `${this.pending.size} k6 request(s) had a duration or a failure flag but not both; they were left out`,
      );
    warnings.push(
      'k6 measures latency from the actual send time, not the intended one: under overload its figures can hide coordinated omission',
    );
    return { seconds: this.points ? this.maxSecond + 1 : 0, points: this.points, warnings };
  }
}

/**
 * Parses NDJSON text already in memory (small outputs, tests). A torn last line (k6 killed
 * mid-write) is reported and skipped. For k6's own output files use parseK6NdjsonFile.
 */
export function parseK6Ndjson(text: string, file: string, into: MetricsStore = new MetricsStore()): K6Parsed {
  const lines = text.split('\n');
  const last = lines.length - 1;
  const warnings: string[] = [];
  const points: PointLine[] = [];
  lines.forEach((line, i) => {
    const c = classify(line, i + 1, file);
    if (c.kind === 'point') points.push(c.point);
    else if (c.kind === 'torn') {
      if (i !== last) throw new InputError(c.error);
      warnings.push(tornWarning(file, i + 1));
    }
  });
  let t0 = Infinity;
  for (const p of points) t0 = Math.min(t0, Date.parse(p.data.time));
  const acc = new Accumulator(into, t0);
  for (const p of points) acc.add(p);
  return { store: into, ...acc.finish(warnings) };
}

/** Calls `each` for every line of the file, numbered from 1; returns whether the file ends with a newline. */
async function eachLine(path: string, each: (line: string, lineNo: number) => void): Promise<boolean> {
  const stream = createReadStream(path);
  let lastByte = -1;
  stream.on('data', (c) => {
    if (c.length > 0) lastByte = (c as Buffer)[c.length - 1]!;
  });
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) each(line, ++n);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : String(err);
    throw new InputError(`${path}: cannot read the k6 output: ${why}`);
  } finally {
    rl.close();
    stream.destroy();
  }
  return lastByte === 0x0a;
}

/**
 * Streams k6's `--out json` file into `store`, line by line in two passes (constant memory in
 * the number of points). Same results and warnings as parseK6Ndjson on the same text.
 */
export async function parseK6NdjsonFile(path: string, store: MetricsStore): Promise<K6FileParsed> {
  const warnings: string[] = [];
  let t0 = Infinity;
  let torn: { lineNo: number; error: string } | null = null;
  let tornIsLast = true;
  const endsWithNewline = await eachLine(path, (line, lineNo) => {
    // A line after the broken one: the broken one was in the middle, not torn at the end.
    if (torn) {
      tornIsLast = false;
      throw new InputError(torn.error);
    }
    const c = classify(line, lineNo, path);
    if (c.kind === 'point') {
      const t = Date.parse(c.point.data.time);
      if (t < t0) t0 = t;
    } else if (c.kind === 'torn') torn = { lineNo, error: c.error };
  });
  if (torn !== null) {
    const t = torn as { lineNo: number; error: string };
    if (endsWithNewline || !tornIsLast) throw new InputError(t.error);
    warnings.push(tornWarning(path, t.lineNo));
  }
  const acc = new Accumulator(store, t0);
  if (t0 !== Infinity) {
    await eachLine(path, (line, lineNo) => {
      const c = classify(line, lineNo, path);
      if (c.kind === 'point') acc.add(c.point);
    });
  }
  const r = acc.finish(warnings);
  return { seconds: r.seconds, points: r.points, warnings: r.warnings };
}
