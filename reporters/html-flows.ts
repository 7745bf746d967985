/** The HTML report's flows-and-steps card: sessions per flow, then every step and request profile. */
import type { RunResult } from '../src/result.ts';
import {
  captureLine,
  concurrencyLine,
  dataLines,
  FLOW_HEAD,
  flowCells,
  flowRows,
  hasProfiles,
  PROFILE_HEAD,
  profileCells,
  profileRows,
} from './flows.ts';
import { esc } from './html-sections.ts';
import { dash, STREAM_HEAD, streamCells, streamRows } from './shared.ts';

function table(head: string[], rows: string[][], cls: string): string {
  const th = head.map((h, i) => `<th${i ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (i ? `<td class="num">${esc(c)}</td>` : `<th scope="row">${esc(c)}</th>`)).join('')}</tr>`,
    )
    .join('\n');
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

/** A multi-stream run's streams, each with its own verdict (none for a run with one load). */
export function streamsSection(r: RunResult): string {
  const rows = streamRows(r);
  if (!rows.length) return '';
  return `<section class="card streams"><h2>Load streams<small>each scored against its own service; the verdict is the worst of theirs</small></h2>
${table(STREAM_HEAD, rows.map(streamCells), 'stream-table')}
</section>`;
}

export function flowsSection(r: RunResult): string {
  if (!hasProfiles(r)) return '';
  const flows = flowRows(r);
  const profiles = profileRows(r);
  const notes = profiles.flatMap((p) => [
    ...(p.errors !== dash ? [`<li><code>${esc(p.name)}</code> errors: ${esc(p.errors)}</li>`] : []),
    ...p.notes.map((n) => `<li><code>${esc(p.name)}</code>: ${esc(n)}</li>`),
  ]);
  const facts = [captureLine(r), concurrencyLine(r), ...dataLines(r)].filter((x): x is string => !!x);
  return `<section class="card flows"><h2>Flows and steps<small>latency from when each step came due (the previous step's end plus think time)</small></h2>
${flows.length ? table(FLOW_HEAD, flows.map(flowCells), 'flow-table') : ''}
${profiles.length ? table(PROFILE_HEAD, profiles.map(profileCells), 'profile-table') : ''}
${notes.length ? `<ul class="notes">${notes.join('')}</ul>` : ''}
${facts.length ? `<ul class="facts-list">${facts.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : ''}
</section>`;
}
