/**
 * Headless Chromium (Debian's /usr/bin/chromium) driven over the DevTools protocol with undici's
 * WebSocket: open a page, evaluate in it, take screenshots. No browser download, no extra
 * package. Chromium runs in its own process group, killed by that group's id on close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { WebSocket } from 'undici';
import { tempDir } from '../helpers/files.ts';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p)) ?? null;
export const CHROMIUM_MISSING = CHROMIUM ? null : 'chromium is not installed (Debian package: chromium)';
if (!CHROMIUM && process.env.CI) throw new Error(CHROMIUM_MISSING!);

export interface Page {
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy (or throws after `timeoutMs`). */
  waitFor(expression: string, timeoutMs: number): Promise<void>;
  screenshot(): Promise<Buffer>;
}

export interface Browser {
  open(url: string, size?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error(CHROMIUM_MISSING!);
  const profile = tempDir('chaoskit-chromium-');
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
      '--hide-scrollbars',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let err = '';
    const t = setTimeout(() => reject(new Error(`chromium did not start: ${err.slice(-500)}`)), 30_000);
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`chromium exited (${code}): ${err.slice(-500)}`)));
  });
  child.stderr!.resume();
  const ws = new WebSocket(endpoint);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('no DevTools connection')));
  });
  let seq = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string } };
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  const send = <T>(method: string, params: object = {}, sessionId?: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++seq;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  return {
    async open(url, size = { width: 1280, height: 1500 }) {
      const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
      const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', {
        targetId,
        flatten: true,
      });
      await send('Page.enable', {}, sessionId);
      await send(
        'Emulation.setDeviceMetricsOverride',
        { ...size, deviceScaleFactor: 1, mobile: false },
        sessionId,
      );
      await send('Page.navigate', { url }, sessionId);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = await send<{ result: { value: T }; exceptionDetails?: { text: string } }>(
          'Runtime.evaluate',
          { expression, returnByValue: true, awaitPromise: true },
          sessionId,
        );
        if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.text}`);
        return r.result.value;
      };
      return {
        evaluate,
        async waitFor(expression, timeoutMs) {
          const end = Date.now() + timeoutMs;
          for (;;) {
            if (await evaluate<boolean>(`!!(${expression})`).catch(() => false)) return;
            if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        async screenshot() {
          const r = await send<{ data: string }>('Page.captureScreenshot', { format: 'png' }, sessionId);
          return Buffer.from(r.data, 'base64');
        },
      };
    },
    async close() {
      try {
        ws.close();
      } catch {
        // already closed
      }
      if (child.pid !== undefined && child.exitCode === null) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        try {
          process.kill(-child.pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const t = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }, 3000);
        await gone;
        clearTimeout(t);
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** PNG dimensions, to check a screenshot is a real picture. */
export function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
