/**
 * Runs the plan's fault windows against the environment's targets.
 *
 *   start ─prepare (reads only)─> ledger: intent+recipe ─apply─> ledger: applied
 *   end / stopAll ─revert (recipe, retried)─> ledger: reverted | revert-failed
 *
 * Every fault has a record in the result: when it was applied and reverted, and by which layer.
 * Leases on proxy toxics are renewed while the run lives; a dead runner's toxics expire.
 */
import { faultDef } from '../../faults/index.ts';
import type { Prng } from '../load/prng.ts';
import type { FaultRecord } from '../result.ts';
import type { EnvironmentFile } from '../scenario/schema.ts';
import type { PlannedFault } from '../scenario/plan.ts';
import { renewProxyLease } from '../targets/proxy.ts';
import { manualRevertFor } from '../targets/revert.ts';
import { ownershipMark, type RevertRecipe } from '../targets/types.ts';
import type { Ledger, RevertLayer } from './ledger.ts';
import { revertWithRetry } from './revert.ts';

export const LEASE_MS = 10_000;
const RENEW_EVERY_MS = 2_000;

interface Live {
  planned: PlannedFault;
  record: FaultRecord;
  recipe: RevertRecipe | null;
  /** The apply in flight, if any: a revert waits for it. */
  applying: Promise<void> | null;
  timers: NodeJS.Timeout[];
}

export interface FaultRunnerOptions {
  faults: readonly PlannedFault[];
  env: EnvironmentFile;
  runId: string;
  ledger: Ledger;
  prng: Prng;
  /** Milliseconds since the load started. */
  now: () => number;
  log: (line: string) => void;
  /** Called whenever the set of active faults changes. */
  onChange: (activeIds: string[]) => void;
  leaseMs?: number;
}

export class FaultRunner {
  private readonly live: Live[];
  private renewTimer: NodeJS.Timeout | null = null;
  private stopped = false;

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
        appliedAtMs: null,
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
      const at = (ms: number, fn: () => void) =>
        l.timers.push(setTimeout(fn, Math.max(0, ms - this.o.now())));
      at(l.planned.startMs, () => void this.apply(l, prng.fork(l.planned.id)));
      at(l.planned.endMs, () => void this.revert(l, 'schedule'));
    }
    this.renewTimer = setInterval(() => void this.renewLeases(), RENEW_EVERY_MS);
    this.renewTimer.unref();
  }

  activeIds(): string[] {
    return this.live.filter((l) => l.record.status === 'applied').map((l) => l.planned.id);
  }

  records(): FaultRecord[] {
    return this.live.map((l) => ({ ...l.record, observations: [...l.record.observations] }));
  }

  private async apply(l: Live, prng: Prng): Promise<void> {
    if (this.stopped) return;
    const f = l.planned;
    const def = faultDef(f.type);
    const target = this.o.env.targets[f.target];
    if (!def || !target || !def.on[target.kind]) throw new Error(`fault ${f.id} was not validated`); // loader guarantees
    const prepare = def.on[target.kind]!;
    const run = async () => {
      try {
        const params = def.params.parse(f.params);
        const prepared = await prepare(
          {
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
          },
          params,
        );
        l.recipe = prepared.recipe;
        l.record.description = prepared.description;
        l.record.manualRevert = prepared.manualRevert;
        this.o.ledger.append({
          event: 'intent',
          runId: this.o.runId,
          faultId: f.id,
          type: f.type,
          target: f.target,
          recipe: prepared.recipe,
          description: prepared.description,
          manualRevert: prepared.manualRevert,
        });
        const applied = await prepared.apply();
        this.o.ledger.append({ event: 'applied', runId: this.o.runId, faultId: f.id });
        l.record.status = 'applied';
        l.record.appliedAtMs = Math.round(this.o.now());
        this.o.log(`fault ${f.id} applied: ${prepared.description}`);
        applied.observation?.then((o) => o && l.record.observations.push(o)).catch(() => {});
        this.changed();
      } catch (err) {
        l.record.status = 'apply-failed';
        l.record.error = `apply failed: ${(err as Error).message}`;
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
    for (const t of l.timers) clearTimeout(t);
    if (l.applying) await l.applying;
    const st = l.record.status;
    if (
      !l.recipe ||
      st === 'reverted' ||
      (st !== 'applied' && st !== 'apply-failed' && st !== 'revert-failed')
    )
      return;
    const recipe = l.recipe;
    try {
      const notes: string[] = [];
      const outcome = await revertWithRetry(recipe, 3, 200, (note) => notes.push(note));
      this.o.ledger.append({ event: 'reverted', runId: this.o.runId, faultId: l.planned.id, by, outcome });
      if (st !== 'apply-failed') {
        l.record.status = 'reverted';
        l.record.revertedAtMs = Math.round(this.o.now());
        l.record.revertedBy = by;
        if (notes.length > 0) l.record.observations.push(...notes);
        else if (outcome === 'already-gone')
          l.record.observations.push('already gone when reverted (another layer removed it)');
        this.o.log(`fault ${l.planned.id} reverted (${by})`);
      }
    } catch (err) {
      const error = (err as Error).message;
      this.o.ledger.append({ event: 'revert-failed', runId: this.o.runId, faultId: l.planned.id, by, error });
      l.record.status = 'revert-failed';
      l.record.error = `revert failed: ${error}`;
      l.record.manualRevert = manualRevertFor(recipe);
      this.o.log(
        `fault ${l.planned.id} could NOT be reverted: ${error}\n  run by hand: ${l.record.manualRevert}`,
      );
    }
    this.changed();
  }

  /** No fault starts from now on (an abort); reverting what is applied is stopAll's job. */
  cancelPending(): void {
    this.stopped = true;
    for (const l of this.live) if (l.record.status === 'scheduled') for (const t of l.timers) clearTimeout(t);
  }

  /** Reverts everything still in effect, newest first; cancels what has not started. */
  async stopAll(by: RevertLayer): Promise<void> {
    this.stopped = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    for (const l of this.live) for (const t of l.timers) clearTimeout(t);
    const order = [...this.live].reverse();
    for (const l of order) await this.revert(l, by);
  }

  failedReverts(): FaultRecord[] {
    return this.live.filter((l) => l.record.status === 'revert-failed').map((l) => l.record);
  }

  private changed(): void {
    this.o.onChange(this.activeIds());
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
