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
      const stopped = pick(found, ctx.pick, ctx.prng).filter((v) => signal(v, 'SIGSTOP'));
      return {
        recipe: { driver: 'process', action: 'continue', processes: stopped },
        description: `SIGSTOP sent to pid ${stopped.map((s) => s.pid).join(', ')} (${ctx.targetName})`,
        manualRevert: stopped.map((s) => `kill -CONT ${s.pid}`).join('; '),
      };
    },
  },
});
