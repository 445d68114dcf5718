// junit.xml: one test case per cell (suite = kernel + scenario); a mismatch is a failure, an
// infra error an error, so CI systems show each cell like a test.

import { formatOutcome } from '../dsl/vocabulary.js';
import { type CellResult, countVerdicts } from '../outcome/verdict.js';
import { shownOutcome } from './cell-label.js';
import { kernelChecksLine } from './kernel-checks.js';
import type { RunResults } from './results-json.js';
import { xmlText } from './untrusted-text.js';

function testcase(c: CellResult, suite: string): string {
  const head = `    <testcase classname="${xmlText(suite)}" name="${xmlText(c.id)}" time="${(c.durationMs / 1000).toFixed(3)}"`;
  if (c.verdict === 'match') return `${head}/>`;
  const what = `observed ${shownOutcome(c)}, expected ${formatOutcome(c.expected)}`;
  const checks = kernelChecksLine(c);
  const body = `${xmlText(c.infraError ?? c.observed?.detail ?? '')}\nexpected because: ${xmlText(c.expected.reason)}${checks ? `\nkernel: ${xmlText(checks)}` : ''}`;
  const tag = c.verdict === 'infra-error' ? 'error' : 'failure';
  return `${head}>\n      <${tag} message="${xmlText(what)}">${body}</${tag}>\n    </testcase>`;
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
  // cells an interrupted run never finished: skipped, so a report shows they are missing
  const pending = new Map<string, string[]>();
  for (const p of run.pending ?? []) {
    const key = `${p.kernel}.${p.id.split('/')[0]}`;
    pending.set(key, [...(pending.get(key) ?? []), p.id]);
    if (!suites.has(key)) suites.set(key, []);
  }
  const skipped = (name: string) =>
    (pending.get(name) ?? []).map(
      (id) =>
        `    <testcase classname="${xmlText(name)}" name="${xmlText(id)}" time="0"><skipped message="not finished: the run was interrupted"/></testcase>`,
    );
  const stamp = xmlText(run.startedAt.replace(/Z$/, ''));
  const body = [...suites].map(([name, cs]) => {
    const time = cs.reduce((t, c) => t + c.durationMs, 0) / 1000;
    const skips = skipped(name);
    return [
      `  <testsuite name="${xmlText(name)}" tests="${cs.length + skips.length}" failures="${failures(cs)}" errors="${errors(cs)}" skipped="${skips.length}" time="${time.toFixed(3)}" timestamp="${stamp}">`,
      ...cs.map((c) => testcase(c, name)),
      ...skips,
      '  </testsuite>',
    ].join('\n');
  });
  const total = run.cells.length + (run.pending?.length ?? 0);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="capmatrix ${xmlText(run.runId)}" tests="${total}" failures="${failures(run.cells)}" errors="${errors(run.cells)}" skipped="${run.pending?.length ?? 0}">\n${body.join('\n')}\n</testsuites>\n`;
}
