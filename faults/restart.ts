import { z } from 'zod';
import { duration } from '../src/core/zod-types.ts';
import { checkDockerTarget, dockerOf, prepareLifecycle } from '../src/targets/docker.ts';
import { defineFault } from './define.ts';

export const restart = defineFault({
  type: 'restart',
  summary:
    'restart the container (docker restart); the time back to healthy is recorded, and the revert makes sure it runs',
  params: z.strictObject({ grace: duration({ allowZero: true }).default(10_000) }),
  preflight: async (t) => (t.kind === 'docker' ? checkDockerTarget(t, dockerOf()) : null),
  on: {
    docker: (ctx, p) =>
      prepareLifecycle(ctx, {
        what: 'docker restart of',
        undo: 'start',
        act: async (d, c) => {
          if (!(await d.inspect(c.id))?.running) return false;
          await d.restart(c.id, Math.ceil(p.grace / 1000));
          return true;
        },
        observe: 'restart',
      }),
  },
});
