/**
 * What a coordinator and its segments (worker processes, `chaos runner`s) say to each other: plain
 * JSON messages, parsed at the boundary (zod) whatever carries them (HTTP, an in-process pair in
 * tests). docs/scale-out.md describes the exchange:
 *
 *   coordinator ──prepare (the resolved run, segment i of N)──> segment ──ready | failed──>
 *               ──ping × 8 (clock offset, round trip)────────────────────> ──pong──>
 *               ──warmUp───────────────────────────────────────────────> ──warmedUp──>
 *               ──start (t0, far enough ahead)──────────────────────────>
 *               ──exposure (a fault window opened or closed)────────────>
 *                                          <──report every 250 ms: finished seconds, live window,
 *                                                                      what is outstanding
 *               ──stop (abort, stop condition, emergency stop)─────────>
 *                                          <──done: the last seconds, totals, warnings
 *               ──end───────────────────────────────────────────────────>
 */
import { z } from 'zod';
import { secondSchema } from '../result.ts';
import type { LoadOutcome } from '../load/open-model.ts';
import type { WarmUpReport } from '../load/warm-up.ts';
import type { ProfileStats } from '../metrics/profiles.ts';
import type { MergeableSecond, MergeableWindow } from '../metrics/store.ts';
import type { WindowChange } from '../run/exposure.ts';
import type { RunPlan } from '../scenario/plan.ts';
import type { EnvironmentFile, ScenarioFile } from '../scenario/schema.ts';
import type { NativeService } from '../slo/schema.ts';
import type { OpenSloDoc } from '../input/load.ts';

/** A segment reports this often: finished seconds, its live window, what is outstanding. */
export const REPORT_MS = 250;
/** The coordinator writes a heartbeat on each control channel this often. */
export const BEAT_MS = 500;
/** A segment silent this long (no report) is lost: it died, stalled or lost its network. */
export const SEGMENT_SILENT_MS = 2_000;
/** A segment that has heard nothing from its coordinator this long stops its load (within 3 s in all). */
export const COORDINATOR_SILENT_MS = 2_000;
/** A runner whose clock is further than this from the coordinator's is refused before t0. */
export const MAX_CLOCK_OFFSET_MS = 100;
/** Clock samples taken per segment (the one with the shortest round trip counts). */
export const CLOCK_SAMPLES = 8;
/** How long a stopping segment may take to ship its last seconds before it counts as lost. */
export const STOP_WAIT_MS = 2_000;
/** The API's path prefix (a version of its own: segments of another chaoskit version are refused anyway). */
export const API = '/v1';

/** The scenario as a segment needs it: parsed and validated by the coordinator, JSON only. */
export interface ShippedScenario {
  /** The scenario file's name; relative references resolve against the directory it is written to. */
  file: string;
  spec: ScenarioFile;
  environment: { file: string; spec: EnvironmentFile };
  slo: { file: string; services: Record<string, NativeService>; openslo: OpenSloDoc[] };
}

/** The resolved run the coordinator serves to each segment. */
export interface RunSpec {
  version: string;
  runId: string;
  scenario: ShippedScenario;
  /** Files the scenario refers to (request bodies, protos, message files), by path relative to it. */
  files: Record<string, string>;
  plan: RunPlan;
  seed: number;
  engine: 'http' | 'grpc';
  segment: { index: number; count: number };
  /** This segment's share of load.connections and load.maxBacklog. */
  connections: number;
  maxBacklog: number;
  /** Check the target answers before reporting ready (runners; local workers skip it). */
  preflight: boolean;
}

export type ToSegment =
  | { type: 'prepare'; spec: RunSpec }
  | { type: 'ping'; id: number; t1: number }
  | { type: 'warmUp' }
  /** t0 in the coordinator's wall clock; offsetMs = this segment's clock minus the coordinator's. */
  | { type: 'start'; t0Wall: number; offsetMs: number }
  | { type: 'exposure'; change: WindowChange }
  | { type: 'stop'; reason: string }
  | { type: 'refused'; message: string }
  | { type: 'end' }
  | { type: 'beat' };

export interface SegmentReport {
  type: 'report';
  /** Every arrival of this segment due before this time has shipped (its second is in `seconds` or earlier). */
  throughMs: number;
  seconds: MergeableSecond[];
  window: MergeableWindow;
  /** Arrivals waiting or in flight: [intended time rounded down to 10 ms, how many]. */
  outstanding: [number, number][];
  /** This segment's per-profile totals so far (sent about once a second). */
  profiles?: Record<string, ProfileStats> | null;
}

