import { z } from 'zod';
import { parseBytes, parsePercent } from '../src/core/units.ts';
import { holderManualRevert, startHolder } from '../src/targets/holder.ts';
import { HOLDER_GRACE_MS } from './cpu-stress.ts';
import { defineFault } from './define.ts';
import { gpuPreflight } from './gpu.ts';

/** `8GiB` → bytes; `50%` → a fraction of the device's total memory. */
const amount = z.union([z.string(), z.number()]).transform((v, ctx) => {
  if (typeof v === 'string' && v.trim().endsWith('%')) {
    const f = parsePercent(v);
    if (f !== undefined && f > 0) return { fraction: f };
  } else {
    const b = parseBytes(v);
    if (b !== undefined && b > 0) return { bytes: b };
  }
  ctx.addIssue({
    code: 'custom',
    message: `expected a size like 8GiB or a share of the device's memory like 50%, got ${JSON.stringify(v)}`,
  });
  return {};
});

export const gpuMemoryPressure = defineFault({
  type: 'gpu-memory-pressure',
  summary: "allocate part of a GPU's memory through the CUDA driver API and hold it, in a holder process",
  params: z.strictObject({ amount }),
  preflight: (t) => gpuPreflight(t),
  on: {
    gpu: async (ctx, p) => {
      if (ctx.target.kind !== 'gpu') throw new Error('not a gpu target');
      const device = ctx.target.device;
      const what =
        p.amount.bytes !== undefined
          ? `${(p.amount.bytes / 1024 ** 3).toFixed(2)} GiB`
          : `${Math.round((p.amount.fraction ?? 0) * 100)}%`;
      return {
        recipe: { driver: 'holder', kind: 'gpu-memory', mark: ctx.mark },
        description: `${what} of GPU ${device} memory held`,
        manualRevert: holderManualRevert(ctx.mark),
        apply: async () => {
          const amountArgs =
            p.amount.bytes !== undefined
              ? ['--bytes', String(p.amount.bytes)]
              : ['--fraction', String(p.amount.fraction)];
          await startHolder('gpu-memory', ctx.mark, ctx.durationMs + HOLDER_GRACE_MS, [
            '--device',
            String(device),
            ...amountArgs,
          ]);
          return {};
        },
      };
    },
  },
});
