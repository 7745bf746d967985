/** External tools the reporter tests use when installed: headless Chromium and xmllint. */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../helpers/files.ts';

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export const CHROMIUM = which('chromium') ?? which('chromium-browser') ?? which('google-chrome');
export const XMLLINT = which('xmllint');
export const XSD = join(import.meta.dirname, 'junit.xsd');

/** Headless Chromium with nothing that reaches the network. */
function chromium(args: string[], timeoutMs = 60_000): string {
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--hide-scrollbars',
    `--user-data-dir=${tempDir('chaoskit-chromium-')}`,
  ];
  return execFileSync(CHROMIUM!, [...flags, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
}

/** The DOM after scripts ran. */
export const dumpDom = (file: string): string => chromium(['--dump-dom', pathToFileURL(file).href]);

export function screenshot(file: string, png: string): void {
  chromium([`--screenshot=${png}`, '--window-size=1400,2400', pathToFileURL(file).href]);
}

/** xmllint's verdict on a file against the JUnit XSD: null when valid, else its messages. */
export function xsdErrors(file: string): string | null {
  const r = spawnSync(XMLLINT!, ['--noout', '--schema', XSD, file], { encoding: 'utf8' });
  return r.status === 0 ? null : `${r.stdout}${r.stderr}`;
}
