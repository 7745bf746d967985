/** The accounting invariants every result must satisfy, per second and in totals (issue 12). */
import { expect } from 'vitest';
import type { RunResult } from '../../src/result.ts';

export function expectAccounting(r: RunResult): void {
  const rows = [...r.timeline.map((s) => ({ at: `second ${s.t}`, ...s })), { at: 'totals', ...r.totals }];
  for (const x of rows) {
    expect(x.requested, `${x.at}: requested = sent + dropped + notSent`).toBe(x.sent + x.dropped + x.notSent);
    expect(x.sent, `${x.at}: sent = ok + failed + cancelled`).toBe(x.ok + x.failed + x.cancelled);
  }
  for (const s of r.timeline) {
    const phases = Object.values(s.phases);
    expect(
      phases.reduce((n, p) => n + p.ok + p.failed, 0),
      `second ${s.t}: phases cover every outcome`,
    ).toBe(s.ok + s.failed);
  }
  expect(r.warnings.filter((w) => w.startsWith('accounting:'))).toEqual([]);
}

/** The same invariants on a store's timeline (engine tests without a runner). */
export function expectStoreAccounting(
  tl: readonly {
    t: number;
    requested: number;
    sent: number;
    dropped: number;
    notSent: number;
    ok: number;
    failed: number;
    cancelled: number;
  }[],
): void {
  for (const s of tl) {
    expect(s.requested, `second ${s.t}: requested = sent + dropped + notSent`).toBe(
      s.sent + s.dropped + s.notSent,
    );
    expect(s.sent, `second ${s.t}: sent = ok + failed + cancelled`).toBe(s.ok + s.failed + s.cancelled);
  }
}
