/**
 * Data feeders: rows from a CSV file (a header row, then one row a line; RFC 4180 quoting) or a
 * JSON lines file (one object a line), read and checked at load time, handed out at run time in
 * the scenario's order:
 *
 *   sequential: row 1, 2, …, n, 1, 2, …   random: a seeded pick each time   unique: each row once
 *
 * Unique rows that run out are an outcome the result states, never a silent repeat: `onExhausted:
 * stop` starts no more sessions (their arrivals count as not sent), `wrap` starts over and counts
 * how often it did.
 */
import { readFileSync } from 'node:fs';
import type { DataSpec } from '../scenario/flow-schema.ts';
import type { Prng } from './prng.ts';

export type Row = Record<string, string>;

export interface DataFile {
  file: string;
  fields: string[];
  rows: Row[];
}

/** Reads a data file; returns a message naming the file and line when it cannot be used. */
export function readDataFile(file: string): DataFile | string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const r = /\.jsonl$|\.ndjson$/i.test(file) ? parseJsonl(text) : parseCsv(text);
  if (typeof r === 'string') return `${file}:${r}`;
  if (r.rows.length === 0) return `${file}: the file has no data rows`;
  return { file, ...r };
}

function parseJsonl(text: string): Omit<DataFile, 'file'> | string {
  const rows: Row[] = [];
  const fields = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      return `${i + 1}: not valid JSON (${(err as Error).message})`;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      return `${i + 1}: expected one JSON object a line, like {"prompt": "hi"}`;
    const row: Row = {};
    for (const [k, x] of Object.entries(v)) {
      row[k] = typeof x === 'string' ? x : JSON.stringify(x);
      fields.add(k);
    }
    rows.push(row);
  }
  return { fields: [...fields], rows };
}

/** CSV records with their starting line; quoted fields may hold commas, quotes ("") and newlines. */
function csvRecords(text: string): { line: number; cells: string[] }[] | string {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let fresh = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cell += c;
      }
      continue;
    }
    if (c === '"' && cell === '') {
      quoted = true;
      fresh = false;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
      fresh = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      if (!(fresh && cell === '' && cells.length === 0)) out.push({ line: start, cells: [...cells, cell] });
      cells = [];
      cell = '';
      fresh = true;
      line++;
      start = line;
    } else {
      cell += c;
      fresh = false;
    }
  }
  if (quoted) return `${start}: a quoted field is never closed`;
  if (!(fresh && cell === '' && cells.length === 0)) out.push({ line: start, cells: [...cells, cell] });
  return out;
}

function parseCsv(text: string): Omit<DataFile, 'file'> | string {
  const recs = csvRecords(text);
  if (typeof recs === 'string') return recs;
  const head = recs[0];
  if (!head) return '1: the file is empty (a CSV file needs a header row)';
  const fields = head.cells.map((c) => c.trim());
  const seen = new Set<string>();
  for (const f of fields) {
    if (f === '') return `${head.line}: the header row has an empty column name`;
    if (seen.has(f)) return `${head.line}: the header row names ${JSON.stringify(f)} twice`;
    seen.add(f);
  }
  const rows: Row[] = [];
  for (const r of recs.slice(1)) {
    if (r.cells.length !== fields.length)
      return `${r.line}: the row has ${r.cells.length} field${r.cells.length === 1 ? '' : 's'}, the header has ${fields.length} (${fields.join(', ')})`;
    const row: Row = {};
    fields.forEach((f, i) => (row[f] = r.cells[i]!));
    rows.push(row);
  }
  return { fields, rows };
}

/** What a run did with one data file (results.json `sessions.data`). */
export interface FeederStats {
  file: string;
  order: DataSpec['order'];
  rows: number;
  /** Rows handed out (with repeats for sequential, random and wrapped unique). */
  used: number;
  /** unique: how many times every row had been used and it started over (onExhausted: wrap). */
  wrapped: number;
  /** unique with onExhausted stop: when the last row was used up (load clock), else null. */
  exhaustedAtMs: number | null;
  /** Sessions or requests not started because no row was left. */
  refused: number;
}

export class Feeder {
  private i = 0;
  private order: Uint32Array | null = null;
  readonly stats: FeederStats;

  constructor(
    private readonly data: DataFile,
    private readonly spec: DataSpec,
    private readonly prng: Prng,
  ) {
    this.stats = {
      file: data.file,
      order: spec.order,
      rows: data.rows.length,
      used: 0,
      wrapped: 0,
      exhaustedAtMs: null,
      refused: 0,
    };
    if (spec.order === 'unique') this.shuffle();
  }

  /** The next row, or null when unique rows ran out and onExhausted is stop. */
  next(nowMs: number): Row | null {
    const rows = this.data.rows;
    switch (this.spec.order) {
      case 'sequential': {
        const r = rows[this.i]!;
        this.i = (this.i + 1) % rows.length;
        this.stats.used++;
        return r;
      }
      case 'random':
        this.stats.used++;
        return rows[this.prng.int(rows.length)]!;
      case 'unique': {
        if (this.i >= rows.length) {
          if (this.spec.onExhausted === 'stop') {
            this.stats.exhaustedAtMs ??= nowMs;
            this.stats.refused++;
            return null;
          }
          this.stats.wrapped++;
          this.i = 0;
          this.shuffle();
        }
        this.stats.used++;
        const r = rows[this.order![this.i++]!]!;
        if (this.i >= rows.length && this.spec.onExhausted === 'stop') this.stats.exhaustedAtMs ??= nowMs;
        return r;
      }
    }
  }

  /** Unique rows in a seeded order (Fisher–Yates). */
  private shuffle(): void {
    const n = this.data.rows.length;
    const o = (this.order ??= Uint32Array.from({ length: n }, (_, k) => k));
    for (let k = n - 1; k > 0; k--) {
      const j = this.prng.int(k + 1);
      const t = o[k]!;
      o[k] = o[j]!;
      o[j] = t;
    }
  }
}
