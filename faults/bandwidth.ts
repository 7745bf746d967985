import { z } from 'zod';
import { parseBytes } from '../src/units.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { defineFault } from './define.ts';
import { stream, toxicity } from './params.ts';

/** `64KB/s`, `1MiB/s` → KB/s as Toxiproxy counts them (1 KB = 1000 bytes). */
const perSecond = z.string().transform((v, ctx) => {
  const bytes = parseBytes(v.replace(/\/s$/, ''));
  if (!v.endsWith('/s') || bytes === undefined || bytes <= 0) {
    ctx.addIssue({ code: 'custom', message: `expected a bandwidth like 64KB/s or 1MB/s, got ${JSON.stringify(v)}` });
    return 0;
  }
  return Math.max(1, Math.round(bytes / 1000));
});

export const bandwidth = defineFault({
  type: 'bandwidth',
  summary: 'limit the throughput of the proxied connection',
  params: z.strictObject({ rate: perSecond, stream, toxicity }),
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, { type: 'bandwidth', stream: p.stream, toxicity: p.toxicity, attributes: { rate: p.rate } }),
  },
});
