/**
 * Sessions and virtual users on top of the open-model scheduler (src/load/open-model.ts).
 *
 *   open model:   pattern arrival ──> session: step 1 due now ──ends──> + think ──> step 2 due … ──> end
 *   closed model: users(t) ──> each user: session ──ends──> + think ──> next session … (retired when
 *                 the pattern asks for fewer users: at once when between sessions, else when its session ends)
 *
 * Every request step is an arrival of its own at the moment it becomes due (the scheduler records it
 * then, in that second): a session's first step at the pattern's arrival time, a later step when the
 * previous one ended plus its think time. Its latency counts from that moment. A failed step ends the
 * session (`onFail: continue` goes on). Sessions still running when the pattern ends get
 * `gracefulStop` to finish; what is due after that is not requested, and the session counts as stopped.
 */
import type { ThinkDist } from '../scenario/flow-schema.ts';
import { Feeder, type FeederStats, type Row } from './feeder.ts';
import type { Segment } from '../scenario/patterns.ts';
import type { Prng } from './prng.ts';
import type { SessionRecorder } from './session-metrics.ts';
import type { RenderContext } from './templates.ts';
import type { Instr, Workload } from './workload.ts';

/** A flow in progress (or, in the closed model and with data rows, a lone request of the mix). */
export class Session implements RenderContext {
  pc = 0;
  loops: { left: number; start: number }[] = [];
  vars: Record<string, string> = {};
  ended = false;
  /** The index of the arrival that started it (its steps' template values are seeded by it). */
  arrival = 0;
  /** When the last request of the session ended (its end, for the duration). */
  lastEndMs: number;
  constructor(
    /** Index of the flow, or -1 for a lone request. */
    readonly flow: number,
    readonly program: readonly Instr[],
    readonly startMs: number,
    readonly row: Row | null,
    readonly user: User | null,
  ) {
    this.lastEndMs = startMs;
  }
}

/** A virtual user of the closed model. */
export class User {
  alive = true;
  retiring = false;
  session: Session | null = null;
}

/** What the driver needs from the scheduler. */
export interface SessionHost {
  /** A request becomes due at `dueMs`: it is recorded as an arrival then and sent when a connection is free. */
  request(dueMs: number, profile: number, session: Session | null): void;
  /** A virtual user starts its next pass at `dueMs`. */
  wake(dueMs: number, user: User): void;
  /** An arrival that cannot start (no data row left): requested, not sent. */
  refuse(atMs: number, profile: number): void;
}

export interface DriverOptions {
  workload: Workload;
  model: 'open' | 'closed';
  /** Closed model: the number of users over time (the plan's segment). */
  users?: Segment;
  /** Closed model: pause after each pass. */
  think?: ThinkDist;
  prng: Prng;
  recorder: SessionRecorder;
  host: SessionHost;
  warn: (w: string) => void;
}

export function drawThink(d: ThinkDist, prng: Prng): number {
  switch (d.kind) {
    case 'fixed':
      return d.ms;
    case 'uniform':
      return d.minMs + prng.next() * (d.maxMs - d.minMs);
    case 'exponential':
      return d.meanMs * prng.exp();
  }
}

export class SessionDriver {
  private readonly cumWeights: Float64Array;
  private readonly feeders: Feeder[];
  private readonly live = new Set<Session>();
  private readonly users = new Set<User>();
  private readonly idle = new Set<User>();
  private retiring = 0;
  /** Steps due after this are not requested (the end of gracefulStop). */
  private deadlineMs = Number.POSITIVE_INFINITY;
  /** No new session or user pass starts (the pattern ended, or the load stopped). */
  private closedForNew = false;
  /** Closed model: unique data ran out; no user is added any more. */
  private exhausted = false;
  private readonly lone: Instr[][];

  constructor(private readonly o: DriverOptions) {
    let acc = 0;
    this.cumWeights = Float64Array.from(o.workload.mix.map((m) => (acc += m.weight)));
    this.feeders = o.workload.data.map((d, i) => new Feeder(d.file, d.spec, o.prng.fork(`data:${i}`)));
    this.lone = o.workload.profiles.map((_, p) => [{ op: 'req', profile: p, onFail: 'stop' }]);
  }

