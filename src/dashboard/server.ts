/**
 * `chaos run … --dashboard [PORT]`: a page on loopback that follows the run through server-sent
 * events, once a second (src/dashboard/model.ts says what it sends).
 *
 *   GET /             the page (uPlot inlined, as in the HTML report; loads nothing from anywhere)
 *   GET /events       SSE: a snapshot, then every change;  GET /state.json: the snapshot
 *   GET /report.html, /results.json   the final reports, once the run has ended
 *
 * Each message is serialised once, whatever the number of pages. A page that stops reading costs
 * at most `maxBufferedBytes` before it is cut off (it reconnects and gets a fresh snapshot if it
 * ever reads again); one that goes away costs nothing. Nothing here is on the load's path: it
 * only listens to run events.
 */
import http from 'node:http';
import type { SecondStats } from '../metrics/store.ts';
import type { FaultRecord, RunResult } from '../result.ts';
import type { Progress, RunHandle } from '../run.ts';
import type { StartedInfo } from '../run/events.ts';
import {
  DashboardState,
  endView,
  faultView,
  finalPoint,
  livePoint,
  profileLivePoint,
  runView,
  streamLivePoint,
  type DashboardMessage,
  type EndView,
} from './model.ts';
import { dashboardPage } from './page.ts';

export interface DashboardOptions {
  port: number;
  host?: string;
  /** A page whose unread data passes this is disconnected (default 256 KiB). */
  maxBufferedBytes?: number;
  /** After the run, how long stop() waits for open pages to fetch the reports (default 1.5 s). */
  lingerMs?: number;
}

export interface Dashboard {
  readonly url: string;
  /** Pages connected now. */
  readonly clients: number;
  attach(run: RunHandle): void;
  /** The report files written into --out, for the page to name. */
  reportsWritten(files: readonly string[]): void;
  stop(): Promise<void>;
}

interface Client {
  res: http.ServerResponse;
}

/** Binds the port (before the run: a port in use fails first); attach() a run after. */
export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const host = o.host ?? '127.0.0.1';
  const maxBuffered = o.maxBufferedBytes ?? 256 * 1024;
  const clients = new Set<Client>();
  let state = new DashboardState('', '');
  let run: RunHandle | null = null;
  let result: RunResult | null = null;
  let reportHtml: Promise<string> | null = null;
  let end: EndView | null = null;
  let fetchesAfterEnd = 0;
  let pagesAtEnd = 0;
  let page: string | null = null;

  const send = (c: Client, line: string): void => {
    // Unread data piles up in the socket's buffer: past the bound, the page is cut off.
    if (c.res.writableLength > maxBuffered) {
      clients.delete(c);
      c.res.destroy();
      return;
    }
    c.res.write(line);
  };
  const broadcast = (m: DashboardMessage): void => {
    state.apply(m);
    if (clients.size === 0) return;
    const line = `data: ${JSON.stringify(m)}\n\n`;
    for (const c of clients) send(c, line);
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.statusCode = 405;
      res.end();
      return;
    }
    if (path === '/') {
      page ??= dashboardPage();
      res.setHeader('content-type', 'text/html; charset=utf-8');
      res.setHeader('cache-control', 'no-store');
      res.end(page);
    } else if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.socket?.setNoDelay(true);
      const c: Client = { res };
      clients.add(c);
      res.on('close', () => clients.delete(c));
      res.write(`retry: 1000\ndata: ${JSON.stringify(state.snapshot())}\n\n`);
    } else if (path === '/state.json') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(state.snapshot()));
    } else if (path === '/report.html' || path === '/results.json') {
      if (!result) {
        res.statusCode = 404;
        res.end('the reports exist once the run has ended\n');
        return;
      }
      fetchesAfterEnd++;
      if (path === '/results.json') {
        res.setHeader('content-type', 'application/json');
        res.end(`${JSON.stringify(result, null, 2)}\n`);
      } else {
        void (reportHtml ?? Promise.resolve('')).then((text) => {
          res.setHeader('content-type', 'text/html; charset=utf-8');
          res.end(text);
        });
      }
    } else {
      res.statusCode = 404;
      res.end('not found\n');
    }
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => resolve());
  });
  server.on('error', () => {}); // after the bind, a page's trouble is not the run's
  const port = (server.address() as { port: number }).port;

  const handlers = {
    started: (i: StartedInfo) =>
      broadcast({ type: 'run', run: runView(i, run!.scenario.spec.name, run!.scenario.spec.description) }),
    second: (p: Progress) => {
      broadcast({ type: 'second', point: livePoint(p) });
      for (const sp of p.streams ?? []) broadcast({ type: 'second', point: streamLivePoint(p, sp) });
      for (const pp of p.profiles ?? []) broadcast({ type: 'second', point: profileLivePoint(p, pp) });
    },
    secondFinal: (s: SecondStats, stream: string | null) =>
      broadcast({ type: 'final', point: stream === null ? finalPoint(s) : { ...finalPoint(s), stream } }),
    faultApplied: (f: FaultRecord) => broadcast({ type: 'fault', fault: faultView(f) }),
    faultReverted: (f: FaultRecord) => broadcast({ type: 'fault', fault: faultView(f) }),
    stopping: (s: { reason: string }) => broadcast({ type: 'state', state: 'stopping', reason: s.reason }),
    warning: (w: string) => broadcast({ type: 'log', line: `warning: ${w}` }),
    log: (line: string) => broadcast({ type: 'log', line }),
    finished: (r: RunResult) => {
      result = r;
      reportHtml = renderReport(r);
      // Seconds the runner finalised without an event (the last ones), then the faults' last word.
      const seen = new Set(state.snapshot().finals.flatMap((f) => (f.stream || f.profile ? [] : [f.t])));
      for (const s of r.timeline) if (!seen.has(s.t)) broadcast({ type: 'final', point: finalPoint(s) });
      for (const f of r.faults) if (f.appliedAtMs !== null) broadcast({ type: 'fault', fault: faultView(f) });
      end = endView(r);
      pagesAtEnd = clients.size;
      broadcast({ type: 'end', end });
    },
  };

  return {
    url: `http://${host}:${port}/`,
    get clients() {
      return clients.size;
    },
    attach(r) {
      run = r;
      state = new DashboardState(r.scenario.spec.name, r.runId);
      for (const [k, h] of Object.entries(handlers)) r.on(k as never, h as never);
    },
    reportsWritten(files) {
      if (!end) return;
      end = { ...end, files: [...files] };
      broadcast({ type: 'end', end });
    },
    async stop() {
      if (run) for (const [k, h] of Object.entries(handlers)) run.off(k as never, h as never);
      if (result) {
        // Pages that saw the end fetch both reports, so their links work after this server is gone.
        const deadline = Date.now() + (o.lingerMs ?? 1500);
        while (fetchesAfterEnd < 2 * Math.min(pagesAtEnd, clients.size) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
      }
      for (const c of clients) c.res.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The HTML report, rendered once after the run (a turn later: the result goes out first). */
async function renderReport(r: RunResult): Promise<string> {
  await new Promise((ok) => setImmediate(ok));
  try {
    const { html } = await import('../../reporters/html.ts');
    return html.render(r);
  } catch (err) {
    return `<p>the report could not be rendered: ${String((err as Error).message)}</p>`;
  }
}
