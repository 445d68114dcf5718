// junit.xml: one test case per cell (suite = kernel + scenario); a mismatch is a failure, an
// infra error an error, so CI systems show each cell like a test.

import { formatOutcome } from '../dsl/vocabulary.js';
import { type CellResult, countVerdicts } from '../outcome/verdict.js';
import { shownOutcome } from './cell-label.js';
import type { RunResults } from './results-json.js';

const esc = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 has no place for control characters other than tab, newline and return.
    .replace(/\p{Cc}/gu, (ch) => (ch === '\t' || ch === '\n' || ch === '\r' ? ch : ''));

function testcase(c: CellResult, suite: string): string {
  const head = `    <testcase classname="${esc(suite)}" name="${esc(c.id)}" time="${(c.durationMs / 1000).toFixed(3)}"`;
  if (c.verdict === 'match') return `${head}/>`;
  const what = `observed ${shownOutcome(c)}, expected ${formatOutcome(c.expected)}`;
  const body = esc(`${c.infraError ?? c.observed?.detail ?? ''}\nexpected because: ${c.expected.reason}`);
  const tag = c.verdict === 'infra-error' ? 'error' : 'failure';
  return `${head}>\n      <${tag} message="${esc(what)}">${body}</${tag}>\n    </testcase>`;
}

export function renderJunit(run: RunResults): string {
  const suites = new Map<string, CellResult[]>();
  for (const c of run.cells) {
    const key = `${c.kernel}.${c.scenario}`;
    suites.set(key, [...(suites.get(key) ?? []), c]);
  }
  // a flaky cell fails like a mismatch: its outcome cannot be relied on
  const failures = (cs: CellResult[]) => countVerdicts(cs).mismatch + countVerdicts(cs).flaky;
  const errors = (cs: CellResult[]) => countVerdicts(cs)['infra-error'];
  const body = [...suites].map(([name, cs]) => {
    const time = cs.reduce((t, c) => t + c.durationMs, 0) / 1000;
    return [
      `  <testsuite name="${esc(name)}" tests="${cs.length}" failures="${failures(cs)}" errors="${errors(cs)}" time="${time.toFixed(3)}">`,
      ...cs.map((c) => testcase(c, name)),
      '  </testsuite>',
    ].join('\n');
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="capmatrix ${esc(run.runId)}" tests="${run.cells.length}" failures="${failures(run.cells)}" errors="${errors(run.cells)}">\n${body.join('\n')}\n</testsuites>\n`;
}
