/**
 * `chaos runner`: one segment of a coordinator's run, over HTTP/JSON (src/scale/coordinator.ts).
 *
 *   join (retried while nothing answers, up to --connect-timeout) ──> control channel (NDJSON) ──>
 *   SegmentHost: prepare, clock pings, warm-up, start at t0, reports every 250 ms, done ──> exit 0
 *   the channel ends, or no word (not even a beat) for 2 s, or a message is refused ──> the load
 *   stops at once ──> exit 3: a load generator never keeps hammering a target unsupervised
 *   refused (token, version, late, twice, clock) or not a coordinator ──> exit 2, nothing sent
 */
import { hostname } from 'node:os';
import { request } from 'undici';
import { every, realClock, type Clock } from '../core/clock.ts';
import type { EngineContext, LoadEngine } from '../load/engine.ts';
import { formatDuration } from '../core/units.ts';
import { VERSION } from '../version.ts';
import { API, COORDINATOR_SILENT_MS, parseToSegment, type FromSegment } from './protocol.ts';
import { SegmentHost } from './segment.ts';

export interface RunnerOptions {
  /** The coordinator's base URL (http://host:port). */
  coordinator: string;
  index?: number;
  token?: string;
  /** Keep trying to reach the coordinator this long (it may start after its runners). */
  connectTimeoutMs?: number;
  log(line: string): void;
  clock?: Clock;
  version?: string;
  host?: string;
  env?: NodeJS.ProcessEnv;
  /** Tests: an engine of their own. */
  createEngine?: (ctx: EngineContext) => LoadEngine;
}

export interface RunnerOutcome {
  /** 0: the segment ran (or the coordinator stopped it); 2: refused or not a coordinator; 3: lost the coordinator or interrupted. */
  code: 0 | 2 | 3;
  message: string;
}

export interface RunnerHandle {
  done: Promise<RunnerOutcome>;
  /** A signal: stop the load at once (exit 3). */
  interrupt(why: string): void;
}

const RETRY_MS = 500;

export function startRunner(o: RunnerOptions): RunnerHandle {
  let host: SegmentHost | null = null;
  let interrupted: string | null = null;
  const done = run(
    o,
    (h) => (host = h),
    () => interrupted,
  );
  return {
    done,
    interrupt(why) {
      interrupted = why;
      host?.interrupt(why);
    },
  };
}