  get feederStats(): FeederStats[] {
    return this.feeders.map((f) => f.stats);
  }

  /** Sessions in progress, and users alive: while any, the load is not over. */
  get busy(): boolean {
    return this.live.size > 0 || this.users.size > 0;
  }

  /** A mix entry, by weight (`unit`: the arrival's own draw in [0, 1), seeded by its index). */
  private pick(unit?: number): number {
    const w = this.cumWeights;
    if (w.length === 1) return 0;
    const x = (unit ?? this.o.prng.next()) * w[w.length - 1]!;
    let i = 0;
    while (w[i]! <= x) i++;
    return i;
  }

  /**
   * An arrival of the open model, or a user's next pass: picks a mix entry and starts it. A lone
   * request without data and without a user needs no session (the plain, cheapest path).
   */
  arrival(intendedMs: number, user: User | null, unit?: number, k = 0): void {
    const item = this.o.workload.mix[this.pick(unit)]!;
    const wl = this.o.workload;
    const dataIndex = item.flow >= 0 ? wl.flows[item.flow]!.data : wl.requestData;
    const firstProfile = item.flow >= 0 ? wl.flows[item.flow]!.steps[0]! : item.profile;
    let row: Row | null = null;
    if (dataIndex >= 0) {
      row = this.feeders[dataIndex]!.next(intendedMs);
      if (row === null) {
        this.noRow(intendedMs, firstProfile, dataIndex, user);
        return;
      }
    }
    if (item.flow < 0 && row === null && user === null) {
      this.o.host.request(intendedMs, item.profile, null);
      return;
    }
    const program = item.flow >= 0 ? wl.flows[item.flow]!.program : this.lone[item.profile]!;
    const s = new Session(item.flow, program, intendedMs, row, user);
    s.arrival = k;
    this.live.add(s);
    if (user) user.session = s;
    if (s.flow >= 0) {
      this.o.recorder.started(s.flow, intendedMs);
      if (this.o.model === 'open') this.o.recorder.active.add(intendedMs, 1);
    }
    this.advance(s, intendedMs);
  }

  private noRow(atMs: number, profile: number, dataIndex: number, user: User | null): void {
    const st = this.feeders[dataIndex]!.stats;
    if (st.refused === 1)
      this.o.warn(
        `data ${st.file}: every one of its ${st.rows} rows was used once (order unique, onExhausted stop) by t=${((st.exhaustedAtMs ?? atMs) / 1000).toFixed(1)}s; later arrivals were not sent (counted as not sent)`,
      );
    this.o.host.refuse(atMs, profile);
    if (user) {
      // The data is gone for good: this user ends, and no user takes its place.
      this.exhausted = true;
      this.retire(user, atMs);
    }
  }

  /** Runs the program from the session's pc until a request (handed to the host) or the end. */
  private advance(s: Session, atMs: number): void {
    let t = atMs;
    for (;;) {
      const ins = s.program[s.pc];
      if (ins === undefined) {
        this.end(s, 'completed', t);
        return;
      }
      switch (ins.op) {
        case 'think':
          t += drawThink(ins.think, this.o.prng);
          s.pc++;
          break;
        case 'loop': {
          const n = ins.repeat.min + this.o.prng.int(ins.repeat.max - ins.repeat.min + 1);
          s.loops.push({ left: n, start: s.pc + 1 });
          s.pc++;
          break;
        }
        case 'end-loop': {
          const top = s.loops[s.loops.length - 1]!;
          if (--top.left > 0) s.pc = top.start;
          else {
            s.loops.pop();
            s.pc++;
          }
          break;
        }
        case 'req':
          if (t > this.deadlineMs) {
            this.end(s, 'stopped', this.deadlineMs);
            return;
          }
          this.o.host.request(t, ins.profile, s);
          return;
      }
    }
  }

  /** The session's current request ended (`ok` false: failed, or dropped). */
  stepEnded(s: Session, endMs: number, ok: boolean): void {
    if (s.ended) return;
    s.lastEndMs = endMs;
    const ins = s.program[s.pc] as Extract<Instr, { op: 'req' }>;
    if (!ok && ins.onFail === 'stop') {
      const p = this.o.workload.profiles[ins.profile]!;
      this.end(s, 'failed', endMs, p.step ?? p.name);
      return;
    }
    s.pc++;
    this.advance(s, endMs);
  }

