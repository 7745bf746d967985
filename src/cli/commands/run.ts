import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPORTER_NAMES, type ReporterName } from '../../../reporters/names.ts';
import { AbortedError, ExitCode, InputError, RevertError } from '../../core/errors.ts';
import type { RunResult } from '../../result.ts';
import { checkMinScore, checkSeed, checkTimeScale, loadOptions, scenarioOptions } from '../options.ts';
import { formatDuration } from '../../core/units.ts';
import { checkObserveFlags, startObservers } from '../observers.ts';
import type { Command } from './index.ts';

export const runCommand: Command = (cli, setCode) =>
  cli.command(
    'run <scenario>',
    'run a scenario: load, faults, measurements and reports',
    (y) =>
      scenarioOptions(y)
        .option('out', {
          type: 'string',
          describe: 'directory for results.json, report.md, report.html and junit.xml',
        })
        .option('reporter', {
          type: 'string',
          array: true,
          choices: REPORTER_NAMES,
          describe:
            'reports to write into --out (default: json markdown html junit; ndjson: k6 --out json lines)',
        })
        .option('dry-run', {
          type: 'boolean',
          default: false,
          describe: 'print the plan and exit without sending anything',
        })
        .option('quiet', { type: 'boolean', default: false, describe: 'no live progress' })
        .option('warm-up', {
          type: 'boolean',
          default: true,
          describe:
            'send the unrecorded warm-up before t = 0 (--no-warm-up: skip it, whatever load.warmUp says)',
        })
        .option('engine', {
          choices: ['k6'] as const,
          describe:
            'run the load with a user-installed k6 binary instead (k6 is AGPL: not shipped with chaoskit)',
        })
        .option('min-score', {
          type: 'number',
          describe: 'exit 1 when the resilience score (0-100) is below this',
        })
        .option('skip-unavailable', {
          type: 'boolean',
          default: false,
          describe:
            'run without faults that cannot be applied here (no GPU, no driver) instead of refusing; they are recorded as skipped',
        })
        .option('prometheus', {
          type: 'number',
          describe:
            'serve live metrics on http://127.0.0.1:PORT/metrics during the run (docs/observability.md)',
        })
        .option('pushgateway', {
          type: 'string',
          describe:
            'push live metrics to this Prometheus Pushgateway URL during the run (grouped by scenario)',
        })
        .option('otlp', {
          type: 'string',
          describe:
            'export metrics and traces over OTLP/HTTP (protobuf) to this endpoint; with no URL, OTEL_EXPORTER_OTLP_ENDPOINT',
        })
        .option('trace-sample', {
          type: 'string',
          describe:
            'share of requests that carry a W3C traceparent and are exported as spans, e.g. 1% (needs --otlp; default 0)',
        })
        .option('dashboard', {
          type: 'string',
          describe:
            'serve a live dashboard on http://127.0.0.1:PORT/ (no PORT: any free port; the URL is printed)',
        })
        // ---- scale-out (src/scale/, docs/scale-out.md) ----
        .option('workers', {
          type: 'number',
          describe:
            'generate the load with N worker processes on this machine, merged exactly (default 1: this process)',
        })
        .option('runners', {
          type: 'number',
          describe:
            'coordinate N `chaos runner` processes (other machines, a Kubernetes Indexed Job); needs --listen',
        })
        .option('listen', {
          type: 'string',
          describe:
            'HOST:PORT where runners connect (beyond loopback: set CHAOSKIT_TOKEN here and on every runner)',
        })
        .option('on-runner-loss', {
          choices: ['abort', 'continue'] as const,
          default: 'abort' as const,
          describe:
            'a worker or runner lost mid-run: abort the run (exit 3), or continue and mark its share not delivered',
        })
        .option('join-timeout', {
          type: 'string',
          describe: 'how long to wait for every runner to join before giving up (default 2m)',
        }),
    async (args) => {
      // Every flag is checked before anything is loaded or started.
      const timeScale = checkTimeScale(args.timeScale);
      const seed = checkSeed(args.seed);
      const minScore = checkMinScore(args.minScore);
      const observe = checkObserveFlags(args, process.env);
      const { checkScaleFlags } = await import('../../scale/cli.ts');
      const scaleReq = checkScaleFlags(args);
      // Loaded here, not at start-up: every other command (a guard, an emergency stop) starts faster.
      const [
        { loadScenario, planScenario, assertSingleStream },
        { runScenario, LEDGER_WARNING },
        { render, writeReports },
      ] = await Promise.all([
        import('../../input/load.ts'),
        import('../../run.ts'),
        import('../../../reporters/index.ts'),
      ]);
      const { describePlan, describePicks } = await import('../chart.ts');
      const { attachProgress } = await import('../progress.ts');
      const scenario = loadScenario(args.scenario, loadOptions(args));
      if (scaleReq) assertSingleStream(scenario, '--workers and --runners (they split one load)');
      if (args.engine === 'k6') assertSingleStream(scenario, '--engine k6');
      if (args.dryRun) {
        const plan = planScenario(scenario, {
          seed: seed ?? scenario.spec.seed ?? 0,
          timeScale,
          force: args.force,
        });
        const picks = await describePicks(
          scenario.environment.spec.targets,
          plan.faults,
          scenario.environment.spec.demo,
        );
        process.stdout.write(
          `${describePlan(plan)}\n${picks ? `\n${picks}\n` : ''}\ndry run: nothing was sent\n`,
        );
        return;
      }
      const outDir = args.out ? resolve(args.out) : undefined;
      if (outDir) ensureWritable(outDir);
      // Observers bind their ports before anything starts: a port in use is exit 2 with nothing started.
      const watch = await startObservers(observe, (line) => process.stderr.write(`${line}\n`));
      // Scale-out binds its coordinator (a port in use is exit 2) and starts its workers before the run.
      const scale = scaleReq
        ? await (
            await import('../../scale/cli.ts')
          )
            .startScaleOut(scaleReq, scenario, { seed, timeScale, force: args.force, engine: args.engine })
            .catch(async (err: unknown) => {
              await watch.stop();
              throw err;
            })
        : null;
      const run = runScenario(scenario, {
        ...(scale ? { engineDef: scale.engineDef, seed: scale.seed } : {}),
        ...(seed !== undefined ? { seed } : {}),
        timeScale,
        force: args.force,
        skipUnavailable: args.skipUnavailable,
        ...(args.warmUp ? {} : { warmUp: false }),
        ...(args.engine ? { engine: args.engine } : {}),
        ...watch.runOptions,
      });
      watch.attach(run);
      scale?.attach(run);
      const detach = args.quiet ? () => {} : attachProgress(run, process.stderr);
      for (const line of watch.describe()) process.stderr.write(`${line}\n`);
      const onSignal = (sig: NodeJS.Signals) => {
        const reason = run.externalStopReason() ?? `signal ${sig}`;
        process.stderr.write(`\n${reason}: stopping the load and reverting every fault…\n`);
        run.abort(reason);
      };
      const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
      for (const sig of signals) process.on(sig, onSignal);
      run.once('started', (i) => process.stderr.write(`running ${scenario.spec.name} (run ${i.runId})\n`));
      try {
        const result = await run.result;
        detach();
        process.stdout.write(`${render(result, 'console')}\n`);
        if (outDir) {
          const names = fileReporters(args.reporter);
          const { written } = writeReports(result, outDir, names, (line) =>
            process.stderr.write(`${line}\n`),
          );
          process.stdout.write(`\nwritten: ${written.join(', ')}\n`);
          watch.reportsWritten(written);
        }
        const stuck = result.faults.filter((f) => f.status === 'revert-failed');
        if (stuck.length > 0) {
          throw new RevertError(
            `${stuck.length} fault(s) could NOT be reverted; they stay open in the ledger. Run by hand:\n` +
              stuck.map((f) => `  ${f.id} ${f.type} on ${f.target}: ${f.manualRevert}`).join('\n') +
              '\nor run `chaos emergency-stop` once the target is reachable again.',
          );
        }
        const ledger = result.warnings.filter((w) => w.startsWith(LEDGER_WARNING));
        if (ledger.length > 0)
          throw new RevertError(
            `the fault ledger could not be written, so a crash now could leave a fault nobody knows to revert:\n  ${ledger.join('\n  ')}\nfree space in the state directory, then run \`chaos status\`.`,
          );
        if (result.status === 'aborted') {
          throw new AbortedError(
            `run aborted after ${formatDuration(result.ranMs)} (${result.abort?.reason}); every fault was reverted${outDir ? '; partial results written' : ''}`,
          );
        }
        setCode(verdictExitCode(result, minScore));
      } finally {
        detach();
        for (const sig of signals) process.off(sig, onSignal);
        // The demo system, the observers and scale-out stop after the result is out; bounded, they never hold the exit.
        await Promise.race([Promise.all([run.closed, watch.stop(), scale?.close()]), sleep(CLOSE_WAIT_MS)]);
      }
    },
  );

