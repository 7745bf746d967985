import { z } from 'zod';
import { addToxic } from '../src/targets/proxy.ts';
import { checkDockerTarget, dockerOf, prepareDisconnect } from '../src/targets/docker.ts';
import { partitionRules, prepareRules, resolvePeers } from '../src/targets/netns.ts';
import { checkNetTarget, checkPeers } from '../src/targets/netns-preflight.ts';
import { defineFault } from './define.ts';

export const partition = defineFault({
  type: 'partition',
  summary: 'cut the path: refuse new connections and cut open ones, or blackhole (accept and stall)',
  params: z.strictObject({
    mode: z.enum(['refuse', 'blackhole']).optional(),
    /** docker/netns: other targets or IPv4 addresses to cut off (all but loopback when absent). */
    peers: z.array(z.string().min(1)).min(1).optional(),
    /** docker: iptables DROP rules in the container's namespace (default), or a network disconnect. */
    method: z.enum(['iptables', 'disconnect']).optional(),
  }),
  preflight: async (t, p, targets) => {
    if (t.kind === 'proxy')
      return p.peers || p.method ? 'peers and method are for docker and netns targets' : null;
    if (p.mode === 'refuse')
      return `a ${t.kind} partition drops packets (mode: blackhole); mode: refuse is for proxy targets`;
    if (p.method === 'disconnect') {
      if (t.kind !== 'docker' || !t.network)
        return 'method: disconnect needs a docker target with network: set';
      if (p.peers)
        return 'method: disconnect cuts the container off the whole network; peers are for method: iptables';
      return checkDockerTarget(t, dockerOf());
    }
    return checkPeers(p.peers, targets) ?? (await checkNetTarget(t, ['iptables']));
  },
  on: {
    proxy: (ctx, p) =>
      addToxic(ctx, {
        type: 'partition',
        stream: 'downstream',
        toxicity: 1,
        attributes: { mode: p.mode ?? 'refuse' },
      }),
    docker: (ctx, p) => (p.method === 'disconnect' ? prepareDisconnect(ctx) : dropPeers(ctx, p.peers)),
    netns: (ctx, p) => dropPeers(ctx, p.peers),
  },
});

async function dropPeers(ctx: Parameters<typeof prepareRules>[0], peers: string[] | undefined) {
  const ips = await resolvePeers(ctx, peers ?? []);
  return prepareRules(
    ctx,
    () => partitionRules(ips, ctx.mark),
    `iptables DROP ${ips.length ? `to and from ${ips.join(', ')}` : 'of all but loopback traffic'}`,
  );
}
