/**
 * The live dashboard's server: what it sends (a snapshot, then each change, the end with the
 * run's totals), its reports after the run, and what a page that never reads costs.
 * The page itself is tested in headless Chromium in test/observe/dashboard-page.test.ts.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDashboard, type Dashboard } from '../../src/dashboard/server.ts';
import {
  DashboardState,
  finalPoint,
  livePoint,
  type DashboardMessage,
  type LivePoint,
  type Snapshot,
} from '../../src/dashboard/model.ts';
import { emptySecond } from '../../src/metrics/merge.ts';
import type { Progress } from '../../src/run.ts';
import type { RunHandle, RunEvents } from '../../src/run.ts';
import { GuardedEmitter } from '../../src/run/events.ts';
import { expectAccounting } from '../helpers/accounting.ts';
import { simRun } from './sim-run.ts';

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function dashboard(o: Partial<Parameters<typeof startDashboard>[0]> = {}): Promise<Dashboard> {
  const d = await startDashboard({ port: 0, ...o });
  stops.push(() => d.stop());
  return d;
}

/** Reads /events as a page would, collecting every message. */
function follow(url: string): {
  messages: DashboardMessage[];
  close(): void;
  ready: Promise<void>;
  closed: Promise<void>;
} {
  const messages: DashboardMessage[] = [];
  const ac = new AbortController();
  let isReady!: () => void;
  const ready = new Promise<void>((r) => (isReady = r));
  const closed = (async () => {
    try {
      const res = await fetch(`${url}events`, { signal: ac.signal });
      isReady();
      let buf = '';
      for await (const chunk of res.body!) {
        buf += Buffer.from(chunk).toString();
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of block.split('\n'))
            if (line.startsWith('data: ')) messages.push(JSON.parse(line.slice(6)) as DashboardMessage);
        }
      }
    } catch {
      // aborted
    }
    isReady();
  })();
  return { messages, close: () => ac.abort(), ready, closed };
}

function progressAt(second: number): Progress {
  return {
    elapsedMs: second * 1000,
    durationMs: 600_000,
    second,
    requestedRate: 10,
    achievedRate: 10,
    ok: 10,
    failed: 0,
    dropped: 0,
    p99Ms: 5,
    latencyMs: null,
    outstanding: 0,
    errors: {},
    totalSent: 10 * second,
    totalFailed: 0,
    activeFaults: [],
    saturated: false,
  };
}

