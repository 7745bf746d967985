/**
 * The ledger holds data, not programs. Every revert recipe read back from it is checked against
 * what chaoskit itself could have written (strict schemas per driver, bound to the entry's own
 * ownership mark) before anything acts on it; a line that fails is reported, never executed.
 *
 * Static checks live here. The checks that need the world (the fill file's marker, the
 * environment file's hash) run just before the revert, in `verifyRecipe` (targets/revert.ts).
 */
import { isIP } from 'node:net';
import { basename, dirname, isAbsolute, normalize } from 'node:path';
import { z } from 'zod';
import { FILL_DIR_NAME, fillFileName } from './fill.ts';
import { IPTABLES, qdiscHandle } from './marks.ts';
import { ownershipMark, type RevertRecipe } from './types.ts';

const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'expected an id of letters, digits, . _ -');
const pid = z
  .number()
  .int()
  .min(2)
  .max(2 ** 22);
const processRecord = z.strictObject({
  pid,
  startTime: z.number().int().nonnegative(),
  command: z.string().max(4096),
});
const containerRef = z.strictObject({ id, name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/) });
const httpUrl = z.url({ protocol: /^https?$/ });
/** The environment file a recipe's commands and addresses come from, with its hash at intent time. */
const environmentRef = z.strictObject({
  file: z.string().refine(isAbsolute, 'expected an absolute path'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  target: z.string().min(1).max(200),
});
const mark = z.string().regex(/^chaoskit:[A-Za-z0-9][A-Za-z0-9_.-]*:[A-Za-z0-9][A-Za-z0-9_.-]*$/);

const proxyRecipe = z.strictObject({
  driver: z.literal('proxy'),
  api: httpUrl,
  token: z.string().max(4096).optional(),
  proxy: z.string().min(1).max(256),
  toxic: mark,
  environment: environmentRef.optional(),
});
const continueRecipe = z.strictObject({
  driver: z.literal('process'),
  action: z.literal('continue'),
  processes: z.array(processRecord).min(1).max(1024),
});
const restartRecipe = z.strictObject({
  driver: z.literal('process'),
  action: z.literal('restart'),
  killed: z.array(processRecord).min(1).max(1024),
  find: z.strictObject({
    match: z.string().min(1).max(4096).optional(),
    argv: z.array(z.string().min(1).max(4096)).min(1).max(256).optional(),
    pidFile: z.string().min(1).max(4096).optional(),
    anyUser: z.boolean().optional(),
  }),
  health: httpUrl.optional(),
  /** The restart command comes from this file only, re-read and re-hashed at revert time. */
  environment: environmentRef.optional(),
});
const holderRecipe = z.strictObject({
  driver: z.literal('holder'),
  kind: z.enum(['cpu', 'memory', 'gpu-memory', 'gpu-stress']),
  mark,
});
const fileRecipe = z.strictObject({ driver: z.literal('file'), path: z.string().min(1).max(4096), mark });
const dockerRecipe = z.union([
  z.strictObject({
    driver: z.literal('docker'),
    action: z.enum(['start', 'unpause']),
    containers: z.array(containerRef).min(1).max(1024),
    health: httpUrl.optional(),
  }),
  z.strictObject({
    driver: z.literal('docker'),
    action: z.literal('reconnect'),
    network: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/),
    endpoints: z
      .array(
        containerRef.extend({
          aliases: z.array(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/)).max(64),
          ipv4: z
            .string()
            .refine((s) => isIP(s) === 4)
            .optional(),
        }),
      )
      .min(1)
      .max(1024),
  }),
]);
const netnsEnter = z.union([
  z.strictObject({ pid, startTime: z.number().int().nonnegative(), container: containerRef.optional() }),
  z.strictObject({ netns: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/) }),
]);
const netnsRecipe = z.strictObject({
  driver: z.literal('netns-cmd'),
  mark,
  places: z
    .array(
      z.strictObject({ enter: netnsEnter, undo: z.array(z.array(z.string().max(256)).max(64)).max(256) }),
    )
    .min(1)
    .max(256),
});

export const recipeSchema = z.union([
  proxyRecipe,
  continueRecipe,
  restartRecipe,
  holderRecipe,
  fileRecipe,
  dockerRecipe,
  netnsRecipe,
]);

// The schema and the TypeScript type must describe the same data.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agree: Same<z.output<typeof recipeSchema>, RevertRecipe> = true;
void agree;

