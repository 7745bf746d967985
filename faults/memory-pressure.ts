import { totalmem } from 'node:os';
import { z } from 'zod';
import { parseBytes, parsePercent } from '../src/core/units.ts';
import { holderManualRevert, startHolder } from '../src/targets/holder.ts';
import { HOLDER_GRACE_MS } from './cpu-stress.ts';
import { defineFault } from './define.ts';

/** `512MiB`, `2GB` or `25%` of total memory → bytes. */
const amount = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'string' && v.trim().endsWith('%')) {
    const f = parsePercent(v);
    if (f !== undefined && f > 0) return Math.floor(f * totalmem());
  }
  const b = parseBytes(v);
  if (b === undefined || b <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a size like 512MiB or a share of total memory like 25%, got ${JSON.stringify(v)}`,
    });
    return 0;
  }
  return b;
});

/** Refuse to take more than this share of the machine: the generator and the target need memory too. */
const MAX_SHARE = 0.9;

export const memoryPressure = defineFault({
  type: 'memory-pressure',
  summary: 'take memory (bytes or a share of total) and keep it resident, in a holder process',
  params: z.strictObject({ amount }),
  preflight: async (_t, p) =>
    p.amount > totalmem() * MAX_SHARE
      ? `memory-pressure asks for ${(p.amount / 1024 ** 3).toFixed(1)} GiB, more than ${MAX_SHARE * 100}% of this machine's ${(totalmem() / 1024 ** 3).toFixed(1)} GiB`
      : null,
  on: {
    host: async (ctx, p) => ({
      recipe: { driver: 'holder', kind: 'memory', mark: ctx.mark },
      description: `${(p.amount / 1024 ** 2).toFixed(0)} MiB held resident`,
      manualRevert: holderManualRevert(ctx.mark),
      apply: async () => {
        await startHolder('memory', ctx.mark, ctx.durationMs + HOLDER_GRACE_MS, [
          '--bytes',
          String(p.amount),
        ]);
        return {};
      },
    }),
  },
});
