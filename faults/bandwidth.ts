import { z } from 'zod';
import { parseBytes } from '../src/core/units.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { prepareQdisc, tbfAdd } from '../src/targets/netns.ts';
import { checkNetTarget, checkRootQdiscs } from '../src/targets/netns-preflight.ts';
import { defineFault } from './define.ts';
import { proxyOnlyParams } from './params.ts';
import { stream, toxicity } from './params.ts';

/** `64KB/s`, `1MiB/s` → KB/s as Toxiproxy counts them (1 KB = 1000 bytes). */
const perSecond = z.string().transform((v, ctx) => {
  const bytes = parseBytes(v.replace(/\/s$/, ''));
  if (!v.endsWith('/s') || bytes === undefined || bytes <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a bandwidth like 64KB/s or 1MB/s, got ${JSON.stringify(v)}`,
    });
    return 0;
  }
  return Math.max(1, Math.round(bytes / 1000));
});

export const bandwidth = defineFault({
  type: 'bandwidth',
  summary: 'limit the throughput of the proxied connection',
  params: z.strictObject({ rate: perSecond, stream, toxicity }),
  preflight: async (t, p) =>
    t.kind === 'docker' || t.kind === 'netns'
      ? (proxyOnlyParams(p) ?? (await checkNetTarget(t, ['tc'])) ?? (await checkRootQdiscs(t)))
      : null,
  on: {
    // A token bucket (tc tbf) as the root qdisc of each device: shapes traffic leaving the container/namespace.
    docker: (ctx, p) =>
      prepareQdisc(ctx, (dev, h) => tbfAdd(dev, h, p.rate * 1000), `tc tbf at ${p.rate}KB/s (egress)`),
    netns: (ctx, p) =>
      prepareQdisc(ctx, (dev, h) => tbfAdd(dev, h, p.rate * 1000), `tc tbf at ${p.rate}KB/s (egress)`),
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'bandwidth',
        stream: p.stream,
        toxicity: p.toxicity,
        attributes: { rate: p.rate },
      }),
  },
});