/**
 * Why this recipe could not have been written by chaoskit for fault `runId/faultId`, or null.
 * Binds every mark to the entry it sits in, so a line cannot borrow another fault's identity.
 */
export function recipeProblem(raw: unknown, runId: string, faultId: string): string | null {
  const parsed = recipeSchema.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    const driver = (raw as { driver?: unknown })?.driver;
    return `recipe${typeof driver === 'string' ? ` (driver ${JSON.stringify(driver).slice(0, 40)})` : ''} is not one chaoskit writes: ${i?.path.join('.') || 'recipe'}: ${i?.message ?? 'invalid'}`;
  }
  const r = parsed.data;
  const own = ownershipMark(runId, faultId);
  switch (r.driver) {
    case 'proxy':
      if (r.toxic !== own) return `toxic ${r.toxic} does not carry this fault's mark ${own}`;
      if (!isLoopbackUrl(r.api) && !r.environment)
        return `proxy API ${r.api} is not on loopback and the recipe names no environment file to check it against`;
      return null;
    case 'holder':
      return r.mark === own ? null : `holder mark ${r.mark} is not this fault's mark ${own}`;
    case 'netns-cmd':
      if (r.mark !== own) return `mark ${r.mark} is not this fault's mark ${own}`;
      for (const p of r.places)
        for (const argv of p.undo) {
          const why = undoProblem(argv, own);
          if (why) return why;
        }
      return null;
    case 'file': {
      const p = r.path;
      if (r.mark !== own) return `fill file mark ${r.mark} is not this fault's mark ${own}`;
      if (!isAbsolute(p) || normalize(p) !== p) return `file ${p} is not an absolute, normalised path`;
      if (basename(dirname(p)) !== FILL_DIR_NAME)
        return `file ${p} is not inside a chaoskit fill directory (${FILL_DIR_NAME})`;
      if (basename(p) !== fillFileName(own))
        return `file ${p} is not this fault's fill file ${fillFileName(own)}`;
      return null;
    }
    case 'process':
    case 'docker':
      return null;
  }
}

export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (host === 'localhost') return true;
    if (isIP(host) === 4) return host.startsWith('127.');
    return host === '::1';
  } catch {
    return false;
  }
}

const CIDR = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;

/**
 * An undo command of a netns-cmd recipe must be one chaoskit makes: deleting its own iptables
 * DROP rule (with the fault's mark as comment) or its own root qdisc (the mark's handle).
 */
function undoProblem(argv: readonly string[], own: string): string | null {
  const bad = `undo command ${JSON.stringify(argv).slice(0, 200)} is not one chaoskit makes`;
  if (argv[0] === 'tc') {
    const [, q, del, dev, name, root, handle, h, ...rest] = argv;
    const ok =
      q === 'qdisc' &&
      del === 'del' &&
      dev === 'dev' &&
      /^[A-Za-z0-9_.@-]{1,15}$/.test(name ?? '') &&
      root === 'root' &&
      handle === 'handle' &&
      h === qdiscHandle(own) &&
      rest.length === 0;
    return ok ? null : bad;
  }
  if (IPTABLES.every((w, i) => argv[i] === w) && argv[IPTABLES.length] === '-D') {
    const spec = argv.slice(IPTABLES.length + 1);
    if (!['INPUT', 'OUTPUT'].includes(spec[0] ?? '')) return bad;
    const tail = ['-m', 'comment', '--comment', own, '-j', 'DROP'];
    if (spec.length < tail.length + 1 || tail.some((w, i) => spec[spec.length - tail.length + i] !== w))
      return bad;
    const match = spec.slice(1, spec.length - tail.length);
    for (let i = 0; i < match.length;) {
      const w = match[i]!;
      if (w === '!') {
        i++;
      } else if ((w === '-i' || w === '-o') && match[i + 1] === 'lo') {
        i += 2;
      } else if ((w === '-s' || w === '-d') && CIDR.test(match[i + 1] ?? '')) {
        i += 2;
      } else if (
        w === '-m' &&
        match[i + 1] === 'statistic' &&
        match[i + 2] === '--mode' &&
        match[i + 3] === 'random' &&
        match[i + 4] === '--probability' &&
        /^(0|1|0?\.\d+|1\.0+)$/.test(match[i + 5] ?? '')
      ) {
        i += 6;
      } else return bad;
    }
    return null;
  }
  return bad;
}
