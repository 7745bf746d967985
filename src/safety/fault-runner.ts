/**
 * Runs the plan's fault windows against the environment's targets, on the run's clock.
 *
 *   window start ─prepare (reads only)─> ledger: intent+recipe ─apply─> ledger: applied
 *   window end / stopAll ─revert (recipe, retried)─> ledger: reverted | revert-failed
 *
 * Every fault has a record in the result: when it was meant to start, when its apply began and
 * finished (the lag), when it was reverted and by which layer. The exposure windows the
 * measurements use open when an apply begins and close when its revert has finished. Leases on
 * proxy toxics are renewed while the run lives; a dead runner's toxics expire.
 */
import { faultDef } from '../../faults/index.ts';
import { every, type Clock, type TimerHandle } from '../core/clock.ts';
import type { Prng } from '../load/prng.ts';
import type { FaultRecord } from '../result.ts';
import type { FaultWindows } from '../run/exposure.ts';
import type { EnvironmentFile } from '../scenario/schema.ts';
import type { PlannedFault } from '../scenario/plan.ts';
import { renewProxyLease } from '../targets/proxy.ts';
import { manualRevertFor } from '../targets/revert.ts';
import { ownershipMark, type ApplyContext, type Prepared, type RevertRecipe } from '../targets/types.ts';
import {
  LedgerWriteError,
  type Ledger,
  type LedgerEvent,
  type LedgerRevertBy,
  type RevertLayer,
} from './ledger.ts';
import { revertFault } from './revert.ts';

export const LEASE_MS = 10_000;
const RENEW_EVERY_MS = 2_000;

/** A fault applied later than this after its planned start did not run as planned. */
export function lateToleranceMs(f: Pick<PlannedFault, 'startMs' | 'endMs' | 'toleranceMs'>): number {
  return f.toleranceMs ?? Math.max(1000, 0.1 * (f.endMs - f.startMs));
}

interface Live {
  planned: PlannedFault;
  record: FaultRecord;
  recipe: RevertRecipe | null;
  /** The apply in flight, if any: a revert waits for it. */
  applying: Promise<void> | null;
  timers: TimerHandle[];
}

export interface FaultRunnerOptions {
  faults: readonly PlannedFault[];
  env: EnvironmentFile;
  runId: string;
  ledger: Ledger;
  prng: Prng;
  clock: Clock;
  /** Milliseconds since the load started. */
  now: () => number;
  windows: FaultWindows;
  log: (line: string) => void;
  onApplied?: (record: FaultRecord) => void;
  onReverted?: (record: FaultRecord) => void;
  leaseMs?: number;
  /** Converts a wall-clock time (epoch ms, as in ledger records) to the load's clock. */
  wallToRunMs?: (epochMs: number) => number;
  /** The environment file the run used (restart commands and remote proxy APIs are re-read from it on revert). */
  environmentFile?: string;
  /** The state directory (self-reverting timers find the ledger there). */
  stateDir?: string;
  /** Prepares a fault (the fault type's driver when absent; tests inject fakes). */
  prepare?: (f: PlannedFault, ctx: ApplyContext) => Promise<Prepared>;
  /** Reverts from a recipe (the real drivers when absent; tests inject fakes). */
  revert?: (recipe: RevertRecipe, onNote: (note: string) => void) => Promise<'reverted' | 'already-gone'>;
}

export class FaultRunner {
  private readonly live: Live[];
  private renewer: { stop(): void } | null = null;
  private stopped = false;
  /** Ledger records that could not be made durable (disk full, read-only): the run exits 4. */
  readonly ledgerFailures: string[] = [];

  constructor(private readonly o: FaultRunnerOptions) {
    this.live = o.faults.map((f) => ({
      planned: f,
      recipe: null,
      applying: null,
      timers: [],
      record: {
        id: f.id,
        type: f.type,
        target: f.target,
        plannedStartMs: f.startMs,
        plannedEndMs: f.endMs,
        status: 'scheduled',
        applyStartedAtMs: null,
        appliedAtMs: null,
        applyLagMs: null,
        toleranceMs: lateToleranceMs(f),
        late: false,
        revertedAtMs: null,
        revertedBy: null,
        description: '',
        error: null,
        manualRevert: null,
        observations: [],
        params: f.params,
      },
    }));
  }

  /** Schedules every window relative to the load's clock. */
  start(): void {
    const prng = this.o.prng.fork('faults');
    for (const l of this.live) {
      // Decide every occurrence's probability up front, so the draw order never depends on timing.
      const go = l.planned.probability >= 1 || prng.next() < l.planned.probability;
      if (!go) {
        l.record.status = 'skipped';
        l.record.observations.push(`skipped by its probability (${l.planned.probability})`);
        continue;
      }
      const fork = prng.fork(l.planned.id);
      const at = (ms: number, fn: () => void) =>
        l.timers.push(this.o.clock.setTimeout(fn, Math.max(0, ms - this.o.now())));
      at(l.planned.startMs, () => void this.apply(l, fork));
      at(l.planned.endMs, () => void this.revert(l, 'schedule'));
    }
    this.renewer = every(this.o.clock, RENEW_EVERY_MS, () => void this.renewLeases());
  }