describe('live dashboard server', () => {
  it('sends a snapshot, every second, the faults, the finished seconds and the end; serves the reports after', async () => {
    const d = await dashboard();
    const page = await fetch(d.url);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // loads nothing from anywhere
    expect((await fetch(`${d.url}report.html`)).status).toBe(404);

    const f = follow(d.url);
    await f.ready;
    const { result } = await simRun((run) => d.attach(run));
    expectAccounting(result);
    // The end message comes with the result; the page then fetches the reports.
    const report = await fetch(`${d.url}report.html`);
    expect(await report.text()).toContain('<title>sim-observe');
    const served = (await (await fetch(`${d.url}results.json`)).json()) as { runId: string };
    expect(served.runId).toBe(result.runId);
    await d.stop();
    await f.closed;
    const m = f.messages;
    expect(m[0]!.type).toBe('snapshot');
    const types = new Set(m.map((x) => x.type));
    for (const t of ['run', 'second', 'final', 'fault', 'end']) expect(types).toContain(t);
    const seconds = m.filter((x) => x.type === 'second');
    expect(seconds.length).toBeGreaterThanOrEqual(11);
    // Finished seconds: every second of the timeline exactly once, equal to results.json.
    const finals = m.flatMap((x) => (x.type === 'final' ? [x.point] : []));
    expect(finals.map((p) => p.t).sort((a, b) => a - b)).toEqual(result.timeline.map((s) => s.t));
    for (const p of finals) {
      const s = result.timeline[p.t]!;
      expect(p).toMatchObject({ requested: s.requested, sent: s.sent, ok: s.ok, failed: s.failed });
      expect(p.p99).toBe(s.latencyMs?.p99 ?? null);
    }
    const end = m.find((x) => x.type === 'end')!;
    expect(end.type === 'end' && end.end.totals).toEqual({
      requested: result.totals.requested,
      sent: result.totals.sent,
      ok: result.totals.ok,
      failed: result.totals.failed,
      dropped: result.totals.dropped,
      p99: result.totals.latencyMs!.p99,
    });
    const faults = m.flatMap((x) => (x.type === 'fault' ? [x.fault] : []));
    expect(faults.at(-1)).toMatchObject({ id: 'f1', type: 'partition', status: 'reverted', appliedAtS: 4 });
  });

  it('with several load streams, sends each stream beside the whole run, live and finished, and each in the end', async () => {
    const d = await dashboard();
    const f = follow(d.url);
    await f.ready;
    const { result } = await simRun((run) => d.attach(run), {
      body: `load:
  - name: web
    target: api
    timeout: 2s
    pattern: [{ kind: constant, rate: 50, duration: 6s }]
  - name: batch
    target: api
    timeout: 2s
    pattern: [{ kind: constant, rate: 20, duration: 6s }]
faults:
  - { type: partition, target: api->dependency, at: 2s, duration: 2s }
`,
    });
    expectAccounting(result);
    await d.stop();
    await f.closed;
    const m = f.messages;
    const live = m.flatMap((x) => (x.type === 'second' ? [x.point] : []));
    const whole = live.filter((p) => p.stream === undefined);
    expect(whole.length).toBeGreaterThanOrEqual(5);
    for (const p of whole) {
      const parts = live.filter((q) => q.t === p.t && q.stream !== undefined);
      expect(parts.map((q) => q.stream)).toEqual(['web', 'batch']);
      for (const k of ['requested', 'achieved', 'ok', 'failed', 'outstanding'] as const)
        expect(p[k], `t=${p.t} ${k}`).toBe(parts[0]![k] + parts[1]![k]);
    }
    // Finished seconds: the run's once each, equal to results.json; each stream's equal to its own.
    const finals = m.flatMap((x) => (x.type === 'final' ? [x.point] : []));
    const runFinals = finals.filter((p) => p.stream === undefined);
    expect(runFinals.map((p) => p.t).sort((a, b) => a - b)).toEqual(result.timeline.map((s) => s.t));
    for (const p of runFinals) expect(p.ok).toBe(result.timeline[p.t]!.ok);
    for (const st of result.streams!) {
      const mine = finals.filter((p) => p.stream === st.name);
      expect(mine.length).toBeGreaterThan(0);
      for (const p of mine)
        expect(p).toMatchObject({ requested: st.timeline[p.t]!.requested, ok: st.timeline[p.t]!.ok });
    }
    const end = m.find((x) => x.type === 'end')!;
    const rows = end.type === 'end' ? end.end.breakdown.filter((r) => r.profile === undefined) : [];
    expect(rows.map((r) => [r.stream, r.sent, r.failed])).toEqual(
      result.streams!.map((st) => [st.name, st.totals.sent, st.totals.failed]),
    );
  });

  it("keeps every whole-run point but only each stream's and profile's latest, so a snapshot stays small", () => {
    const state = new DashboardState('s', 'r');
    const point = (t: number, dims: { stream?: string; profile?: string }) =>
      ({ ...livePoint(progressAt(t)), ...dims }) as LivePoint;
    for (let t = 0; t < 600; t++) {
      state.apply({ type: 'second', point: point(t, {}) });
      for (const profile of ['a', 'b', 'c']) state.apply({ type: 'second', point: point(t, { profile }) });
      state.apply({ type: 'second', point: point(t, { stream: 'web', profile: 'a' }) });
      state.apply({ type: 'final', point: { ...finalPoint(emptySecond(t)), stream: 'web' } });
    }
    const live = state.snapshot().live;
    expect(live.filter((p) => p.stream === undefined && p.profile === undefined)).toHaveLength(600);
    expect(
      live.filter((p) => p.stream !== undefined || p.profile !== undefined).map((p) => [p.profile, p.t]),
    ).toEqual([
      ['a', 599],
      ['b', 599],
      ['c', 599],
      ['a', 599],
    ]);
    expect(state.snapshot().finals).toEqual([]);
  });

  it('a page that connects late gets the whole run so far in its snapshot', async () => {
    const d = await dashboard();
    let snap: Snapshot | null = null;
    await simRun((run) => {
      d.attach(run);
      run.on('second', (p) => {
        if (p.second === 6)
          void fetch(`${d.url}state.json`).then(async (r) => (snap = (await r.json()) as Snapshot));
      });
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(snap).not.toBeNull();
    const s = snap! as Snapshot;
    expect(s.run?.phases.map((p) => p.name)).toEqual(['constant', 'surge', 'constant']);
    expect(s.live.length).toBeGreaterThanOrEqual(7);
    expect(s.faults.map((f) => f.id)).toEqual(['f1']);
  });

  it('a page that never reads is cut off once its unread data passes the bound; the others keep up', async () => {
    const d = await dashboard({ maxBufferedBytes: 256 * 1024 });
    const run = fakeRun();
    d.attach(run as unknown as RunHandle);
    // A client that asks for the stream and never reads a byte.
    const sock = net.connect(Number(new URL(d.url).port), '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.pause();
    sock.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n');
    const reader = follow(d.url);
    await reader.ready;
    await new Promise((r) => setTimeout(r, 100));
    expect(d.clients).toBe(2);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('error', () => {});
    // 64 KiB lines, a few milliseconds apart, until the silent page is cut (40 MiB at most).
    const line = 'x'.repeat(64 * 1024);
    let sent = 0;
    for (; sent < 640 && d.clients === 2; sent++) {
      run.emit('log', line);
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(d.clients).toBe(1);
    expect(sent).toBeLessThan(640);
    sock.destroy();
    await closed;
    // The reading page got every line.
    await new Promise((r) => setTimeout(r, 300));
    expect(reader.messages.filter((m) => m.type === 'log').length).toBe(sent);
    reader.close();
  });

  it('a port in use is refused at start', async () => {
    const d = await dashboard();
    const port = Number(new URL(d.url).port);
    await expect(startDashboard({ port })).rejects.toThrow(/EADDRINUSE/);
  });
});

function fakeRun() {
  const e = new GuardedEmitter<RunEvents>((err) => {
    throw err;
  });
  return Object.assign(e, { runId: 'fake', scenario: { spec: { name: 'fake', description: '' } } });
}
