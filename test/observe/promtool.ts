/**
 * The real consumer of the Prometheus text format: `promtool check metrics` (Debian's prometheus
 * package). Missing locally, the tests that need it skip with the reason; missing in CI, they fail.
 */
import { spawnSync } from 'node:child_process';

export const PROMTOOL = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();

export const PROMTOOL_MISSING = PROMTOOL
  ? null
  : 'promtool is not installed (Debian package: prometheus); the Prometheus format checks need it';

if (!PROMTOOL && process.env.CI) throw new Error(PROMTOOL_MISSING!);

/** promtool's verdict on an exposition: '' when it has nothing to say, else its complaints. */
export function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}
