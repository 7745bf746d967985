/**
 * The live dashboard in headless Chromium, on a real run of the built-in demo through the real
 * CLI: the page loads, updates during the run (two screenshots differ), shows what results.json
 * says, and survives the run's end (the CLI has exited; the page keeps its data and both
 * reports). A dashboard port in use is exit 2 before anything starts.
 * Screenshots are left in $CHAOSKIT_SCREENSHOTS (when set) for a person to look at.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/result.ts';
import { demoEnv, freePort, runCli, startCli } from '../helpers/cli.ts';
import { tempDir } from '../helpers/files.ts';
import { CHROMIUM_MISSING, launchChromium, pngSize } from './chromium.ts';

const SHOTS = process.env.CHAOSKIT_SCREENSHOTS;

describe('live dashboard in a browser', () => {
  it.skipIf(CHROMIUM_MISSING)(
    'loads, updates every second during a run, matches results.json and survives the end',
    async () => {
      const out = tempDir('chaoskit-dash-out-');
      const port = await freePort();
      const { child, done } = startCli(
        [
          'run',
          'spike-with-partition',
          // Not shorter: the run's end must come after the two screenshots (a page busy with one
          // when the run ends may miss the server's 1.5 s linger for fetching the reports).
          '--time-scale',
          '0.1',
          '--quiet',
          '--dashboard',
          String(port),
          '--out',
          out,
        ],
        await demoEnv(),
      );
      const browser = await launchChromium();
      try {
        const url = `http://127.0.0.1:${port}/`;
        // The dashboard is bound before the run starts; wait for it to answer.
        for (let i = 0; i < 300 && child.exitCode === null; i++) {
          if (
            await fetch(url).then(
              (r) => r.ok,
              () => false,
            )
          )
            break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const page = await browser.open(url);
        await page.waitFor(
          `document.body.dataset.state === 'running' && +document.body.dataset.updates >= 3`,
          60_000,
        );
        const first = await page.screenshot();
        const t1 = await page.evaluate<number>(
          `+document.querySelector('#k-requested .sub').textContent.replace(/\\D+/g, '')`,
        );
        await page.waitFor(
          `+document.querySelector('#k-requested .sub').textContent.replace(/\\D+/g, '') >= ${t1 + 2}`,
          20_000,
        );
        const second = await page.screenshot();
        expect(pngSize(first)).toEqual({ width: 1280, height: 1500 });
        expect(first.equals(second)).toBe(false);
        // Charts drawn (uPlot canvases), phases and the fault window listed.
        expect(
          await page.evaluate<number>(`document.querySelectorAll('.uplot canvas').length`),
        ).toBeGreaterThanOrEqual(3);
        expect(await page.evaluate<number>(`document.querySelectorAll('#phases tbody tr').length`)).toBe(3);

        // The run ends; the CLI exits; the page keeps everything and saved both reports.
        await page.waitFor(
          `document.body.dataset.state === 'finished' && document.getElementById('end').dataset.reports === 'saved'`,
          90_000,
        );
        const r = await done;
        expect([0, 1], r.stderr).toContain(r.code);
        expect(r.stderr).toContain(`live dashboard on http://127.0.0.1:${port}/`);
        await new Promise((res) => setTimeout(res, 500));
        expect(
          await fetch(url).then(
            () => 'up',
            () => 'down',
          ),
        ).toBe('down');
        const third = await page.screenshot();
        expect(third.equals(second)).toBe(false);
        expect(await page.evaluate<string>(`document.getElementById('conn').textContent`)).toMatch(
          /run over/,
        );
        expect(
          await page.evaluate<number>(`document.querySelectorAll('.uplot canvas').length`),
        ).toBeGreaterThanOrEqual(3);

        // What the page shows is what results.json says.
        const result = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as RunResult;
        const totals = await page.evaluate<Record<string, string>>(
          `({ ...document.getElementById('totals').dataset })`,
        );
        expect(totals).toEqual({
          requested: String(result.totals.requested),
          sent: String(result.totals.sent),
          ok: String(result.totals.ok),
          failed: String(result.totals.failed),
        });
        const rows = await page.evaluate<{ t: number; cells: Record<string, string> }[]>(
          `[...document.querySelectorAll('#finals tbody tr')].map((tr) => ({ t: +tr.dataset.t, cells: Object.fromEntries([...tr.querySelectorAll('td[data-k]')].map((td) => [td.dataset.k, td.dataset.v])) }))`,
        );
        expect(rows.length).toBeGreaterThanOrEqual(10);
        for (const row of rows) {
          const s = result.timeline[row.t]!;
          expect(row.cells, `second ${row.t}`).toEqual({
            requested: String(s.requested),
            sent: String(s.sent),
            ok: String(s.ok),
            failed: String(s.failed),
            dropped: String(s.dropped),
            p50: s.latencyMs ? String(s.latencyMs.p50) : '',
            p99: s.latencyMs ? String(s.latencyMs.p99) : '',
          });
        }
        const fault = await page.evaluate<string>(
          `document.querySelector('#faults tr[data-fault="f1"]').textContent`,
        );
        expect(fault).toContain('partition');
        expect(fault).toContain('reverted');
        // The saved report is the run's report.
        const saved = await page.evaluate<string>(
          `fetch(document.getElementById('report-link').href).then((r) => r.text())`,
        );
        expect(saved).toContain(result.runId);
        if (SHOTS) {
          if (!existsSync(SHOTS)) mkdirSync(SHOTS, { recursive: true });
          writeFileSync(join(SHOTS, 'dashboard-1-running.png'), first);
          writeFileSync(join(SHOTS, 'dashboard-2-running.png'), second);
          writeFileSync(join(SHOTS, 'dashboard-3-ended.png'), third);
        }
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await browser.close();
      }
    },
    150_000,
  );

  it('a dashboard port in use is exit 2 before the run', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const state = tempDir('chaoskit-state-');
      // Both refused before anything starts: run side by side.
      const [r, bad] = await Promise.all([
        runCli(['run', 'spike-with-partition', '--time-scale', '0.1', '--dashboard', String(port)], {
          ...(await demoEnv()),
          CHAOSKIT_STATE_DIR: state,
        }),
        runCli(['run', 'spike-with-partition', '--dashboard', 'abc']),
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--dashboard must be a port number from 0 to 65535');
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(`--dashboard ${port}:`);
      expect(r.stderr).toContain('EADDRINUSE');
      expect(r.stderr).not.toContain('running spike-with-partition');
      expect(r.stderr).not.toContain('starting the demo system');
      expect(existsSync(join(state, 'ledger.jsonl'))).toBe(false);
    } finally {
      busy.close();
    }
  }, 60_000);
});
