import { spawnSync } from 'node:child_process';
import { createWriteStream, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.ts';
import { parseK6Ndjson, parseK6NdjsonFile } from '../../src/k6/ndjson.ts';
import { MetricsStore } from '../../src/metrics/store.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';
import { tempDir } from '../helpers/files.ts';

// Line shapes as documented for `k6 run --out json` (a Metric declaration, then Points).
const metric = (name: string, type: string) =>
  JSON.stringify({
    type: 'Metric',
    data: { name, type, contains: type === 'trend' ? 'time' : 'default', thresholds: [], submetrics: null },
    metric: name,
  });
const point = (metricName: string, time: string, value: number, status = '200') =>
  JSON.stringify({
    type: 'Point',
    metric: metricName,
    data: {
      time,
      value,
      tags: {
        expected_response: status === '200' ? 'true' : 'false',
        method: 'GET',
        name: 'http://127.0.0.1:8080/items/1',
        proto: 'HTTP/1.1',
        scenario: 'default',
        status,
        url: 'http://127.0.0.1:8080/items/1',
      },
    },
  });

function request(time: string, ms: number, status = '200'): string[] {
  return [
    point('http_reqs', time, 1, status),
    point('http_req_duration', time, ms, status),
    point('http_req_failed', time, status === '200' ? 0 : 1, status),
  ];
}

const lines = [
  metric('http_reqs', 'counter'),
  metric('http_req_duration', 'trend'),
  metric('http_req_failed', 'rate'),
  ...request('2026-11-25T10:00:00.100000000+00:00', 12.5),
  ...request('2026-11-25T10:00:00.600000000+00:00', 20),
  ...request('2026-11-25T10:00:01.200000000+00:00', 30, '503'),
  point('dropped_iterations', '2026-11-25T10:00:01.500000000+00:00', 2),
];

describe('k6 NDJSON output → timeline', () => {
  it('counts requests, failures, status codes and latency per second', () => {
    const r = parseK6Ndjson(lines.join('\n') + '\n', 'k6.json');
    expect(r.points).toBe(10);
    const tl = r.store.timeline(r.seconds);
    // A dropped iteration was demand too: requested = sent + dropped.
    expect(tl.map((s) => [s.requested, s.ok, s.failed, s.dropped])).toEqual([
      [2, 2, 0, 0],
      [3, 0, 1, 2],
    ]);
    expect(tl[1]!.errors).toEqual({ http_5xx: 1 });
    expect(tl[1]!.status).toEqual({ '503': 1 });
    expect(tl[0]!.latencyMs!.max).toBeCloseTo(20, 1);
    expect(r.warnings.some((w) => w.includes('coordinated omission'))).toBe(true);
  });

  it('a stream cut mid-line keeps what was complete and says so', () => {
    const text =
      lines.join('\n') + '\n' + point('http_reqs', '2026-11-25T10:00:02.000000000+00:00', 1).slice(0, 40);
    const r = parseK6Ndjson(text, 'k6.json');
    expect(r.warnings[0]).toBe(
      'k6.json:14: the k6 output ends mid-line (k6 stopped while writing?); that last record was ignored',
    );
    expect(r.points).toBe(10);
  });

  it('a broken line in the middle is invalid input naming the line', () => {
    const text = [lines[0], '{"type":"Point", nope', lines[1]].join('\n');
    expect(() => parseK6Ndjson(text, 'k6.json')).toThrow(InputError);
    expect(() => parseK6Ndjson(text, 'k6.json')).toThrow(/^k6\.json:2: not a JSON line of k6 output/);
  });
});

/** The same text through the in-memory parser and the streaming file reader. */
async function both(text: string) {
  const file = join(tempDir(), 'k6.json');
  writeFileSync(file, text);
  const mem = parseK6Ndjson(text, file);
  const store = new MetricsStore();
  const fromFile = await parseK6NdjsonFile(file, store);
  return { file, mem, fromFile, store };
}

describe('k6 NDJSON file reader (streaming)', () => {
  it('gives exactly the in-memory results on a small file: timeline, points, warnings', async () => {
    const { mem, fromFile, store } = await both(lines.join('\n') + '\n');
    expect(fromFile).toEqual({ seconds: mem.seconds, points: mem.points, warnings: mem.warnings });
    expect(store.timeline(fromFile.seconds)).toEqual(mem.store.timeline(mem.seconds));
  });

  it('gives the same results on out-of-order points, drops, unpaired points and CRLF line ends', async () => {
    const out: string[] = [metric('http_reqs', 'counter')];
    // Deterministic shuffle-ish order: later seconds first, so t0 is only known at the end.
    for (let i = 299; i >= 0; i--) {
      const t = `2026-11-25T10:00:${String(Math.floor(i / 10)).padStart(2, '0')}.${String((i % 10) * 100).padStart(3, '0')}000000+00:00`;
      out.push(...request(t, 5 + (i % 37), i % 23 === 0 ? '503' : i % 29 === 0 ? '404' : '200'));
      if (i % 50 === 0) out.push(point('dropped_iterations', t, 3));
    }
    out.push(point('http_req_duration', '2026-11-25T10:00:40.000000000+00:00', 9)); // never paired
    const text = out.join('\r\n') + '\r\n';
    const { mem, fromFile, store } = await both(text);
    expect(mem.warnings[0]).toContain('1 k6 request(s) had a duration or a failure flag but not both');
    expect(fromFile).toEqual({ seconds: mem.seconds, points: mem.points, warnings: mem.warnings });
    expect(store.timeline(fromFile.seconds)).toEqual(mem.store.timeline(mem.seconds));
  });

  it('a torn last line is a warning; a broken line before the last newline is invalid input', async () => {
    const torn =
      lines.join('\n') + '\n' + point('http_reqs', '2026-11-25T10:00:02.000000000+00:00', 1).slice(0, 40);
    const a = await both(torn);
    expect(a.fromFile.warnings[0]).toBe(
      `${a.file}:14: the k6 output ends mid-line (k6 stopped while writing?); that last record was ignored`,
    );
    expect(a.fromFile.points).toBe(10);

    const file = join(tempDir(), 'k6.json');
    writeFileSync(file, torn + '\n');
    await expect(parseK6NdjsonFile(file, new MetricsStore())).rejects.toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:14: not a JSON line of k6 output`),
    );
    writeFileSync(file, [lines[0], '{"type":"Point", nope', lines[1]].join('\n'));
    await expect(parseK6NdjsonFile(file, new MetricsStore())).rejects.toBeInstanceOf(InputError);
    await expect(parseK6NdjsonFile(file, new MetricsStore())).rejects.toThrow(
      /:2: not a JSON line of k6 output/,
    );
    writeFileSync(file, [lines[0], '{"type":"Sample","metric":"x"}', lines[1]].join('\n'));
    await expect(parseK6NdjsonFile(file, new MetricsStore())).rejects.toThrow(
      /:2: expected a k6 \{"type":"Metric"\|"Point",\.\.\.\} record/,
    );
  });

  it('a missing file is invalid input naming it', async () => {
    const file = join(tempDir(), 'none.json');
    await expect(parseK6NdjsonFile(file, new MetricsStore())).rejects.toThrow(
      `${file}: cannot read the k6 output: no such file`,
    );
  });

  it('streams a generated 1,000,000-point file in constant memory (measured in a child process)', async () => {
    const dir = tempDir();
    const file = join(dir, 'k6-1m.ndjson');
    const requests = 333_334; // 3 points each: 1,000,002 points, ~320 MB
    const out = createWriteStream(file);
    const t0 = Date.parse('2026-11-25T10:00:00Z');
    const tags = (status: number) =>
      `{"expected_response":"${status === 200}","group":"","method":"GET","name":"http://127.0.0.1:8080/items/1","proto":"HTTP/1.1","scenario":"default","status":"${status}","tls_version":"","url":"http://127.0.0.1:8080/items/1"}`;
    let buf = '';
    for (let i = 0; i < requests; i++) {
      const time = new Date(t0 + i / 10).toISOString().replace('Z', '000000+00:00'); // 10,000 requests/s
      const status = i % 100 === 0 ? 503 : 200;
      const tg = tags(status);
      buf +=
        `{"metric":"http_reqs","type":"Point","data":{"time":"${time}","value":1,"tags":${tg}}}\n` +
        `{"metric":"http_req_duration","type":"Point","data":{"time":"${time}","value":${5 + (i % 50)},"tags":${tg}}}\n` +
        `{"metric":"http_req_failed","type":"Point","data":{"time":"${time}","value":${status === 200 ? 0 : 1},"tags":${tg}}}\n`;
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
        buf = '';
      }
    }
    out.end(buf);
    await new Promise<void>((r) => out.once('finish', () => r()));
    const sizeMB = statSync(file).size / 2 ** 20;

    // A child process, so its peak RSS is the reader's alone (not vitest's).
    const url = pathToFileURL(join(PACKAGE_ROOT, 'src/k6/ndjson.ts')).href;
    const storeUrl = pathToFileURL(join(PACKAGE_ROOT, 'src/metrics/store.ts')).href;
    const code = `
      const { parseK6NdjsonFile } = await import(${JSON.stringify(url)});
      const { MetricsStore } = await import(${JSON.stringify(storeUrl)});
      const t = performance.now();
      const store = new MetricsStore();
      const r = await parseK6NdjsonFile(${JSON.stringify(file)}, store);
      const tl = store.timeline(r.seconds);
      process.stdout.write(JSON.stringify({
        ms: Math.round(performance.now() - t),
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
        points: r.points, seconds: r.seconds,
        sent: tl.reduce((n, s) => n + s.sent, 0), failed: tl.reduce((n, s) => n + s.failed, 0),
        http5xx: tl.reduce((n, s) => n + (s.errors.http_5xx ?? 0), 0),
      }));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    });
    rmSync(dir, { recursive: true, force: true });
    expect(child.stderr).toBe('');
    const m = JSON.parse(child.stdout) as Record<string, number>;
    process.stdout.write(
      `k6 NDJSON reader: ${m.points} points (${sizeMB.toFixed(0)} MB) in ${m.ms} ms, peak RSS ${m.peakRssMB} MB\n`,
    );
    expect(m).toMatchObject({ points: 1_000_002, seconds: 34, sent: requests, failed: 3334, http5xx: 3334 });
    // The old reader held the text, every point and an array of times: > 900 MB for this file.
    expect(m.peakRssMB).toBeLessThan(Math.min(300, sizeMB));
  }, 180_000);
});
