/**
 * The built-in flow scenarios through the real CLI against the demo system, time-scaled: reports
 * show each step's latency, captures at work (no step sent with an unset value) and, under the
 * fault, the step at which sessions failed. The two runs use separate demo systems on their own
 * ports and run side by side: no assertion here measures time, and most of each run is think time
 * and sessions draining.
 *
 * login-and-browse stays at --time-scale 0.2: its partition then lasts 3 s, long enough for
 * browse steps to fail under it on a busy machine (at 0.1, 1.5 s, some runs had none).
 * multi-turn-chat runs at 0.1: still 40 conversations, the latency fault 1.5 s long, and each
 * conversation's own length (3 to 6 turns with 1 to 3 s of think time) is not scaled.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result.ts';
import { demoEnv, runCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { expectAccounting } from '../helpers/accounting.ts';
import { expectProfileAccounting } from './helpers.ts';

async function run(
  name: string,
  timeScale: number,
): Promise<{ r: RunResult; stdout: string; md: string; code: number | null }> {
  const out = tempDir();
  const res = await runCli(
    ['run', name, '--time-scale', String(timeScale), '--out', out],
    await demoEnv(),
    150_000,
  );
  expect([0, 1], res.stderr).toContain(res.code);
  const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
  expectAccounting(r);
  expectProfileAccounting(r);
  return { r, stdout: res.stdout, md: readFileSync(join(out, 'report.md'), 'utf8'), code: res.code };
}

const notSentUnset = (r: RunResult) =>
  Object.values(r.profiles ?? {}).reduce(
    (n, p) =>
      n + Object.entries(p.checks ?? {}).reduce((m, [k, v]) => m + (k.startsWith('not sent:') ? v : 0), 0),
    0,
  );

describe.concurrent('built-in flow scenarios on the demo (CLI, time-scaled, side by side)', () => {
  it('login-and-browse: 100 virtual users; under the partition sessions fail at browse, never at login', async () => {
    const { r, stdout, md } = await run('login-and-browse', 0.2);
    const s = r.sessions!;
    expect(s.model).toBe('closed');
    expect(Math.max(...s.timeline.map((x) => x.active.max))).toBe(100);
    const shop = s.flows.shop!;
    expect(shop.started).toBeGreaterThan(100);
    expect(shop.failedAt.browse ?? 0).toBeGreaterThan(0);
    expect(Object.keys(shop.failedAt).filter((k) => k !== 'browse')).toEqual([]);
    expect(r.profiles!['shop.login']!.failed).toBe(0);
    expect(r.profiles!['shop.account']!.failed).toBe(0);
    expect(notSentUnset(r)).toBe(0);
    for (const step of ['shop.login', 'shop.account', 'shop.browse', 'shop.logout'])
      expect(stdout).toMatch(
        new RegExp(`${step.replace('.', '\\.')} +[\\d,]+ +[\\d,]+ +[\\d,]+ +\\S+ +[\\d.]+m?s`),
      );
    expect(stdout).toMatch(/shop +\d+ +\d+ +\d+ +\d+ +browse \d+/);
    expect(md).toContain('| shop.browse |');
  }, 200_000);

  it('multi-turn-chat: conversations stream per step, captured ids used, no step sent without one', async () => {
    const { r, stdout } = await run('multi-turn-chat', 0.1);
    const chat = r.sessions!.flows.chat!;
    expect(chat.started).toBeGreaterThan(20);
    expect(chat.steps).toEqual(['open', 'answer', 'close']);
    const answer = r.profiles!['chat.answer']!;
    expect(answer.sent).toBeGreaterThanOrEqual(3 * chat.completed);
    expect(answer.stream!.firstEventMs!.p50).toBeGreaterThan(0);
    expect(r.profiles!['chat.close']!.ok).toBe(chat.completed);
    expect(notSentUnset(r)).toBe(0);
    expect(stdout).toMatch(/chat\.answer +[\d,]+ +[\d,]+ +\d+ +\S+ +[\d.]+m?s .* [\d.]+m?s \/ [\d.]+m?s/);
    // The latency fault on the inference link shows in the step's own objective row.
    expect(r.verdict!.objectives.some((o) => o.profile === 'chat.answer' && o.phase === 'fault')).toBe(true);
  }, 200_000);
});
