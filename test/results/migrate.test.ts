/** Migrating results.json from older schema versions (src/results/migrate.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runResultSchema, SCHEMA_VERSION } from '../../src/result.ts';
import { migrateResult, OLDEST_READABLE } from '../../src/results/migrate.ts';
import { PACKAGE_ROOT } from '../../src/core/paths.ts';

// Written by chaoskit 0.1.0 (schema 1) from a real demo run: spike-with-partition at --time-scale 0.1.
const v1 = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'test/fixtures/results-v1.json'), 'utf8')) as Record<
  string,
  unknown
>;

describe('migrateResult', () => {
  it('lifts a real schema-1 result to the current schema without inventing measurements', () => {
    expect(v1.schemaVersion).toBe(1);
    expect(runResultSchema.safeParse(v1).success).toBe(false);
    const m = migrateResult(v1, 'test');
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.from).toBe(1);
    const r = runResultSchema.parse(m.doc);
    expect(r.schemaVersion).toBe(SCHEMA_VERSION);
    expect(r.timeline.every((s) => s.failedHist === null)).toBe(true);
    expect(r.warnings.at(-1)).toMatch(
      /^migrated from results schema version 1 to 3: per-second latency of failed requests/,
    );
    // Everything measured is kept as it was.
    const old = v1 as { totals: Record<string, unknown>; timeline: { hist: unknown }[]; verdict: unknown };
    // Version 3's accounting fields are added (sent rebuilt from outcomes; the old sent was the achieved rate).
    expect(r.totals).toEqual({ ...old.totals, achieved: old.totals.sent, droppedStall: 0, notSent: 0 });
    expect(r.verdict).toEqual(old.verdict);
    expect(r.timeline.map((s) => s.hist)).toEqual(old.timeline.map((s) => s.hist));
    // The input is not modified.
    expect((v1.timeline as object[])[0]).not.toHaveProperty('failedHist');
  });

  it('leaves current documents alone, and refuses newer or nonsense versions with the reason', () => {
    const current = { schemaVersion: SCHEMA_VERSION, x: 1 };
    expect(migrateResult(current, 't')).toEqual({ ok: true, doc: current, from: null });
    expect(OLDEST_READABLE).toBe(1);
    const newer = migrateResult({ schemaVersion: SCHEMA_VERSION + 1 }, '9.9.9');
    expect(newer).toEqual({
      ok: false,
      reason: `schemaVersion ${SCHEMA_VERSION + 1} was written by a newer chaoskit; chaoskit 9.9.9 reads schema versions 1 to ${SCHEMA_VERSION}: upgrade chaoskit to read it`,
    });
    for (const bad of [0, -1, 1.5, '1'])
      expect(migrateResult({ schemaVersion: bad }, 't')).toEqual({
        ok: false,
        reason: `schemaVersion ${JSON.stringify(bad)} is not a results schema version`,
      });
  });
});