export interface SegmentDone {
  type: 'done';
  outcome: Omit<LoadOutcome, 'warmUp'>;
  seconds: MergeableSecond[];
  window: MergeableWindow;
  profiles: Record<string, ProfileStats> | null;
  warnings: string[];
}

export type FromSegment =
  | { type: 'ready'; host: string; pid: number }
  | { type: 'failed'; message: string }
  | { type: 'pong'; id: number; t1: number; t2: number }
  | { type: 'warmedUp'; report: WarmUpReport }
  | SegmentReport
  | SegmentDone;

// ---- parsing at the boundary --------------------------------------------------------------

const num = z.number().finite();
const mergeableSecond = z.object({
  second: secondSchema,
  serviceHist: z.string().nullable(),
  lagHist: z.string().nullable(),
  streamGapHist: z.string().nullable(),
});
const window = z.object({
  ok: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  dropped: z.number().int().nonnegative(),
  arrivals: z.number().int().nonnegative(),
  achieved: z.number().int().nonnegative(),
  errors: z.record(z.string(), z.number().int().nonnegative()),
  latency: z.string().nullable(),
});
const profiles = z
  .record(
    z.string(),
    z.object({
      sent: z.number(),
      ok: z.number(),
      failed: z.number(),
      latencyMs: z.object({ p50: num, p99: num, max: num }).nullable(),
      hist: z.string().nullable(),
    }),
  )
  .nullable();

export const fromSegmentSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), host: z.string().max(256), pid: z.number().int() }),
  z.object({ type: z.literal('failed'), message: z.string().max(4000) }),
  z.object({ type: z.literal('pong'), id: z.number().int(), t1: num, t2: num }),
  z.object({
    type: z.literal('warmedUp'),
    report: z.object({
      requests: z.number().int().nonnegative(),
      failed: z.number().int().nonnegative(),
      durationMs: num,
      cutShort: z.string().nullable(),
    }),
  }),
  z.object({
    type: z.literal('report'),
    throughMs: z.number(),
    seconds: z.array(mergeableSecond),
    window,
    outstanding: z.array(z.tuple([num, z.number().int().positive()])).max(100_000),
    profiles: profiles.optional(),
  }),
  z.object({
    type: z.literal('done'),
    outcome: z.object({
      ended: z.enum(['completed', 'stopped']),
      durationMs: num,
      sent: z.number().int().nonnegative(),
      completed: z.number().int().nonnegative(),
      dropped: z.number().int().nonnegative(),
      cancelled: z.number().int().nonnegative(),
      notSent: z.number().int().nonnegative(),
    }),
    seconds: z.array(mergeableSecond),
    window,
    profiles,
    warnings: z.array(z.string()),
  }),
]);

/** A message from a segment, or why it is not one. */
export function parseFromSegment(raw: unknown): FromSegment | string {
  const r = fromSegmentSchema.safeParse(raw);
  if (r.success) return r.data as FromSegment;
  const first = r.error.issues[0];
  return `not a segment message (${first ? `${first.path.join('.') || 'message'}: ${first.message}` : 'invalid'})`;
}

const windowChange = z.object({ op: z.enum(['open', 'close']), id: z.string(), atMs: num });

export const toSegmentSchema = z.discriminatedUnion('type', [
  // The run spec's inner shapes were validated by the coordinator that parsed the scenario; the
  // version check (a runner of another version is refused) keeps the two sides' types equal.
  z.object({ type: z.literal('prepare'), spec: z.looseObject({ version: z.string() }) }),
  z.object({ type: z.literal('ping'), id: z.number().int(), t1: num }),
  z.object({ type: z.literal('warmUp') }),
  z.object({ type: z.literal('start'), t0Wall: num, offsetMs: num }),
  z.object({ type: z.literal('exposure'), change: windowChange }),
  z.object({ type: z.literal('stop'), reason: z.string() }),
  z.object({ type: z.literal('refused'), message: z.string() }),
  z.object({ type: z.literal('end') }),
  z.object({ type: z.literal('beat') }),
]);

/** A message from the coordinator, or why it is not one. */
export function parseToSegment(raw: unknown): ToSegment | string {
  const r = toSegmentSchema.safeParse(raw);
  if (r.success) return r.data as unknown as ToSegment;
  return 'not a chaoskit coordinator message';
}
