import { z } from 'zod';
import { pickProcesses, processPreflight, signal } from '../src/targets/process.ts';
import { checkDockerTarget, dockerOf, prepareLifecycle } from '../src/targets/docker.ts';
import { armSelfRevert } from '../src/targets/self-revert.ts';
import { defineFault } from './define.ts';

export const pause = defineFault({
  type: 'pause',
  summary:
    'freeze the process (SIGSTOP) or container (docker pause) for the fault’s duration, then resume it',
  params: z.strictObject({}),
  preflight: async (t) =>
    t.kind === 'docker'
      ? checkDockerTarget(t, dockerOf())
      : t.kind === 'process'
        ? processPreflight(t)
        : null,
  on: {
    // docker pause freezes every process of the container (cgroup freezer); unpause at revert.
    docker: (ctx) =>
      prepareLifecycle(ctx, {
        what: 'docker pause of',
        undo: 'unpause',
        act: async (d, c) => (await d.pause(c.id), true),
      }),
    process: async (ctx) => {
      const picked = pickProcesses(ctx);
      return {
        recipe: { driver: 'process', action: 'continue', processes: picked },
        description: `SIGSTOP to pid ${picked.map((s) => s.pid).join(', ')} (${ctx.targetName})`,
        manualRevert: picked.map((s) => `kill -CONT ${s.pid}`).join('; '),
        apply: async () => {
          // A stopped process stays stopped when everything else on our side dies: the timer ends it.
          armSelfRevert(ctx);
          if (picked.filter((v) => signal(v, 'SIGSTOP')).length === 0)
            throw new Error(`no process of ${ctx.targetName} could be stopped`);
          return {};
        },
      };
    },
  },
});
