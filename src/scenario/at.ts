/**
 * Fault start expressions: `32s`, `peak`, `peak + 5s`, `phase 2`, `phase spike + 5s`, `end - 10s`.
 * Parsed into an anchor plus offset; resolved against a plan's phases.
 */
import { parseDurationMs } from '../core/units.ts';

export type AtAnchor =
  { kind: 'start' } | { kind: 'peak' } | { kind: 'end' } | { kind: 'phase'; ref: number | string };
export interface AtExpr {
  anchor: AtAnchor;
  offsetMs: number;
  /** With several load streams: whose peak or phase (`peak of chat`, `phase 2 of browse`). */
  stream?: string;
}

const AT =
  /^\s*(?:(start|peak|end)|phase\s+([A-Za-z0-9_-]+))?(?:\s+of\s+([a-z0-9][a-z0-9-]*))?\s*(?:([+-])?\s*([0-9][0-9a-z.]*))?\s*$/;

export const AT_HINT =
  "a time like 32s, or an event: 'peak', 'peak + 5s', 'phase 2 + 5s', 'end - 10s' (with several streams: 'peak of NAME')";

export function parseAt(text: string | number): AtExpr | undefined {
  if (typeof text === 'number') return undefined;
  const m = AT.exec(text);
  if (!m || (!m[1] && !m[2] && !m[5])) return undefined;
  // `of NAME` names the stream of a peak or a phase; start and end are the whole load's.
  if (m[3] && m[1] !== 'peak' && !m[2]) return undefined;
  let offsetMs = 0;
  if (m[5]) {
    const d = parseDurationMs(m[5]);
    if (d === undefined) return undefined;
    offsetMs = m[4] === '-' ? -d : d;
  }
  if (!m[1] && !m[2] && m[4] === '-') return undefined;
  let anchor: AtAnchor = { kind: 'start' };
  if (m[1] === 'peak') anchor = { kind: 'peak' };
  else if (m[1] === 'end') anchor = { kind: 'end' };
  else if (m[2]) anchor = { kind: 'phase', ref: /^\d+$/.test(m[2]) ? Number(m[2]) : m[2] };
  return { anchor, offsetMs, ...(m[3] ? { stream: m[3] } : {}) };
}
