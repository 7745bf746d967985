/**
 * `chaos emergency-stop`: from any shell, stop every running run and revert every open fault.
 *
 *   note + SIGTERM to each live runner ──┐
 *   revert every open ledger entry, newest first, each through revertFault (one writer per
 *   fault; "already gone" and "reverted by another writer" are success)
 *   wait (bounded) for runners that announced `stopping` and keep heart-beating; SIGKILL only a
 *   runner that is stalled or did not announce stopping soon after the signal
 *
 * It always settles: a ref'd watchdog keeps the event loop alive and ends the wait at a hard
 * deadline, so no revert that hangs can leave an unsettled await behind (node's exit 13).
 */
import { manualRevertFor } from '../targets/revert.ts';
import type { InvalidLine, OpenFault } from './ledger.ts';
import { Ledger } from './ledger.ts';
import { reconcile } from './reconcile.ts';
import { revertFault, type RevertFaultOptions, type RevertFaultOutcome } from './revert.ts';
import {
  HEARTBEAT_TTL_MS,
  isRunAlive,
  lastHeartbeatMs,
  listRuns,
  readRun,
  requestStop,
  unregisterRun,
  type RunInfo,
} from './runs.ts';

export interface EmergencyReport {
  runsStopped: number;
  reverted: number;
  /** Faults still open after the stop (each printed with its manual command). */
  remaining: number;
  /** Ledger lines that were ignored (never executed). */
  invalid: number;
  /** Runs that had to be SIGKILLed (stalled, or silent after SIGTERM). */
  killed: number;
  /** The hard deadline passed with work still in flight (the CLI then exits at once). */
  gaveUp: boolean;
  elapsedMs: number;
}

export interface EmergencyOptions {
  /** How long to wait for runs that announced `stopping` and keep heart-beating (default 30 s). */
  graceMs?: number;
  /** How soon after SIGTERM a run must announce `stopping` (or finish) before it is killed (default 2 s). */
  announceMs?: number;
  /** Longest any one fault's revert may take before it is reported as not reverted (default 60 s). */
  perFaultMs?: number;
  /** The stop ends by this time whatever hangs (default graceMs + 90 s). */
  hardDeadlineMs?: number;
  /** Passed to revertFault (tests inject a revert). */
  revert?: RevertFaultOptions['revert'];
}

type Outcome =
  | { fault: OpenFault; ok: true; outcome: RevertFaultOutcome; notes: string[] }
  | { fault: OpenFault; ok: false; error: string };

export class EmergencyStop {
  private readonly o: Required<Omit<EmergencyOptions, 'revert'>> & Pick<EmergencyOptions, 'revert'>;

  constructor(
    private readonly dir: string,
    opts: EmergencyOptions | number = {},
  ) {
    const o = typeof opts === 'number' ? { graceMs: opts } : opts;
    const graceMs = o.graceMs ?? 30_000;
    this.o = {
      graceMs,
      announceMs: o.announceMs ?? 2_000,
      perFaultMs: o.perFaultMs ?? 60_000,
      hardDeadlineMs: o.hardDeadlineMs ?? graceMs + 90_000,
      revert: o.revert,
    };
  }

  async run(print: (line: string) => void): Promise<EmergencyReport> {
    const t0 = performance.now();
    // Ref'd: the event loop cannot run empty while the stop is under way.
    const keepAlive = setInterval(() => {}, 1_000);
    let hardTimer: NodeJS.Timeout | undefined;
    const state = { runsStopped: 0, reverted: 0, killed: 0, invalid: 0, done: false };
    const hard = new Promise<'deadline'>((resolve) => {
      hardTimer = setTimeout(() => resolve('deadline'), this.o.hardDeadlineMs);
    });
    try {
      const ledger = new Ledger(this.dir);
      const finished = await Promise.race([
        this.work(ledger, print, state).then(() => 'done' as const),
        hard,
      ]);
      if (finished === 'deadline')
        print(
          `gave up waiting after ${Math.round(this.o.hardDeadlineMs / 1000)}s; what is still open is listed below`,
        );
      let open: OpenFault[] = [];
      try {
        open = ledger.open();
      } catch (err) {
        print(`could not read the ledger again: ${(err as Error).message}`);
      }
      for (const f of finished === 'deadline' ? open : [])
        print(
          `still open ${f.runId}/${f.faultId} ${f.type} on ${f.target}\n  run by hand: ${manualRevertFor(f.recipe)}`,
        );
      const elapsedMs = performance.now() - t0;
      if (state.runsStopped === 0 && state.reverted === 0 && open.length === 0)
        print('nothing to do: no running runs and no open faults');
      else
        print(
          `done in ${Math.round(elapsedMs)}ms: ${state.runsStopped} run(s) stopped, ${state.reverted} fault(s) reverted, ${open.length} still open`,
        );
      return {
        runsStopped: state.runsStopped,
        reverted: state.reverted,
        remaining: open.length,
        invalid: state.invalid,
        killed: state.killed,
        gaveUp: finished === 'deadline',
        elapsedMs,
      };
    } finally {
      clearInterval(keepAlive);
      clearTimeout(hardTimer);
    }
  }

