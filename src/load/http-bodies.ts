/**
 * HTTP request payloads: `body` or `bodyFile` (relative to the scenario) and `path`, each a
 * template (src/load/templates.ts). A request without tags keeps one fixed body; one with tags is
 * rendered per request from the run's seeded PRNG.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { RequestSpec } from '../scenario/schema.ts';
import type { Problem } from '../scenario/yaml.ts';
import type { Prng } from './prng.ts';
import { compileTemplate, TemplateError, type Template } from './templates.ts';

export interface RequestPayload {
  /** The body to send (the file's contents for bodyFile), before rendering. */
  body: string | undefined;
  /** Per-request rendering when the path or body has tags; null when both are fixed. */
  render: ((prng: Prng) => { path: string; body: string | undefined }) | null;
}

export function compileRequestBodies(
  requests: readonly RequestSpec[],
  scenarioDir: string,
): { payloads: RequestPayload[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const payloads = requests.map((r, i): RequestPayload => {
    const at = ['load', 'requests', i];
    if (r.streamEnd !== undefined && r.stream === undefined) {
      problems.push({ path: [...at, 'streamEnd'], message: 'streamEnd needs stream: sse' });
    }
    let body = r.body;
    let bodyLabel = 'body';
    if (r.bodyFile !== undefined) {
      if (r.body !== undefined)
        problems.push({ path: [...at, 'bodyFile'], message: 'give body or bodyFile, not both' });
      const file = isAbsolute(r.bodyFile) ? r.bodyFile : resolve(scenarioDir, r.bodyFile);
      bodyLabel = 'bodyFile';
      try {
        body = readFileSync(file, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        problems.push({
          path: [...at, 'bodyFile'],
          message: `${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
        });
        return { body: undefined, render: null };
      }
    }
    const compile = (text: string, field: string): Template | null => {
      try {
        return compileTemplate(text);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        problems.push({ path: [...at, field], message: err.message });
        return null;
      }
    };
    const pathT = compile(r.path, 'path');
    const bodyT = body === undefined ? null : compile(body, bodyLabel);
    if (!pathT || (body !== undefined && !bodyT)) return { body, render: null };
    if (pathT.isStatic && (!bodyT || bodyT.isStatic)) return { body, render: null };
    return { body, render: (prng) => ({ path: pathT.render(prng), body: bodyT?.render(prng) }) };
  });
  return { payloads, problems };
}
