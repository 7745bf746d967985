/**
 * The fault ledger: an append-only, fsync'ed JSON-lines file shared by every run on the machine.
 *
 *   intent (with revert recipe) ──apply──> applied ──revert──> reverted | revert-failed
 *
 * `intent` is written BEFORE a fault is applied, so a crash at any point leaves a record from
 * which the fault can be undone. A fault is open while its latest event is not `reverted`.
 * A torn last line (a crash mid-write) is skipped when reading.
 *
 * The ledger is data, not a program: every line read back is validated (a strict schema per
 * event, and per revert recipe against what chaoskit itself could have made, bound to the
 * line's own run and fault). A line that fails is reported by `invalid()` and never acted on.
 * Appends never follow a symbolic link; when the disk is full, the state directory's reserve
 * is freed so the revert path can still record; a record that cannot be made durable throws
 * LedgerWriteError (exit 4).
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError, RevertError } from '../core/errors.ts';
import { recipeProblem, recipeSchema } from '../targets/recipes.ts';
import type { RevertRecipe } from '../targets/types.ts';
import { describeIoError, isNoSpace, openStateDir, releaseReserve, untrusted } from './state.ts';

/** The layers a run's result knows (results.json `revertedBy`). */
export type RevertLayer = 'schedule' | 'runner-exit' | 'guard' | 'lease' | 'emergency-stop';
/**
 * Who closed a fault in the ledger: a run's layers, the fault's self-reverting `timer`, or
 * `expired` when `chaos status`/emergency-stop found it no longer in effect (a toxic gone by
 * lease, a holder past its deadline, a process no longer stopped).
 */
export type LedgerRevertBy = RevertLayer | 'timer' | 'expired';

export type LedgerEvent =
  | {
      event: 'intent';
      runId: string;
      faultId: string;
      type: string;
      target: string;
      recipe: RevertRecipe;
      description: string;
      manualRevert: string;
    }
  | { event: 'applied'; runId: string; faultId: string }
  | {
      event: 'reverted';
      runId: string;
      faultId: string;
      by: LedgerRevertBy;
      outcome: 'reverted' | 'already-gone';
    }
  | { event: 'revert-failed'; runId: string; faultId: string; by: LedgerRevertBy; error: string };

export type LedgerEntry = LedgerEvent & { ts: string };

export interface OpenFault {
  runId: string;
  faultId: string;
  type: string;
  target: string;
  recipe: RevertRecipe;
  description: string;
  manualRevert: string;
  applied: boolean;
  lastError: string | null;
  /** Position of the intent in the ledger: reverts go in reverse order of this. */
  seq: number;
}

/** A ledger line that is not something chaoskit writes: reported, never acted on. */
export interface InvalidLine {
  /** 1-based line number in ledger.jsonl. */
  line: number;
  problem: string;
  /** The start of the line, for the report. */
  text: string;
}

/** A ledger record could not be made durable (disk full, I/O error): exit 4, path named. */
export class LedgerWriteError extends RevertError {}

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'expected letters, digits, . _ -');
const by = z.enum(['schedule', 'runner-exit', 'guard', 'lease', 'emergency-stop', 'timer', 'expired']);
const ts = z.iso.datetime();
const entrySchema = z.discriminatedUnion('event', [
  z.strictObject({
    ts,
    event: z.literal('intent'),
    runId: name,
    faultId: name,
    type: z.string().min(1).max(100),
    target: z.string().min(1).max(200),
    recipe: recipeSchema,
    description: z.string().max(10_000),
    manualRevert: z.string().max(10_000),
  }),
  z.strictObject({ ts, event: z.literal('applied'), runId: name, faultId: name }),
  z.strictObject({
    ts,
    event: z.literal('reverted'),
    runId: name,
    faultId: name,
    by,
    outcome: z.enum(['reverted', 'already-gone']),
  }),
  z.strictObject({
    ts,
    event: z.literal('revert-failed'),
    runId: name,
    faultId: name,
    by,
    error: z.string().max(10_000),
  }),
]);

/** The longest line read back; anything longer is not something chaoskit wrote. */
const MAX_LINE = 256 * 1024;

export class Ledger {
  readonly dir: string;
  readonly file: string;

  constructor(dir: string) {
    this.dir = openStateDir(dir);
    this.file = join(dir, 'ledger.jsonl');
  }

  /** Appends one record, fsync'ed. Throws LedgerWriteError (exit 4) naming the file when it cannot. */
  append(e: LedgerEvent): void {
    const line = `${JSON.stringify({ ts: new Date().toISOString(), ...e })}\n`;
    try {
      this.write(line);
    } catch (err) {
      let last = err;
      // The disk is full: free the reserve kept for this moment and try once more.
      if (isNoSpace(err) && releaseReserve(this.dir)) {
        try {
          this.write(line);
          return;
        } catch (again) {
          last = again;
        }
      }
      if (last instanceof InputError) throw last;
      throw new LedgerWriteError(
        `could not record "${e.event}" of fault ${e.runId}/${e.faultId} in the ledger ${this.file}: ${describeIoError(last)}. ` +
          'The fault may be in effect with no durable record: run `chaos emergency-stop` once the disk has space, or revert it by hand',
        { cause: last },
      );
    }
  }

