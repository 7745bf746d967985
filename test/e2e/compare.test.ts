/**
 * `chaos compare` on bad and on tricky input: a histogram that does not decode and a malformed
 * results.json are invalid input (exit 2, file, line and field), never an internal error; a
 * 12x p50 rise with an unchanged p99 is a regression (exit 1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reporters } from '../../reporters/index.ts';
import { compareFiles } from '../../src/cli/commands/compare.ts';
import { InputError } from '../../src/core/errors.ts';
import { encode, newHistogram, recordMs } from '../../src/core/hist.ts';
import type { RunResult } from '../../src/result.ts';
import { DEFAULT_TOLERANCES } from '../../src/tolerances.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { partitionRun, synthetic } from '../reporters/synthetic.ts';

let dir: string;
let good: string;
let result: RunResult;

function save(name: string, r: RunResult | string): string {
  const file = join(dir, name);
  writeFileSync(file, typeof r === 'string' ? r : reporters.json.render(r));
  return file;
}

beforeAll(() => {
  dir = tempDir('chaoskit-compare-');
  result = partitionRun();
  good = save('results.json', result);
});

describe('chaos compare', { timeout: 90_000 }, () => {
  it('a histogram cut short, on either side: exit 2 naming the file, line and field', async () => {
    const bad = structuredClone(result);
    bad.timeline[12]!.hist = bad.timeline[12]!.hist!.slice(0, -4);
    const file = save('cut.json', bad);
    const line =
      readFileSync(file, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes(`"${bad.timeline[12]!.hist}"`)) + 1;
    const [asNew, asOld] = await Promise.all([
      runCli(['compare', good, file]),
      runCli(['compare', file, good, '--format', 'json']),
    ]);
    for (const r of [asNew!, asOld!]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(
        `chaos: invalid results file (1 problem)\n  ${file}:${line}:15: timeline[12].hist: not a valid encoded latency histogram (unexpected end of file)\n`,
      );
    }
  });

  it('a 12x p50 rise with an unchanged p99: exit 1, the p50 named', async () => {
    // Most requests 2 ms → 24 ms; the slowest 2% stay at 30 ms, so every p99 is unchanged.
    const at = (typical: number) => (t: number) =>
      Array.from({ length: 100 }, (_, i) => (i < 98 ? typical * (1 + ((t + i) % 5) / 100) : 30));
    const withLatency = (values: (t: number) => number[]): RunResult => ({
      ...result,
      timeline: result.timeline.map((s) => {
        const h = newHistogram();
        for (const v of values(s.t)) recordMs(h, v);
        return { ...s, hist: encode(h) };
      }),
    });
    const r = await runCli([
      'compare',
      save('fast.json', withLatency(at(2))),
      save('slow.json', withLatency(at(24))),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^compare partition: 3 regression\(s\)\n/);
    expect(r.stdout).toMatch(
      / {2}baseline: p99 latency, median of 20\/20 seconds +30ms +30ms +×1 \(p = [\d.]+\)\n/,
    );
    expect(r.stdout).toContain(
      '  ✗ baseline: p50 latency rose 12x, from 2.04ms to 24ms (median of the per-second p50s over 20 and 20 seconds; p < 0.001), more than the 50% and 2ms allowed\n',
    );
  });
});

describe('compareFiles on malformed results', () => {
  /** A small result: 20 s, a fault from 8 s to 12 s. */
  const small = synthetic({
    name: 'small',
    seconds: 20,
    at: (t) => (t >= 8 && t < 12 ? { ok: 50, failed: 50, ms: 80 } : { ok: 100, failed: 0, ms: 10 }),
    faults: [{ appliedAtMs: 8000, revertedAtMs: 12_000, plannedStartMs: 8000, plannedEndMs: 12_000 }],
  });
  const values: unknown[] = [null, 'x', -1, 0.5, [], {}, 1e308, true, 'HISTFAAAACJ4', 'AAAA'];

  /** Every path to a leaf or a container in `v`. */
  function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []) {
    if (at.length) out.push(at);
    if (Array.isArray(v)) v.slice(0, 3).forEach((x, i) => paths(x, [...at, i], out));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
    return out;
  }

  it('every one-field corruption is a comparison or an input error, never an internal error', async () => {
    const doc = JSON.parse(reporters.json.render(small)) as Record<string, unknown>;
    const reference = save('small.json', small);
    const all = paths(doc);
    let seed = 7;
    const pick = (n: number) => ((seed = (seed * 48271) % 2147483647), seed % n);
    const outcomes = { compared: 0, input: 0 };
    for (let i = 0; i < 40; i++) {
      const path = all[pick(all.length)]!;
      const copy = structuredClone(doc);
      let parent = copy as Record<string | number, unknown>;
      for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
      const last = path[path.length - 1]!;
      if (pick(4) === 0) delete parent[last];
      else parent[last] = values[pick(values.length)];
      const file = save(`mutant-${i}.json`, JSON.stringify(copy, null, 2));
      // Alternate the sides: both go through the same reading and decoding.
      const [a, b] = i % 2 ? [reference, file] : [file, reference];
      try {
        await compareFiles(a, b, DEFAULT_TOLERANCES);
        outcomes.compared++;
      } catch (err) {
        expect(err, `${path.join('.')}: ${String(err)}`).toBeInstanceOf(InputError);
        expect((err as Error).message).toContain(file);
        outcomes.input++;
      }
    }
    expect(outcomes.input).toBeGreaterThan(20);
    expect(outcomes.compared).toBeGreaterThan(0);
  });
});
