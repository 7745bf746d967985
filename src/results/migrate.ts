/**
 * Reading results.json written by an older chaoskit: each migration lifts a document one schema
 * version, and `migrateResult` chains them up to SCHEMA_VERSION. A weekly pipeline compares this
 * week's run with last week's, so an upgrade of chaoskit between the two must not break the
 * comparison. Migrations work on plain JSON (before the zod schema sees it), never guess a value
 * that was not measured (unknown stays null), and say what they did in the result's warnings.
 */
import { SCHEMA_VERSION } from '../result.ts';

type Json = Record<string, unknown>;

interface Migration {
  /** What the newer version adds or changes, said to the user once per migrated document. */
  note: string;
  up(doc: Json): Json;
}

/** MIGRATIONS[n] lifts version n to n + 1. */
const MIGRATIONS: Record<number, Migration> = {
  1: {
    note: 'per-second latency of failed requests (failedHist) was not recorded before version 2: it is unknown here, so the ndjson report cannot split latencies by expected_response',
    up: (doc) => ({
      ...doc,
      schemaVersion: 2,
      timeline: Array.isArray(doc.timeline)
        ? doc.timeline.map((s: unknown) =>
            s !== null && typeof s === 'object' ? { failedHist: null, ...(s as Json) } : s,
          )
        : doc.timeline,
    }),
  },
  2: {
    note: 'exact accounting and attribution by exposure came in version 3: per-second sent is rebuilt from the outcomes, phases are judged by second as before, fault apply lag is estimated from appliedAtMs',
    up: (doc) => {
      const totals = (doc.totals ?? {}) as Json;
      const tl = Array.isArray(doc.timeline) ? (doc.timeline as unknown[]) : [];
      const seconds = tl.map((s) => (s !== null && typeof s === 'object' ? second2to3(s as Json) : s));
      const sum = (k: string) =>
        seconds.reduce<number>(
          (a, s) => a + (typeof (s as Json)[k] === 'number' ? ((s as Json)[k] as number) : 0),
          0,
        );
      const plan = (doc.plan ?? {}) as Json;
      const load = (doc.load ?? {}) as Json;
      const verdict = doc.verdict as Json | undefined;
      return {
        ...doc,
        schemaVersion: 3,
        ranMs: typeof plan.durationMs === 'number' ? plan.durationMs : tl.length * 1000,
        load: { streamTimeoutMs: load.timeoutMs ?? 0, ...load },
        totals: {
          ...totals,
          achieved: totals.sent,
          sent: sum('sent'),
          notSent: sum('notSent'),
          droppedStall: 0,
        },
        timeline: seconds,
        faults: Array.isArray(doc.faults)
          ? doc.faults.map((f: unknown) => (f !== null && typeof f === 'object' ? fault2to3(f as Json) : f))
          : doc.faults,
        ...(verdict ? { verdict } : {}),
      };
    },
  },
};

/** 2 → 3, one second: the achieved rate moves to `achieved`; `sent` becomes the outcomes it had. */
function second2to3(s: Json): Json {
  const n = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
  const sent = n('ok') + n('failed') + n('cancelled');
  return {
    ...s,
    achieved: n('sent'),
    sent,
    droppedStall: 0,
    // Version 2 counted the backlog cancelled at a stop as `cancelled`: what is not explained by
    // outcomes stays unexplained rather than guessed.
    notSent: Math.max(0, n('requested') - sent - n('dropped')),
    phases: {},
  };
}

function fault2to3(f: Json): Json {
  const start = typeof f.plannedStartMs === 'number' ? f.plannedStartMs : 0;
  const end = typeof f.plannedEndMs === 'number' ? f.plannedEndMs : start;
  const at = typeof f.appliedAtMs === 'number' ? f.appliedAtMs : null;
  return {
    applyStartedAtMs: null,
    applyLagMs: at === null ? null : Math.max(0, at - start),
    toleranceMs: Math.max(1000, 0.1 * (end - start)),
    late: false,
    ...f,
  };
}

const MIGRATED = 'migrated from results schema version';

/** The warning a migrated result carries (what it lacks), or undefined when it was not migrated. */
export const migrationNote = (r: { warnings: readonly string[] }): string | undefined =>
  r.warnings.find((w) => w.startsWith(MIGRATED));

/** The oldest version this chaoskit can still read. */
export const OLDEST_READABLE = Math.min(SCHEMA_VERSION, ...Object.keys(MIGRATIONS).map(Number));

export type MigrationOutcome =
  { ok: true; doc: unknown; from: number | null } | { ok: false; reason: string };

/**
 * Lifts a parsed results document to SCHEMA_VERSION. Documents already at it come back untouched
 * (`from: null`); anything that cannot be lifted comes back with the reason in words.
 */
export function migrateResult(value: unknown, toolVersion: string): MigrationOutcome {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { ok: true, doc: value, from: null };
  const version = (value as Json).schemaVersion;
  if (version === SCHEMA_VERSION || version === undefined) return { ok: true, doc: value, from: null };
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    return { ok: false, reason: `schemaVersion ${JSON.stringify(version)} is not a results schema version` };
  if (version > SCHEMA_VERSION)
    return {
      ok: false,
      reason: `schemaVersion ${version} was written by a newer chaoskit; chaoskit ${toolVersion} reads schema versions ${OLDEST_READABLE} to ${SCHEMA_VERSION}: upgrade chaoskit to read it`,
    };
  if (version < OLDEST_READABLE)
    return {
      ok: false,
      reason: `schemaVersion ${version} is older than chaoskit ${toolVersion} can migrate (oldest: ${OLDEST_READABLE}): re-render it with the chaoskit that wrote it, or start a new baseline run`,
    };
  let doc = value as Json;
  const notes: string[] = [];
  for (let v = version; v < SCHEMA_VERSION; v++) {
    const m = MIGRATIONS[v]!;
    doc = m.up(doc);
    notes.push(m.note);
  }
  const warnings = Array.isArray(doc.warnings) ? doc.warnings : [];
  doc = {
    ...doc,
    warnings: [...warnings, `${MIGRATED} ${version} to ${SCHEMA_VERSION}: ${notes.join('; ')}`],
  };
  return { ok: true, doc, from: version };
}