  private async work(
    ledger: Ledger,
    print: (line: string) => void,
    state: { runsStopped: number; reverted: number; killed: number; invalid: number },
  ): Promise<void> {
    const runs = listRuns(this.dir);
    const live = runs.filter(isRunAlive);
    for (const r of runs.filter((x) => !isRunAlive(x))) unregisterRun(this.dir, r.runId);
    const signalled = new Map<string, number>();
    for (const r of live) {
      requestStop(this.dir, r.runId, 'emergency stop');
      try {
        process.kill(r.pid, 'SIGTERM');
        signalled.set(r.runId, performance.now());
        print(`stopping run ${r.runId} (${r.scenario}, pid ${r.pid})`);
      } catch {
        // it exited between the check and the signal
      }
    }
    state.runsStopped = signalled.size;

    const { entries, invalid } = ledger.scan();
    state.invalid = invalid.length;
    for (const l of invalid) print(describeInvalid(ledger.file, l));
    void entries;

    // What is open and no longer in effect (a toxic expired by lease) is closed, not "reverted".
    const rec = await reconcile(ledger);
    for (const { fault, by } of rec.closed)
      print(
        `closed ${fault.runId}/${fault.faultId} ${fault.type} on ${fault.target}: no longer in effect (${by})`,
      );

    for (const r of await this.revertAll(ledger)) {
      const f = r.fault;
      const what = `${f.runId}/${f.faultId} ${f.type} on ${f.target}`;
      if (r.ok) {
        state.reverted++;
        const how =
          r.outcome === 'already-gone'
            ? ' (already gone)'
            : r.outcome === 'reverted-by-other'
              ? ` (by ${ledger.revertedBy(f.runId, f.faultId)?.by ?? 'another process'})`
              : '';
        print(`reverted ${what}${how}: ${f.description}${r.notes.length ? ` (${r.notes.join('; ')})` : ''}`);
      } else {
        print(`could NOT revert ${what}: ${r.error}\n  run by hand: ${manualRevertFor(f.recipe)}`);
      }
    }
    await this.waitForRuns(
      live.filter((r) => signalled.has(r.runId)),
      signalled,
      print,
      state,
    );
  }

  private async revertAll(ledger: Ledger): Promise<Outcome[]> {
    const out: Outcome[] = [];
    for (const fault of ledger.open().sort((a, b) => b.seq - a.seq)) {
      const attempt = revertFault(
        ledger,
        fault,
        'emergency-stop',
        this.o.revert ? { revert: this.o.revert } : {},
      ).then(
        (r): Outcome => ({ fault, ok: true, ...r }),
        (err: Error): Outcome => ({ fault, ok: false, error: err.message }),
      );
      let t: NodeJS.Timeout | undefined;
      const timeout = new Promise<Outcome>((resolve) => {
        t = setTimeout(
          () =>
            resolve({
              fault,
              ok: false,
              error: `the revert did not finish within ${Math.round(this.o.perFaultMs / 1000)}s`,
            }),
          this.o.perFaultMs,
        );
        t.unref(); // the watchdog keeps the loop alive while we wait; this must not once we gave up
      });
      out.push(await Promise.race([attempt, timeout]));
      clearTimeout(t);
    }
    return out;
  }

  /**
   * Waits for signalled runs to exit. A run that announced `stopping` (or already left its run
   * file) and keeps heart-beating is given up to graceMs; one that is stalled (heartbeat older
   * than the TTL) or silent announceMs after the signal is SIGKILLed.
   */
  private async waitForRuns(
    live: RunInfo[],
    signalled: Map<string, number>,
    print: (line: string) => void,
    state: { killed: number },
  ): Promise<void> {
    const deadline = performance.now() + this.o.graceMs;
    const pending = new Set(live);
    while (pending.size > 0) {
      for (const r of [...pending]) {
        if (!isRunAlive(r)) {
          pending.delete(r);
          continue;
        }
        const info = readRun(this.dir, r.runId);
        const beat = lastHeartbeatMs(this.dir, r.runId);
        const sinceSignal = performance.now() - (signalled.get(r.runId) ?? 0);
        let why: string | null = null;
        if (info && beat !== null && Date.now() - beat > HEARTBEAT_TTL_MS)
          why = `stalled (no heartbeat for ${((Date.now() - beat) / 1000).toFixed(1)}s)`;
        else if (info && !info.stopping && sinceSignal > this.o.announceMs)
          why = `did not announce stopping within ${this.o.announceMs / 1000}s of SIGTERM`;
        else if (performance.now() > deadline) why = `did not stop within ${this.o.graceMs / 1000}s`;
        if (why) {
          print(`run ${r.runId} ${why}; sending SIGKILL`);
          try {
            process.kill(r.pid, 'SIGKILL');
            state.killed++;
          } catch {
            // gone
          }
          // Its faults were reverted above; its guard finds nothing open and exits.
          unregisterRun(this.dir, r.runId);
          pending.delete(r);
        }
      }
      if (pending.size > 0) await new Promise((res) => setTimeout(res, 50));
    }
  }
}

export function describeInvalid(file: string, l: InvalidLine): string {
  return `ignored ledger line ${file}:${l.line} (never executed): ${l.problem}`;
}