  activeIds(): string[] {
    return this.live.filter((l) => l.record.status === 'applied').map((l) => l.planned.id);
  }

  records(): FaultRecord[] {
    return this.live.map((l) => ({ ...l.record, observations: [...l.record.observations] }));
  }

  private append(e: LedgerEvent): boolean {
    try {
      this.o.ledger.append(e);
      return true;
    } catch (err) {
      const msg = `ledger record "${e.event}" for ${e.faultId} could not be written: ${(err as Error).message}`;
      this.ledgerFailures.push(msg);
      this.o.log(msg);
      return false;
    }
  }

  private async apply(l: Live, prng: Prng): Promise<void> {
    if (this.stopped) return;
    const f = l.planned;
    const def = faultDef(f.type);
    const target = this.o.env.targets[f.target];
    if (!def || !target || (!def.on[target.kind] && !this.o.prepare))
      throw new Error(`fault ${f.id} was not validated`); // loader guarantees
    const prepare = this.o.prepare
      ? (ctx: ApplyContext) => this.o.prepare!(f, ctx)
      : (ctx: ApplyContext) => def.on[target.kind]!(ctx, f.parsed);
    const run = async () => {
      try {
        const prepared = await prepare({
          targetName: f.target,
          target,
          faultId: f.id,
          runId: this.o.runId,
          mark: ownershipMark(this.o.runId, f.id),
          leaseMs: this.o.leaseMs ?? LEASE_MS,
          durationMs: f.endMs - f.startMs,
          prng,
          pick: {
            ...(f.count !== undefined ? { count: f.count } : {}),
            ...(f.percent !== undefined ? { percent: f.percent } : {}),
          },
          log: this.o.log,
          targets: this.o.env.targets,
        });
        l.recipe = prepared.recipe;
        l.record.description = prepared.description;
        l.record.manualRevert = prepared.manualRevert;
        // No durable intent, no apply: a fault nobody could revert after a crash is never made.
        const durable = this.append({
          event: 'intent',
          runId: this.o.runId,
          faultId: f.id,
          type: f.type,
          target: f.target,
          recipe: prepared.recipe,
          description: prepared.description,
          manualRevert: prepared.manualRevert,
        });
        if (!durable) throw new Error('its ledger intent could not be written, so it was not applied');
        if (this.stopped) {
          l.recipe = null;
          this.append({
            event: 'reverted',
            runId: this.o.runId,
            faultId: f.id,
            by: 'runner-exit',
            outcome: 'already-gone',
          });
          return;
        }
        const startedAt = this.o.now();
        l.record.applyStartedAtMs = Math.round(startedAt);
        this.o.windows.open(f.id, startedAt);
        const applied = await prepared.apply();
        this.append({ event: 'applied', runId: this.o.runId, faultId: f.id });
        const now = this.o.now();
        l.record.status = 'applied';
        l.record.appliedAtMs = Math.round(now);
        l.record.applyLagMs = Math.max(0, Math.round(now - f.startMs));
        if (l.record.applyLagMs > l.record.toleranceMs) {
          l.record.late = true;
          l.record.observations.push(
            `applied ${l.record.applyLagMs}ms after its planned start (tolerance ${Math.round(l.record.toleranceMs)}ms)`,
          );
        }
        this.o.log(`fault ${f.id} applied: ${prepared.description}`);
        applied.observation?.then((o) => o && l.record.observations.push(o)).catch(() => {});
        this.o.onApplied?.({ ...l.record });
      } catch (err) {
        l.record.status = 'apply-failed';
        l.record.error = `apply failed: ${(err as Error).message}`;
        this.o.windows.close(f.id, this.o.now());
        this.o.log(`fault ${f.id} could not be applied: ${(err as Error).message}`);
      }
    };
    l.applying = run();
    await l.applying;
    l.applying = null;
    // An apply that failed half-way may still have changed something: revert is idempotent.
    if (l.record.status === 'apply-failed' && l.recipe) await this.revert(l, 'runner-exit');
  }

