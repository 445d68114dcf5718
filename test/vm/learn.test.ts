// Learn mode on a real kernel: a scenario with a deliberately wrong expectation runs with
// --update-expected; the observed outcome is written as a learned expectation with a reason
// placeholder, which counts as pending review until a reason is written; then the run matches.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { expectationFor } from '../../harness/dsl/expand.js';
import { learnedPath, pendingReviews, REVIEW_PLACEHOLDER } from '../../harness/dsl/learned.js';
import { loadScenarios } from '../../harness/dsl/load.js';
import { PACKAGE_ROOT } from '../../harness/paths.js';
import { runMatrix } from '../../harness/run/matrix.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-learn-'));
const scenarios = path.join(dir, 'scenarios');
const results = path.join(dir, 'results');
const CELL = 'learn-demo/BPF/default';

describe('learn mode (--update-expected)', () => {
  test('a mismatch becomes a learned expectation that needs a reason; with one, the run matches', async () => {
    mkdirSync(scenarios);
    writeFileSync(
      path.join(scenarios, 'learn-demo.ts'),
      `export default {
  sample: 'fault',
  args: ['ok'],
  axes: { caps: [[], ['CAP_BPF']], sysctl: {} },
  expect: [
    { when: { has: ['CAP_BPF'] }, outcome: 'EPERM@run', reason: 'deliberately wrong, so there is something to learn' },
    { outcome: 'ok', reason: 'the fault sample reports ok' },
  ],
};
`,
    );
    const first = await runMatrix({ scenarioDir: scenarios, resultsDir: results, updateExpected: true, log: () => {} });
    expect(first.results.cells.map((c) => [c.id, c.verdict])).toEqual([
      ['learn-demo/none/default', 'match'],
      [CELL, 'mismatch'],
    ]);
    expect(first.learned).toEqual([`${learnedPath(scenarios, 'learn-demo')}: ${CELL}: EPERM@run → ok`]);

    const file = learnedPath(scenarios, 'learn-demo');
    const learned = JSON.parse(readFileSync(file, 'utf8'));
    expect(learned.rules).toHaveLength(1);
    expect(learned.rules[0]).toMatchObject({ when: { cells: [CELL] }, outcome: 'ok' });
    expect(learned.rules[0].reason.startsWith(REVIEW_PLACEHOLDER)).toBe(true);

    // loaded, the learned rule decides the cell, and the scenario is pending review
    let loaded = await loadScenarios(PACKAGE_ROOT, undefined, scenarios);
    const cell = loaded[0]?.cells.find((c) => c.id === CELL);
    if (!cell) throw new Error('no cell');
    expect(expectationFor(cell, '6.12').outcome).toBe('ok');
    const where = path.relative(PACKAGE_ROOT, path.join(scenarios, 'learn-demo.ts'));
    expect(pendingReviews(loaded)).toEqual([
      `${where}: expect[0] (${CELL} → ok): the learned expectation needs a reason`,
    ]);

    // the reviewer writes the reason
    learned.rules[0].reason = 'the fault sample ignores its capabilities';
    writeFileSync(file, JSON.stringify(learned));
    loaded = await loadScenarios(PACKAGE_ROOT, undefined, scenarios);
    expect(pendingReviews(loaded)).toEqual([]);
    const second = await runMatrix({ scenarioDir: scenarios, resultsDir: results, log: () => {} });
    expect(second.results.cells.every((c) => c.verdict === 'match')).toBe(true);
  }, 900_000);
});
