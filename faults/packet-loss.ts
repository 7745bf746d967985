import { z } from 'zod';
import { percent } from '../src/core/zod-types.ts';
import { lossRules, prepareRules, resolvePeers } from '../src/targets/netns.ts';
import { checkNetTarget, checkPeers } from '../src/targets/netns-preflight.ts';
import type { ApplyContext } from '../src/targets/types.ts';
import { defineFault } from './define.ts';

const params = z.strictObject({
  /** Fraction of packets dropped (each packet on its own: iptables statistic, mode random). */
  loss: percent.refine((v) => v > 0, 'expected a loss above 0%'),
  /** Packets leaving the container/namespace (egress, the default), arriving (ingress), or both. */
  direction: z.enum(['egress', 'ingress', 'both']).default('egress'),
  /** Only packets to/from these targets or IPv4 addresses (all but loopback when absent). */
  peers: z.array(z.string().min(1)).min(1).optional(),
});

async function prepare(ctx: ApplyContext, p: z.output<typeof params>) {
  const ips = await resolvePeers(ctx, p.peers ?? []);
  const rules = lossRules(p.loss, p.direction, ips, ctx.mark);
  return prepareRules(
    ctx,
    () => rules,
    `${+(p.loss * 100).toFixed(4)}% ${p.direction} packet loss${ips.length ? ` to/from ${ips.join(', ')}` : ''}`,
  );
}

export const packetLoss = defineFault({
  type: 'packet-loss',
  summary: 'drop a random fraction of packets in the container’s or namespace’s network (iptables statistic)',
  params,
  preflight: async (t, p, targets) => checkPeers(p.peers, targets) ?? (await checkNetTarget(t, ['iptables'])),
  on: { docker: prepare, netns: prepare },
});