  private async revert(l: Live, by: RevertLayer): Promise<void> {
    for (const t of l.timers) this.o.clock.clearTimeout(t);
    if (l.applying) await l.applying;
    const st = l.record.status;
    if (
      !l.recipe ||
      st === 'reverted' ||
      (st !== 'applied' && st !== 'apply-failed' && st !== 'revert-failed')
    )
      return;
    const recipe = l.recipe;
    const elsewhere = st === 'applied' ? this.revertedElsewhere(l) : null;
    if (elsewhere) {
      // A stalled runner resumed: its guard (or an emergency stop, or its timer) reverted this fault meanwhile.
      this.markRevertedElsewhere(l, elsewhere);
      return;
    }
    try {
      const { outcome, notes } = await revertFault(
        this.o.ledger,
        { runId: this.o.runId, faultId: l.planned.id, recipe },
        by,
        this.o.revert ? { revert: this.o.revert } : {},
      );
      this.o.windows.close(l.planned.id, this.o.now());
      if (outcome === 'reverted-by-other') {
        const other = this.revertedElsewhere(l, true);
        if (other && st === 'applied') {
          this.markRevertedElsewhere(l, other);
          return;
        }
      }
      if (st !== 'apply-failed') {
        l.record.status = 'reverted';
        l.record.revertedAtMs = Math.round(this.o.now());
        l.record.revertedBy = by;
        if (notes.length > 0) l.record.observations.push(...notes);
        else if (outcome !== 'reverted')
          l.record.observations.push('already gone when reverted (another layer removed it)');
        this.o.log(`fault ${l.planned.id} reverted (${by})`);
        this.o.onReverted?.({ ...l.record });
      }
    } catch (err) {
      const error = (err as Error).message;
      if (err instanceof LedgerWriteError) {
        // The revert may well have happened; the ledger could not say so: the run exits 4.
        this.ledgerFailures.push(`${l.planned.id}: ${error}`);
        this.o.log(`fault ${l.planned.id}: ${error}`);
      }
      l.record.status = 'revert-failed';
      l.record.error = `revert failed: ${error}`;
      l.record.manualRevert = manualRevertFor(recipe);
      this.o.windows.close(l.planned.id, this.o.now());
      this.o.log(
        `fault ${l.planned.id} could NOT be reverted: ${error}\n  run by hand: ${l.record.manualRevert}`,
      );
    }
  }

  private markRevertedElsewhere(l: Live, other: { by: LedgerRevertBy; atMs: number | null }): void {
    for (const t of l.timers) this.o.clock.clearTimeout(t);
    const at = other.atMs ?? this.o.now();
    l.record.status = 'reverted';
    l.record.revertedAtMs = Math.round(at);
    l.record.revertedBy = other.by;
    l.record.observations.push(`reverted by ${other.by} while this runner was not responding`);
    this.o.windows.close(l.planned.id, at);
    this.o.log(`fault ${l.planned.id} was reverted by ${other.by} while this runner was not responding`);
    this.o.onReverted?.({ ...l.record });
  }

  /**
   * After the runner itself was stalled: faults its guard (or an emergency stop) reverted
   * meanwhile are recorded as such, with the time they stopped being in effect.
   */
  reconcile(): void {
    for (const l of this.live) {
      if (l.record.status !== 'applied') continue;
      const other = this.revertedElsewhere(l);
      if (other) this.markRevertedElsewhere(l, other);
    }
  }

  /** Another layer's `reverted` record for this fault (any layer but this runner's own, unless `any`). */
  private revertedElsewhere(l: Live, any = false): { by: LedgerRevertBy; atMs: number | null } | null {
    let last;
    try {
      last = this.o.ledger.revertedBy(this.o.runId, l.planned.id);
    } catch {
      return null;
    }
    if (!last || (!any && (last.by === 'schedule' || last.by === 'runner-exit'))) return null;
    const wall = Date.parse(last.ts);
    return {
      by: last.by,
      atMs: this.o.wallToRunMs && Number.isFinite(wall) ? Math.max(0, this.o.wallToRunMs(wall)) : null,
    };
  }

  /** No fault starts from now on (an abort); reverting what is applied is stopAll's job. */
  cancelPending(): void {
    this.stopped = true;
    for (const l of this.live)
      if (l.record.status === 'scheduled') for (const t of l.timers) this.o.clock.clearTimeout(t);
  }

  /** Reverts everything still in effect, newest first; cancels what has not started. */
  async stopAll(by: RevertLayer): Promise<void> {
    this.stopped = true;
    this.renewer?.stop();
    for (const l of this.live) for (const t of l.timers) this.o.clock.clearTimeout(t);
    const order = [...this.live].reverse();
    for (const l of order) await this.revert(l, by);
  }

  failedReverts(): FaultRecord[] {
    return this.live.filter((l) => l.record.status === 'revert-failed').map((l) => l.record);
  }

  private async renewLeases(): Promise<void> {
    for (const l of this.live) {
      if (l.record.status !== 'applied' || l.recipe?.driver !== 'proxy') continue;
      try {
        await renewProxyLease(l.recipe, this.o.leaseMs ?? LEASE_MS);
      } catch {
        // A proxy without leases (a real Toxiproxy) keeps toxics anyway; the guard still covers us.
      }
    }
  }
}
