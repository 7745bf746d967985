/** Every report shows flows step by step: sessions, per-step latency, checks, captures, concurrency. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { reporters } from '../../reporters/index.ts';
import type { RunResult } from '../../src/result.ts';
import { tempDir } from '../helpers/files.ts';
import { runFlows } from './helpers.ts';
import type { FlowTarget } from './sim-flows.ts';

let result: RunResult;

beforeAll(async () => {
  let n = 0;
  // Every third /m answer is a 503; /x answers have no id to capture.
  const target: FlowTarget = {
    answer: (req) => {
      if (req.path === '/c') return { latencyMs: 10, body: ++n % 5 === 0 ? '{}' : '{"id":"c1"}' };
      if (req.path.startsWith('/m')) return { latencyMs: 40, status: n % 3 === 0 ? 503 : 200 };
      return { latencyMs: 5 };
    },
  };
  result = (
    await runFlows(
      `load:
  target: api
  pattern: [{ kind: constant, rate: 10, duration: 5s }]
  requests:
    - name: chat
      steps:
        - { name: open, method: POST, path: /c, capture: { id: 'json:$.id' } }
        - think: 200ms
        - { name: answer, method: POST, path: '/m/{{id}}' }
        - { name: close, method: DELETE, path: '/c/{{id}}' }
`,
      target,
    )
  ).result;
});

describe('reports show flows step by step', () => {
  it('console: the flow, each step with latency from when it came due, errors, checks and concurrency', () => {
    const out = reporters.console.render(result);
    expect(out).toMatch(/flow +started +completed +failed +stopped +failed at step +session duration/);
    expect(out).toMatch(/chat +50 +\d+ +\d+ +0 +answer \d+/);
    expect(out).toMatch(/chat\.open +50 +50 +0/);
    expect(out).toMatch(/chat\.answer +\d+/);
    expect(out).toContain('chat.answer errors: http_5xx 13, check 10');
    expect(out).toContain(
      'chat.answer: check failed 10×: not sent: variable id is unset: the step that captures it did not match',
    );
    expect(out).toContain('chat.open: capture id found nothing in 10 answers');
    expect(out).toMatch(/active sessions: peak \d+, mean [\d.]+ over \d+s/);
  });

  it('Markdown: the same tables, escaped', () => {
    const md = reporters.markdown.render(result);
    expect(md).toContain('### Flows and steps');
    expect(md).toMatch(/\| chat \| 50 \| \d+ \| \d+ \| 0 \| answer \d+ \|/);
    expect(md).toMatch(/\| chat\.answer \| \d+ \| \d+ \| \d+ \|/);
    expect(md).toContain('- `chat.open`: capture id found nothing in 10 answers');
  });

  it('HTML: a flows-and-steps card with both tables', () => {
    const html = reporters.html.render(result);
    expect(html).toContain('<section class="card flows"><h2>Flows and steps');
    expect(html).toContain('<th scope="row">chat.answer</th>');
    expect(html).toContain('<table class="flow-table">');
  });

  it('JUnit: one passing testcase per flow and per step with the figures, valid against the schema', () => {
    const xml = reporters.junit.render(result);
    expect(xml).toContain('<testcase classname="chaoskit.flows.profiles" name="flow chat: sessions"');
    expect(xml).toContain('name="step chat.answer: measured"');
    expect(xml).toMatch(/sent \d+, ok \d+, failed \d+, not sent –; latency from when it came due p50/);
    const file = join(tempDir(), 'junit.xml');
    writeFileSync(file, xml);
    execFileSync(
      'xmllint',
      ['--noout', '--schema', join(import.meta.dirname, '../reporters/junit.xsd'), file],
      {
        stdio: 'pipe',
      },
    );
  });
});
