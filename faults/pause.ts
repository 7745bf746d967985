import { z } from 'zod';
import { findProcesses, signal } from '../src/targets/process.ts';
import { pick } from '../src/targets/pick.ts';
import { defineFault } from './define.ts';

export const pause = defineFault({
  type: 'pause',
  summary: 'freeze the process with SIGSTOP for the fault’s duration, then SIGCONT',
  params: z.strictObject({}),
  on: {
    process: async (ctx) => {
      if (ctx.target.kind !== 'process') throw new Error('not a process target');
      const found = findProcesses(ctx.target);
      if (found.length === 0) throw new Error(`no process matches target ${ctx.targetName}`);
      const picked = pick(found, ctx.pick, ctx.prng);
      return {
        recipe: { driver: 'process', action: 'continue', processes: picked },
        description: `SIGSTOP to pid ${picked.map((s) => s.pid).join(', ')} (${ctx.targetName})`,
        manualRevert: picked.map((s) => `kill -CONT ${s.pid}`).join('; '),
        apply: async () => {
          if (picked.filter((v) => signal(v, 'SIGSTOP')).length === 0) throw new Error(`no process of ${ctx.targetName} could be stopped`);
          return {};
        },
      };
    },
  },
});
