/** results.json: the RunResult itself, verdict included, as the versioned document that `chaos report` reads back. */
import type { RunResult } from '../src/result.ts';
import type { Reporter } from './shared.ts';

export const json: Reporter = {
  file: 'results.json',
  render: (r: RunResult) => `${JSON.stringify(r, null, 2)}\n`,
};
