import { badRequest } from '../api-error.ts';
import type { RequestHead } from '../types.ts';
import type { AttrReader } from './attrs.ts';

/** Which requests an http toxic picks. All given conditions must hold. */
export interface HttpMatch {
  /** Case-insensitive exact method, e.g. GET. */
  method?: string;
  /** Prefix of the request path (the target before `?`). */
  path?: string;
  /** Regular expression tested against the whole request target (path and query). */
  path_regex?: string;
  /** Fraction of matching requests affected, 0..1 (on top of the toxic's toxicity). */
  probability: number;
}

export function readMatch(r: AttrReader): HttpMatch {
  const method = r.str('method')?.toUpperCase();
  const path = r.str('path');
  const path_regex = r.str('path_regex');
  const probability = r.num('probability', 1, { min: 0, max: 1 });
  if (path_regex !== undefined) compile(path_regex);
  return { method, path, path_regex, probability };
}

const compiled = new Map<string, RegExp>();

function compile(source: string): RegExp {
  let re = compiled.get(source);
  if (!re) {
    try {
      re = new RegExp(source);
    } catch (err) {
      throw badRequest(`attributes.path_regex is not a valid regular expression: ${(err as Error).message}`);
    }
    if (compiled.size > 256) compiled.clear();
    compiled.set(source, re);
  }
  return re;
}

/** True when the request matches and wins the per-request probability roll. */
export function picks(m: HttpMatch, req: RequestHead, random: () => number): boolean {
  if (m.method !== undefined && m.method !== req.method.toUpperCase()) return false;
  if (m.path !== undefined) {
    const q = req.target.indexOf('?');
    const path = q === -1 ? req.target : req.target.slice(0, q);
    if (!path.startsWith(m.path)) return false;
  }
  if (m.path_regex !== undefined && !compile(m.path_regex).test(req.target)) return false;
  return random() < m.probability;
}
