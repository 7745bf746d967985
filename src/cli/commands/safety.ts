import { stateDir } from '../../safety/state.ts';
import type { Command } from './index.ts';

export const emergencyStopCommand: Command = (cli, setCode) =>
  cli.command(
    'emergency-stop',
    'stop every running chaoskit run on this machine and revert every open fault (exit 0 when nothing remains, 4 otherwise)',
    (y) => y,
    async () => {
      const { EmergencyStop } = await import('../../safety/emergency-stop.ts');
      const report = await new EmergencyStop(stateDir()).run((line) => process.stdout.write(`${line}\n`));
      setCode(report.remaining > 0 ? 4 : 0);
    },
  );

export const statusCommand: Command = (cli) =>
  cli.command(
    'status',
    'list running runs and open faults',
    (y) => y,
    async () => {
      const [{ Ledger }, { isRunAlive, lastHeartbeatMs, listRuns }] = await Promise.all([
        import('../../safety/ledger.ts'),
        import('../../safety/runs.ts'),
      ]);
      const dir = stateDir();
      const runs = listRuns(dir);
      const open = new Ledger(dir).open();
      process.stdout.write(`state directory: ${dir}\n`);
      if (runs.length === 0) process.stdout.write('no running runs\n');
      for (const r of runs) {
        const beat = lastHeartbeatMs(dir, r.runId);
        const age = beat === null ? 'never' : `${((Date.now() - beat) / 1000).toFixed(1)}s ago`;
        process.stdout.write(
          `run ${r.runId}  ${r.scenario}  pid ${r.pid} ${isRunAlive(r) ? 'alive' : 'DEAD'}  guard ${r.guardPid ?? '-'}  heartbeat ${age}  since ${r.startedAt}\n`,
        );
      }
      if (open.length === 0) process.stdout.write('no open faults\n');
      for (const f of open) {
        process.stdout.write(
          `open fault ${f.runId}/${f.faultId}  ${f.type} on ${f.target}: ${f.description}${f.lastError ? `\n  last revert error: ${f.lastError}` : ''}\n  manual revert: ${f.manualRevert}\n`,
        );
      }
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