async function run(
  o: RunnerOptions,
  onHost: (h: SegmentHost) => void,
  interrupted: () => string | null,
): Promise<RunnerOutcome> {
  const clock = o.clock ?? realClock;
  const base = o.coordinator.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  const me = o.host ?? hostname();

  // ---- join -----------------------------------------------------------------------------------
  const deadline = clock.now() + (o.connectTimeoutMs ?? 60_000);
  let joined: { runner: string; index: number; count: number };
  for (;;) {
    const why = interrupted();
    if (why) return { code: 3, message: `${why}: nothing was sent` };
    try {
      const r = await request(`${base}${API}/join`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          version: o.version ?? VERSION,
          index: o.index ?? null,
          host: me,
          pid: process.pid,
        }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const text = await r.body.text();
      let body: { chaoskit?: string; error?: string; runner?: string; index?: number; count?: number } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        // not JSON: not a coordinator
      }
      if (body.chaoskit !== 'coordinator')
        return {
          code: 2,
          message: `${o.coordinator} is not a chaoskit coordinator (it answered HTTP ${r.statusCode}${r.headers['content-type'] ? `, ${String(r.headers['content-type']).split(';')[0]}` : ''}): point --coordinator at the URL that \`chaos run --runners N --listen\` printed`,
        };
      if (r.statusCode !== 200 || !body.runner)
        return {
          code: 2,
          message: `the coordinator refused this runner: ${body.error ?? `HTTP ${r.statusCode}`}`,
        };
      joined = { runner: body.runner, index: body.index ?? 0, count: body.count ?? 1 };
      break;
    } catch (err) {
      const code = (err as { code?: string }).code ?? (err as Error).name;
      if (clock.now() >= deadline)
        return {
          code: 2,
          message: `no chaoskit coordinator answered at ${o.coordinator} within ${formatDuration(o.connectTimeoutMs ?? 60_000)} (${code})`,
        };
      await new Promise<void>((r) => clock.setTimeout(r, RETRY_MS));
    }
  }
  o.log(`joined ${o.coordinator} as runner ${joined.index} of ${joined.count}`);

  // ---- the segment ------------------------------------------------------------------------------
  const q = `?runner=${joined.runner}`;
  return new Promise<RunnerOutcome>((resolve) => {
    let over = false;
    let heardAt = clock.now();
    const abort = new AbortController();
    const outbox: FromSegment[] = [];
    let posting = false;
    const flush = () => {
      if (posting || outbox.length === 0 || over) return;
      posting = true;
      const batch = outbox.splice(0);
      request(`${base}${API}/messages${q}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(batch),
        headersTimeout: COORDINATOR_SILENT_MS + 1000,
        bodyTimeout: COORDINATOR_SILENT_MS + 1000,
      }).then(
        async (r) => {
          const text = await r.body.text();
          posting = false;
          if (r.statusCode === 410) host.coordinatorLost('the coordinator gave this runner up');
          else if (r.statusCode !== 200)
            host.coordinatorLost(`the coordinator refused a message: ${text.slice(0, 200)}`);
          else flush();
        },
        (err: Error) => {
          posting = false;
          host.coordinatorLost(
            `cannot reach the coordinator: ${(err as { code?: string }).code ?? err.message}`,
          );
        },
      );
    };
    const host: SegmentHost = new SegmentHost({
      clock,
      host: me,
      ...(o.version ? { version: o.version } : {}),
      ...(o.env ? { env: o.env } : {}),
      ...(o.createEngine ? { createEngine: o.createEngine } : {}),
      log: o.log,
      send: (m) => {
        outbox.push(m);
        flush();
      },
      onEnd: (code, why) => {
        if (over) return;
        over = true;
        watchdog.stop();
        // Messages still queued (the last seconds) go out before the channel is dropped.
        const last = outbox.splice(0);
        const posted =
          last.length > 0 && code === 0
            ? request(`${base}${API}/messages${q}`, { method: 'POST', headers, body: JSON.stringify(last) })
                .then((r) => r.body.dump())
                .catch(() => {})
            : Promise.resolve();
        void posted.finally(() => abort.abort());
        resolve({ code, message: why });
      },
    });
    onHost(host);
    const watchdog = every(clock, 250, () => {
      const silent = clock.now() - heardAt;
      if (silent > COORDINATOR_SILENT_MS)
        host.coordinatorLost(`no word from it for ${formatDuration(silent)}`);
    });
    const why = interrupted();
    if (why) host.interrupt(why);
    request(`${base}${API}/control${q}`, {
      method: 'GET',
      headers,
      signal: abort.signal,
      headersTimeout: 10_000,
      bodyTimeout: 0,
    }).then(
      async (r) => {
        if (r.statusCode !== 200) {
          const text = await r.body.text().catch(() => '');
          host.coordinatorLost(`the control channel was refused: HTTP ${r.statusCode} ${text.slice(0, 200)}`);
          return;
        }
        let buf = '';
        try {
          for await (const chunk of r.body) {
            heardAt = clock.now();
            buf += (chunk as Buffer).toString('utf8');
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl);
              buf = buf.slice(nl + 1);
              if (!line.trim()) continue;
              let raw: unknown;
              try {
                raw = JSON.parse(line);
              } catch {
                raw = null;
              }
              const m = parseToSegment(raw);
              if (typeof m === 'string') {
                host.coordinatorLost(m);
                return;
              }
              host.receive(m);
            }
          }
        } catch {
          // the channel broke: handled below
        }
        host.coordinatorLost('the coordinator closed the connection');
      },
      (err: Error) =>
        host.coordinatorLost(
          `cannot reach the coordinator: ${(err as { code?: string }).code ?? err.message}`,
        ),
    );
  });
}
