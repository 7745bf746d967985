/** Parameter pieces shared by the proxy faults. */
import { z } from 'zod';
import { percent } from '../src/core/zod-types.ts';

/** Which direction of a proxied connection the toxic acts on (Toxiproxy's `stream`). */
export const stream = z.enum(['downstream', 'upstream']).default('downstream');
/** Fraction of connections the toxic applies to (Toxiproxy's `toxicity`). */
export const toxicity = percent.default(1);

/** docker/netns faults shape traffic leaving the namespace; the proxy's stream and toxicity do not apply. */
export function proxyOnlyParams(p: { stream?: string; toxicity?: number }): string | null {
  if (p.stream === 'upstream')
    return 'stream: upstream is for proxy targets; on docker and netns targets the fault acts on traffic leaving the container or namespace';
  if (p.toxicity !== undefined && p.toxicity < 1)
    return 'toxicity is for proxy targets; on docker and netns targets the fault acts on all traffic';
  return null;
}
