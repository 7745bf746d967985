import { stateDir } from '../../core/paths.ts';
import type { Command } from './index.ts';

export const emergencyStopCommand: Command = (cli, setCode) =>
  cli.command(
    'emergency-stop',
    'stop every running chaoskit run on this machine and revert every open fault (exit 0 when nothing remains, 4 otherwise)',
    (y) =>
      y.option('grace', {
        type: 'number',
        default: 30,
        describe: 'seconds to wait for runs that are stopping and still heart-beating before killing them',
      }),
    async (args) => {
      const { EmergencyStop } = await import('../../safety/emergency-stop.ts');
      if (!(args.grace >= 0 && args.grace <= 3600)) {
        const { InputError } = await import('../../core/errors.ts');
        throw new InputError(`--grace: expected seconds between 0 and 3600, got ${String(args.grace)}`);
      }
      const report = await new EmergencyStop(stateDir(), { graceMs: args.grace * 1000 }).run((line) =>
        process.stdout.write(`${line}\n`),
      );
      setCode(report.remaining > 0 ? 4 : 0);
      // A revert still hanging after the deadline must not keep the process (and the user) waiting.
      if (report.gaveUp) process.stdout.write('', () => process.exit(report.remaining > 0 ? 4 : 0));
    },
  );

/**
 * `chaos status`: running runs and the faults that are really still open. Open faults that no
 * live run owns are first checked against the world and closed in the ledger when they are no
 * longer in effect (a toxic expired by lease). Exit 0 when nothing is open or every open fault
 * belongs to a live, heart-beating run; 4 when a fault is open that no live run will revert
 * (run `chaos emergency-stop`); 2 when the state directory cannot be trusted.
 */
export const statusCommand: Command = (cli, setCode) =>
  cli.command(
    'status',
    'list running runs and open faults (exit 4 when a fault is open that no live run owns)',
    (y) => y.option('json', { type: 'boolean', default: false, describe: 'print one JSON document' }),
    async (args) => {
      const [{ Ledger }, { isRunAlive, lastHeartbeatMs, listRuns }, { reconcile }, { manualRevertFor }] =
        await Promise.all([
          import('../../safety/ledger.ts'),
          import('../../safety/runs.ts'),
          import('../../safety/reconcile.ts'),
          import('../../targets/revert.ts'),
        ]);
      const dir = stateDir();
      const ledger = new Ledger(dir);
      const invalid = ledger.invalid();
      const rec = await reconcile(ledger);
      const runs = listRuns(dir).map((r) => {
        const beat = lastHeartbeatMs(dir, r.runId);
        return { ...r, alive: isRunAlive(r), heartbeatAgeMs: beat === null ? null : Date.now() - beat };
      });
      const open = [
        ...rec.owned.map((f) => ({ f, owner: 'live run', effect: null as string | null })),
        ...rec.orphaned.map(({ fault, effect }) => ({
          f: fault,
          owner: 'none',
          effect: effect as string | null,
        })),
      ].sort((a, b) => a.f.seq - b.f.seq);
      setCode(rec.orphaned.length > 0 ? 4 : 0);
      if (args.json) {
        process.stdout.write(
          `${JSON.stringify(
            {
              stateDir: dir,
              runs,
              openFaults: open.map(({ f, owner, effect }) => ({
                runId: f.runId,
                faultId: f.faultId,
                type: f.type,
                target: f.target,
                description: f.description,
                applied: f.applied,
                lastError: f.lastError,
                ownedByLiveRun: owner === 'live run',
                effect,
                manualRevert: manualRevertFor(f.recipe),
              })),
              closedNow: rec.closed.map(({ fault, by }) => ({
                runId: fault.runId,
                faultId: fault.faultId,
                by,
              })),
              invalidLedgerLines: invalid,
            },
            null,
            2,
          )}\n`,
        );
        return;
      }
      const out: string[] = [`state directory: ${dir}`];
      if (runs.length === 0) out.push('no running runs');
      for (const r of runs) {
        const age = r.heartbeatAgeMs === null ? 'never' : `${(r.heartbeatAgeMs / 1000).toFixed(1)}s ago`;
        out.push(
          `run ${r.runId}  ${r.scenario}  pid ${r.pid} ${r.alive ? 'alive' : 'DEAD'}  guard ${r.guardPid ?? '-'}  heartbeat ${age}  since ${r.startedAt}${r.stopping ? `  stopping (${r.stopping.reason})` : ''}`,
        );
      }
      for (const { fault, by } of rec.closed)
        out.push(
          `closed ${fault.runId}/${fault.faultId} ${fault.type} on ${fault.target}: no longer in effect (${by})`,
        );
      if (open.length === 0) out.push('no open faults');
      for (const { f, owner, effect } of open) {
        out.push(
          `open fault ${f.runId}/${f.faultId}  ${f.type} on ${f.target}: ${f.description}` +
            (owner === 'none'
              ? `\n  no live run owns it${effect === 'unknown' ? ' (cannot tell whether it is still in effect)' : ''}: run chaos emergency-stop`
              : '') +
            (f.lastError ? `\n  last revert error: ${f.lastError}` : '') +
            `\n  manual revert: ${manualRevertFor(f.recipe)}`,
        );
      }
      for (const l of invalid)
        out.push(`ignored ledger line ${ledger.file}:${l.line} (never executed): ${l.problem}`);
      process.stdout.write(`${out.join('\n')}\n`);
    },
  );

export const guardCommand: Command = (cli) =>
  cli.command({
    command: '_guard <runId>',
    describe: false,
    builder: (y) => y.positional('runId', { type: 'string', demandOption: true }),
    handler: async (args) => {
      const { runGuard } = await import('../../safety/guard.ts');
      await runGuard(stateDir(), args.runId);
    },
  });
