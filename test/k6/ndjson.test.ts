import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { parseK6Ndjson } from '../../src/k6/ndjson.ts';

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

describe('k6 NDJSON output → timeline', () => {
  const lines = [
    metric('http_reqs', 'counter'),
    metric('http_req_duration', 'trend'),
    metric('http_req_failed', 'rate'),
    ...request('2026-11-25T10:00:00.100000000+00:00', 12.5),
    ...request('2026-11-25T10:00:00.600000000+00:00', 20),
    ...request('2026-11-25T10:00:01.200000000+00:00', 30, '503'),
    point('dropped_iterations', '2026-11-25T10:00:01.500000000+00:00', 2),
  ];

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