/** How long the exit waits for the demo system and the observers (final push, export, reports to pages) to stop. */
const CLOSE_WAIT_MS = 3_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/**
 * 0 when every objective was met (or, `not-scored`, there were none to meet: said on stderr);
 * 1 for a failed, inconclusive or invalid verdict, or a score below --min-score.
 */
export function verdictExitCode(result: RunResult, minScore: number | undefined): number {
  const v = result.verdict;
  if (!v) return ExitCode.ok;
  if (v.status === 'not-scored') {
    process.stderr.write(`verdict: not scored — ${v.reasons.join('; ')}\n`);
    return ExitCode.ok;
  }
  if (v.status !== 'pass') {
    process.stderr.write(`verdict: ${v.status}${v.reasons.length ? ` — ${v.reasons.join('; ')}` : ''}\n`);
    return ExitCode.sloMissed;
  }
  if (minScore !== undefined && v.score < minScore) {
    process.stderr.write(`verdict: resilience score ${v.score} is below --min-score ${minScore}\n`);
    return ExitCode.sloMissed;
  }
  return ExitCode.ok;
}

/** The reporters that write files into --out; results.json is always among them. */
function fileReporters(asked: readonly string[] | undefined): ReporterName[] {
  const names = (asked?.length ? asked : ['json', 'markdown', 'html', 'junit']) as ReporterName[];
  return [...new Set<ReporterName>(['json', ...names.filter((n) => n !== 'console')])];
}

function ensureWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, '.chaoskit-write-test');
    writeFileSync(probe, '');
    rmSync(probe);
  } catch (err) {
    throw new InputError(`--out ${dir} is not writable: ${(err as Error).message}`);
  }
}
