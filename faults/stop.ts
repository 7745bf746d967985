import { z } from 'zod';
import { duration } from '../src/core/zod-types.ts';
import { checkDockerTarget, dockerOf, prepareLifecycle } from '../src/targets/docker.ts';
import { defineFault } from './define.ts';

export const stop = defineFault({
  type: 'stop',
  summary:
    'stop the container (docker stop: SIGTERM, then SIGKILL after the grace time); started again at revert',
  params: z.strictObject({ grace: duration({ allowZero: true }).default(10_000) }),
  preflight: async (t) => (t.kind === 'docker' ? checkDockerTarget(t, dockerOf()) : null),
  on: {
    docker: (ctx, p) =>
      prepareLifecycle(ctx, {
        what: 'docker stop of',
        undo: 'start',
        act: async (d, c) => {
          if (!(await d.inspect(c.id))?.running) return false;
          await d.stop(c.id, Math.ceil(p.grace / 1000));
          return true;
        },
      }),
  },
});
