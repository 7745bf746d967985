import { cpus } from 'node:os';
import { z } from 'zod';
import { holderManualRevert, startHolder } from '../src/targets/holder.ts';
import { percent } from '../src/core/zod-types.ts';
import { defineFault } from './define.ts';

/** Holders end themselves this long after their window, even if every revert layer failed. */
export const HOLDER_GRACE_MS = 30_000;

export const cpuStress = defineFault({
  type: 'cpu-stress',
  summary: 'keep N cores busy at a duty cycle, in a holder process',
  params: z.strictObject({ cores: z.number().int().positive().default(1), load: percent.default(1) }),
  preflight: async (_t, p) =>
    p.cores > cpus().length
      ? `cpu-stress asks for ${p.cores} cores but this machine has ${cpus().length}`
      : null,
  on: {
    host: async (ctx, p) => ({
      recipe: { driver: 'holder', kind: 'cpu', mark: ctx.mark },
      description: `${p.cores} core(s) busy at ${Math.round(p.load * 100)}%`,
      manualRevert: holderManualRevert(ctx.mark),
      apply: async () => {
        await startHolder('cpu', ctx.mark, ctx.durationMs + HOLDER_GRACE_MS, [
          '--cores',
          String(p.cores),
          '--duty',
          String(p.load * 100),
        ]);
        return {};
      },
    }),
  },
});
