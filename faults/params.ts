/** Parameter pieces shared by the proxy faults. */
import { z } from 'zod';
import { percent } from '../src/scenario/types.ts';

/** Which direction of a proxied connection the toxic acts on (Toxiproxy's `stream`). */
export const stream = z.enum(['downstream', 'upstream']).default('downstream');
/** Fraction of connections the toxic applies to (Toxiproxy's `toxicity`). */
export const toxicity = percent.default(1);
