/**
 * Units parsed at the boundary: durations become milliseconds, percentages fractions.
 * Names carry the unit from here on (`durationMs`, `rate` is always per second).
 */
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|h|m|s|d|w)/y;
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * The longest duration a scenario, environment or fault may name (a phase, a fault's time or
 * length, a timeout) and the longest a whole run may last: 7 days. Timers cannot reach beyond
 * 2^31 − 1 ms (24.8 days) and fire at once when asked to, so unbounded values are refused as input.
 */
export const MAX_DURATION_MS = 7 * 86_400_000;
/** The longest SLO period (an error budget's `period`, OpenSLO time windows): 366 days. */
export const MAX_PERIOD_MS = 366 * 86_400_000;

/** Parses `250ms`, `2s`, `1.5s`, `1m30s`, `1h`, `30d`; returns milliseconds or undefined when malformed. */
export function parseDurationMs(text: string): number | undefined {
  const s = text.trim();
  if (s === '') return undefined;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * UNIT_MS[m[2] as string]!;
    pos = DURATION_PART.lastIndex;
  }
  return Number.isFinite(total) ? total : undefined;
}

/** Formats milliseconds compactly: 1500 → `1.5s`, 90000 → `1m30s`, 250 → `250ms`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${round(ms, 1)}ms`;
  const totalS = ms / 1000;
  if (totalS < 60) return `${round(totalS, 2)}s`;
  const m = Math.floor(totalS / 60);
  const s = round(totalS - m * 60, 1);
  return s === 0 ? `${m}m` : `${m}m${s}s`;
}

/** Parses `99.9%` (0% to 100%) or a bare fraction `0.999` (0 to 1); returns a fraction or undefined. */
export function parsePercent(text: string | number): number | undefined {
  if (typeof text === 'number') return text >= 0 && text <= 1 ? text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (m) return Number(m[1]) <= 100 ? Number(m[1]) / 100 : undefined;
  const n = Number(text);
  return Number.isFinite(n) && text.trim() !== '' && n >= 0 && n <= 1 ? n : undefined;
}

/** Parses a byte size: `512MiB`, `2GB`, `1024`, `1.5GiB`. */
export function parseBytes(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?\s*$/i.exec(text);
  if (!m) return undefined;
  const mult: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
    tb: 1e12,
    tib: 1024 ** 4,
  };
  return Math.round(Number(m[1]) * mult[(m[2] ?? 'b').toLowerCase()]!);
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