  private write(line: string): void {
    // O_APPEND keeps concurrent writers (runner, guard, emergency-stop) from overwriting each other.
    const fd = openSync(
      this.file,
      constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o600,
    );
    try {
      this.trust(fd);
      // After a torn last line (a writer died mid-line) start a fresh line, or this entry is lost with it.
      const text = Buffer.from(endsMidLine(fd) ? `\n${line}` : line);
      for (let off = 0; off < text.length;) off += writeSync(fd, text, off, text.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  private trust(fd: number): void {
    const why = untrusted(this.file, fstatSync(fd), 'file');
    if (why) throw new InputError(`unsafe state directory: ${why}`);
  }

  /** Every line, valid ones as entries and the rest as problems. */
  scan(): { entries: LedgerEntry[]; invalid: InvalidLine[] } {
    let text: string;
    let fd: number;
    try {
      fd = openSync(this.file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], invalid: [] };
      throw new InputError(`cannot read the ledger ${this.file}: ${describeIoError(err)}`);
    }
    try {
      this.trust(fd);
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const entries: LedgerEntry[] = [];
    const invalid: InvalidLine[] = [];
    const lines = text.split('\n');
    lines.forEach((raw, i) => {
      if (!raw.trim()) return;
      const torn = i === lines.length - 1; // no newline after it: a writer died mid-line
      const problem = lineProblem(raw);
      if (typeof problem === 'string') {
        if (!torn) invalid.push({ line: i + 1, problem, text: raw.slice(0, 160) });
        return;
      }
      entries.push(problem);
    });
    return { entries, invalid };
  }

  /** The valid entries, in order. */
  read(): LedgerEntry[] {
    return this.scan().entries;
  }

  /** Lines that are not something chaoskit writes (never acted on). */
  invalid(): InvalidLine[] {
    return this.scan().invalid;
  }

  /**
   * Faults possibly in effect, oldest first; optionally only one run's. A fault is open while its
   * latest event is not `reverted`: an apply that lands after another layer's revert (an
   * emergency stop racing an apply in flight) opens it again.
   */
  open(runId?: string): OpenFault[] {
    return openOf(this.read(), runId);
  }

  /** Is this fault open right now? */
  isOpen(runId: string, faultId: string): boolean {
    return this.open(runId).some((f) => f.faultId === faultId);
  }

  /**
   * Who closed this fault, when it is closed (its latest event is `reverted`): a resumed runner
   * learns that its guard (or a timer, or emergency-stop) reverted its fault meanwhile.
   */
  revertedBy(
    runId: string,
    faultId: string,
  ): { by: LedgerRevertBy; ts: string; outcome: 'reverted' | 'already-gone' } | null {
    let last: LedgerEntry | undefined;
    for (const e of this.read()) if (e.runId === runId && e.faultId === faultId) last = e;
    return last?.event === 'reverted' ? { by: last.by, ts: last.ts, outcome: last.outcome } : null;
  }
}

/** The entry a line holds, or why it is not one chaoskit writes. */
function lineProblem(raw: string): LedgerEntry | string {
  if (raw.length > MAX_LINE) return `line longer than ${MAX_LINE} characters`;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return 'not JSON (a torn write, or not written by chaoskit)';
  }
  const parsed = entrySchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    const first = (json as { recipe?: unknown; runId?: unknown; faultId?: unknown }) ?? {};
    if (i.path[0] === 'recipe' && typeof first.runId === 'string' && typeof first.faultId === 'string')
      return recipeProblem(first.recipe, first.runId, first.faultId) ?? `recipe: ${i.message}`;
    return `${i.path.join('.') || 'line'}: ${i.message}`;
  }
  const e = parsed.data as LedgerEntry;
  if (e.event === 'intent') {
    const why = recipeProblem(e.recipe, e.runId, e.faultId);
    if (why) return why;
  }
  return e;
}

function openOf(entries: readonly LedgerEntry[], runId?: string): OpenFault[] {
  const byKey = new Map<string, OpenFault>();
  const closed = new Set<string>();
  entries.forEach((e, seq) => {
    if (runId && e.runId !== runId) return;
    const key = `${e.runId}/${e.faultId}`;
    if (e.event === 'intent') {
      closed.delete(key);
      byKey.set(key, {
        runId: e.runId,
        faultId: e.faultId,
        type: e.type,
        target: e.target,
        recipe: e.recipe,
        description: e.description,
        manualRevert: e.manualRevert,
        applied: false,
        lastError: null,
        seq,
      });
      return;
    }
    if (e.event === 'reverted') {
      closed.add(key);
      return;
    }
    const f = byKey.get(key);
    if (!f) return; // no intent, no recipe: nothing anyone could revert
    closed.delete(key);
    if (e.event === 'applied') f.applied = true;
    else if (e.event === 'revert-failed') f.lastError = e.error;
  });
  return [...byKey.entries()]
    .filter(([key]) => !closed.has(key))
    .map(([, f]) => f)
    .sort((a, b) => a.seq - b.seq);
}

/** Does the file end without a newline (a torn last line)? */
function endsMidLine(fd: number): boolean {
  const { size } = fstatSync(fd);
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}
