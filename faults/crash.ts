import { z } from 'zod';
import { pickProcesses, processPreflight, signal, waitHealthy } from '../src/targets/process.ts';
import { environmentRef } from '../src/targets/env-ref.ts';
import { checkDockerTarget, crashContainer, dockerOf, prepareLifecycle } from '../src/targets/docker.ts';
import { defineFault } from './define.ts';

export const crash = defineFault({
  type: 'crash',
  summary: 'kill the process (SIGKILL by default); a supervisor or the restart command brings it back',
  params: z.strictObject({ signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGQUIT', 'SIGABRT']).default('SIGKILL') }),
  preflight: async (t) =>
    t.kind === 'docker'
      ? checkDockerTarget(t, dockerOf())
      : t.kind === 'process'
        ? processPreflight(t)
        : null,
  on: {
    // The container's init process is signalled from the host, as a real crash: its restart policy applies.
    docker: (ctx, p) =>
      prepareLifecycle(ctx, {
        what: `${p.signal} to the init process of`,
        undo: 'start',
        act: (d, c) => crashContainer(d, c, p.signal),
        observe: 'kill',
      }),
    process: async (ctx, p) => {
      if (ctx.target.kind !== 'process') throw new Error('not a process target');
      const t = ctx.target;
      const victims = pickProcesses(ctx);
      const what = victims.map((k) => k.pid).join(', ');
      return {
        // The restart command is never written to the ledger: the revert reads it from the
        // environment file, after checking the file is unchanged (src/targets/env-ref.ts).
        recipe: {
          driver: 'process',
          action: 'restart',
          killed: victims,
          find: {
            ...(t.match ? { match: t.match } : {}),
            ...(t.argv ? { argv: t.argv } : {}),
            ...(t.pidFile ? { pidFile: t.pidFile } : {}),
            ...(t.anyUser ? { anyUser: true } : {}),
          },
          ...(t.health ? { health: t.health } : {}),
          ...(ctx.environmentFile
            ? { environment: environmentRef(ctx.environmentFile, ctx.targetName) }
            : {}),
        },
        description: `${p.signal} sent to pid ${what} (${ctx.targetName})`,
        manualRevert: t.restart ?? `restart the process of target ${ctx.targetName} by hand`,
        apply: async () => {
          const killed = victims.filter((v) => signal(v, p.signal));
          if (killed.length === 0)
            throw new Error(`the process(es) ${what} of ${ctx.targetName} exited before the signal`);
          const killedAt = performance.now();
          const health = t.health;
          return health
            ? {
                observation: waitHealthy(health, 60_000).then((ms) =>
                  ms === null
                    ? 'not healthy again within 60s'
                    : `healthy again ${Math.round(performance.now() - killedAt)}ms after the kill`,
                ),
              }
            : {};
        },
      };
    },
  },
});
