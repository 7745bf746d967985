import type { ToxicKind } from '../types.ts';
import { AttrReader } from './attrs.ts';

export interface PartitionAttrs {
  /**
   * refuse: new connections are accepted and reset at once (clients see ECONNRESET; for
   * ECONNREFUSED disable the proxy instead), open ones are reset.
   * blackhole: nothing is read or forwarded either way while active; removing the toxic lets
   * held bytes through, as a healed network would.
   */
  mode: 'refuse' | 'blackhole';
}

/** Extension: a network partition between client and upstream. Acts on both directions. */
export const partition: ToxicKind<PartitionAttrs> = {
  extension: true,
  bothStreams: true,
  parse(raw) {
    const r = new AttrReader(raw);
    const mode = r.oneOf('mode', ['refuse', 'blackhole'] as const, 'refuse');
    r.done();
    return { mode };
  },
  refusesNew: ({ mode }) => mode === 'refuse',
  create(ctx, { mode }) {
    if (mode === 'refuse') {
      ctx.reset();
      return { write: () => {}, end: () => {}, flush: () => {}, destroy: () => {} };
    }
    // Stop reading: the peers' kernels buffer, then their windows fill, like a silent network.
    ctx.hold(true);
    let held: Buffer[] = [];
    let ended = false;
    return {
      write: (chunk) => void held.push(chunk),
      end: () => void (ended = true),
      flush() {
        const chunks = held;
        held = [];
        for (const chunk of chunks) ctx.push(chunk);
        if (ended) ctx.end();
        ctx.hold(false);
      },
      destroy: () => void (held = []),
    };
  },
};
