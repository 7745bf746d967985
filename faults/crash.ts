import { z } from 'zod';
import { findProcesses, signal, waitHealthy } from '../src/targets/process.ts';
import { pick } from '../src/targets/pick.ts';
import { checkDockerTarget, crashContainer, dockerOf, prepareLifecycle } from '../src/targets/docker.ts';
import { defineFault } from './define.ts';

export const crash = defineFault({
  type: 'crash',
  summary: 'kill the process (SIGKILL by default); a supervisor or the restart command brings it back',
  params: z.strictObject({ signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGQUIT', 'SIGABRT']).default('SIGKILL') }),
  preflight: async (t) => (t.kind === 'docker' ? checkDockerTarget(t, dockerOf()) : null),
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
      const found = findProcesses(t);
      if (found.length === 0)
        throw new Error(`no process matches target ${ctx.targetName} (${t.match ?? t.pidFile})`);
      const victims = pick(found, ctx.pick, ctx.prng);
      const what = victims.map((k) => k.pid).join(', ');
      return {
        recipe: {
          driver: 'process',
          action: 'restart',
          killed: victims,
          ...(t.match ? { match: t.match } : {}),
          ...(t.pidFile ? { pidFile: t.pidFile } : {}),
          ...(t.restart ? { restart: t.restart } : {}),
          ...(t.health ? { health: t.health } : {}),
        },
        description: `${p.signal} sent to pid ${what} (${ctx.targetName})`,
        manualRevert:
          t.restart ?? `restart the process of target ${ctx.targetName} (${t.match ?? t.pidFile}) by hand`,
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
