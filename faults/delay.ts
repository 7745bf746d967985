/**
 * What latency and jitter share: both delay data by `delay` ± `jitter`, through a proxy latency
 * toxic or tc netem in a container or namespace. They differ only in which parameter is required.
 */
import { addToxic } from '../src/targets/proxy.ts';
import { execOf, netemAdd, prepareQdisc } from '../src/targets/netns.ts';
import { checkNetem, checkNetTarget, checkRootQdiscs } from '../src/targets/netns-preflight.ts';
import type { ApplyFn, PreflightFn } from './define.ts';
import { proxyOnlyParams } from './params.ts';

export interface DelayParams {
  delay: number;
  jitter: number;
  stream: 'downstream' | 'upstream';
  toxicity: number;
}

/** docker/netns use netem, which needs the sch_netem kernel module: checked before anything runs. */
export const delayPreflight: PreflightFn<DelayParams> = async (t, p) =>
  t.kind === 'docker' || t.kind === 'netns'
    ? (proxyOnlyParams(p) ??
      (await checkNetTarget(t, ['tc'])) ??
      (await checkNetem(execOf())) ??
      (await checkRootQdiscs(t)))
    : null;

const netem: ApplyFn<DelayParams> = (ctx, p) =>
  prepareQdisc(
    ctx,
    (dev, h) => netemAdd(dev, h, p.delay, p.jitter),
    `tc netem delay ${p.delay}ms ± ${p.jitter}ms (egress)`,
  );

export const delayOn: Record<'proxy' | 'docker' | 'netns', ApplyFn<DelayParams>> = {
  // Toxics take whole milliseconds; `1.5ms` is valid here, so round rather than fail at apply time.
  proxy: (ctx, p) =>
    addToxic(ctx, {
      type: 'latency',
      stream: p.stream,
      toxicity: p.toxicity,
      attributes: { latency: Math.round(p.delay), jitter: Math.round(p.jitter) },
    }),
  docker: netem,
  netns: netem,
};
