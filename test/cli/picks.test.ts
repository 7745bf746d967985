/** `chaos plan` and `--dry-run` show what a process fault would pick (issue 13, item 2). */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { describePicks } from '../../src/cli/chart.ts';

const children: ReturnType<typeof spawn>[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

describe('process picks in the plan', () => {
  it('lists the PIDs and command lines a fault would pick, and says when the pick does not fit', async () => {
    const marker = `chaoskit-pick-${process.pid}-${Date.now()}`;
    for (let i = 0; i < 2; i++) {
      const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', marker], { stdio: 'ignore' });
      children.push(c);
    }
    await new Promise((r) => setTimeout(r, 300));
    const text = await describePicks(
      { svc: { kind: 'process', match: marker, expect: 1, anyUser: false } },
      [{ id: 'f1', type: 'pause', target: 'svc' }],
      false,
    );
    const pids = children.map((c) => c.pid).sort((a, b) => a! - b!);
    expect(text).toContain('process targets:\n  svc: 2 process(es) would be picked');
    for (const pid of pids) expect(text).toMatch(new RegExp(`pid ${pid}: .*${marker}`));
    expect(text).toMatch(/✗ target svc: match ".*" picks 2 processes, expected 1/);
  });

  it('for the demo environment, says the process is picked once the demo is up', async () => {
    const text = await describePicks(
      { api: { kind: 'process', match: 'no-such-process-anywhere', expect: 1, anyUser: false } },
      [{ id: 'f1', type: 'crash', target: 'api' }],
      true,
    );
    expect(text).toBe(
      'process targets:\n  api: the demo system is not running now; its process is picked once it is up',
    );
  });
});
