import { z } from 'zod';
import { duration } from '../src/scenario/types.ts';
import { addToxic } from '../src/targets/proxy.ts';
import { execOf, netemAdd, prepareQdisc } from '../src/targets/netns.ts';
import { checkNetem, checkNetTarget, checkRootQdiscs } from '../src/targets/netns-preflight.ts';
import { defineFault } from './define.ts';
import { proxyOnlyParams, stream, toxicity } from './params.ts';

export const latency = defineFault({
  type: 'latency',
  summary:
    'delay data by a fixed time, plus optional jitter (proxy toxic, or tc netem in a container or namespace)',
  params: z.strictObject({
    delay: duration(),
    jitter: duration({ allowZero: true }).default(0),
    stream,
    toxicity,
  }),
  // docker/netns use netem, which needs the sch_netem kernel module: checked before anything runs.
  preflight: async (t, p) =>
    t.kind === 'docker' || t.kind === 'netns'
      ? (proxyOnlyParams(p) ??
        (await checkNetTarget(t, ['tc'])) ??
        (await checkNetem(execOf())) ??
        (await checkRootQdiscs(t)))
      : null,
  on: {
    // Toxics take whole milliseconds; `1.5ms` is valid here, so round rather than fail at apply time.
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'latency',
        stream: p.stream,
        toxicity: p.toxicity,
        attributes: { latency: Math.round(p.delay), jitter: Math.round(p.jitter) },
      }),
    docker: (ctx, p) =>
      prepareQdisc(
        ctx,
        (dev, h) => netemAdd(dev, h, p.delay, p.jitter),
        `tc netem delay ${p.delay}ms ± ${p.jitter}ms (egress)`,
      ),
    netns: (ctx, p) =>
      prepareQdisc(
        ctx,
        (dev, h) => netemAdd(dev, h, p.delay, p.jitter),
        `tc netem delay ${p.delay}ms ± ${p.jitter}ms (egress)`,
      ),
  },
});
