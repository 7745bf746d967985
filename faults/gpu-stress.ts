import { z } from 'zod';
import { percent } from '../src/core/zod-types.ts';
import { holderManualRevert, startHolder } from '../src/targets/holder.ts';
import { HOLDER_GRACE_MS } from './cpu-stress.ts';
import { defineFault } from './define.ts';
import { gpuPreflight } from './gpu.ts';

export const gpuStress = defineFault({
  type: 'gpu-stress',
  summary:
    "keep a GPU's streaming multiprocessors busy at a target utilisation with a spin kernel loaded from PTX",
  params: z.strictObject({ utilization: percent.default(1) }),
  preflight: (t) => gpuPreflight(t),
  on: {
    gpu: async (ctx, p) => {
      if (ctx.target.kind !== 'gpu') throw new Error('not a gpu target');
      const device = ctx.target.device;
      return {
        recipe: { driver: 'holder', kind: 'gpu-stress', mark: ctx.mark },
        description: `GPU ${device} SMs busy at ${Math.round(p.utilization * 100)}%`,
        manualRevert: holderManualRevert(ctx.mark),
        apply: async () => {
          await startHolder('gpu-stress', ctx.mark, ctx.durationMs + HOLDER_GRACE_MS, [
            '--device',
            String(device),
            '--duty',
            String(p.utilization * 100),
          ]);
          return {};
        },
      };
    },
  },
});
