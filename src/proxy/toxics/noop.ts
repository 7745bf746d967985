import type { Stage, StageContext, ToxicKind } from '../types.ts';

/** Passes everything through. Toxics that lose their toxicity roll run as this. */
export function passThrough(ctx: StageContext): Stage {
  return {
    write: (chunk) => ctx.push(chunk),
    end: () => ctx.end(),
    flush: () => {},
    destroy: () => {},
  };
}

export const noop: ToxicKind<Record<string, never>> = {
  extension: false,
  parse: () => ({}),
  create: (ctx) => passThrough(ctx),
};