  /** `atMs`: when the session's user may go on (the end plus any trailing think). */
  private end(s: Session, how: 'completed' | 'failed' | 'stopped', atMs: number, step?: string): void {
    if (s.ended) return;
    s.ended = true;
    this.live.delete(s);
    const endMs =
      how === 'completed'
        ? s.lastEndMs
        : how === 'failed'
          ? atMs
          : Math.max(s.lastEndMs, Math.min(atMs, this.deadlineMs));
    if (s.flow >= 0) {
      this.o.recorder.ended(s.flow, s.startMs, endMs, how, step);
      if (this.o.model === 'open') this.o.recorder.active.add(endMs, -1);
    }
    const u = s.user;
    if (!u) return;
    u.session = null;
    if (!u.alive) return;
    if (how === 'stopped' || u.retiring || this.closedForNew) {
      this.retire(u, endMs);
      return;
    }
    const next = Math.max(atMs, endMs) + (this.o.think ? drawThink(this.o.think, this.o.prng) : 0);
    this.idle.add(u);
    this.o.host.wake(next, u);
  }

  /** A user's wake-up came due: its next pass, unless it was retired meanwhile. */
  wake(u: User, dueMs: number): void {
    if (!u.alive || !this.idle.has(u)) return;
    this.idle.delete(u);
    if (this.closedForNew || u.retiring) {
      this.retire(u, dueMs);
      return;
    }
    this.arrival(dueMs, u);
  }

  private retire(u: User, atMs: number): void {
    if (!u.alive) return;
    if (u.retiring) this.retiring--;
    u.alive = false;
    u.retiring = false;
    this.idle.delete(u);
    this.users.delete(u);
    this.o.recorder.active.set(atMs, this.users.size);
  }

  /**
   * Closed model, called by the scheduler's loop at least every USERS_TICK_MS: brings the number of
   * users to the pattern's count now (new users start a pass at once; extra ones retire).
   */
  tick(nowMs: number): void {
    const seg = this.o.users;
    if (!seg || this.closedForNew) return;
    const target = nowMs < seg.durationMs ? Math.max(0, Math.floor(seg.rate(nowMs) + 1e-9)) : 0;
    if (this.o.recorder.target.value !== target) this.o.recorder.target.set(nowMs, target);
    let effective = this.users.size - this.retiring;
    if (target > effective) {
      for (const u of this.users) {
        if (effective >= target || this.retiring === 0) break;
        if (u.retiring) {
          u.retiring = false;
          this.retiring--;
          effective++;
        }
      }
      while (effective < target && !this.exhausted) {
        const u = new User();
        this.users.add(u);
        this.o.recorder.active.set(nowMs, this.users.size);
        effective++;
        this.arrival(nowMs, u);
      }
    } else if (target < effective) {
      for (const u of [...this.idle]) {
        if (effective <= target) break;
        this.retire(u, nowMs);
        effective--;
      }
      for (const u of this.users) {
        if (effective <= target) break;
        if (!u.retiring) {
          u.retiring = true;
          this.retiring++;
          effective--;
        }
      }
    }
  }

  /**
   * The pattern (or the users' pattern) is over: no new sessions; users retire when their session
   * ends; sessions may go on until `graceMs` from now.
   */
  patternEnded(nowMs: number, graceMs: number): void {
    this.closedForNew = true;
    this.deadlineMs = nowMs + graceMs;
    if (this.o.users) this.o.recorder.target.set(Math.max(nowMs, this.o.users.durationMs), 0);
    for (const u of [...this.idle]) this.retire(u, nowMs);
  }

  /** The load stopped: every session in progress is stopped, every user retired. */
  stopAll(nowMs: number): void {
    this.closedForNew = true;
    this.deadlineMs = Math.min(this.deadlineMs, nowMs);
    for (const s of [...this.live]) this.end(s, 'stopped', nowMs);
    for (const u of [...this.users]) this.retire(u, nowMs);
  }

  /** A session's step that will not be sent because the load stopped, or that was dropped. */
  stepAbandoned(s: Session, atMs: number): void {
    if (!s.ended) this.end(s, 'stopped', atMs);
  }
}
