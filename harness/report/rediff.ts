// `capmatrix report --rediff`: a run's cells judged again against the scenarios as they stand
// now, without booting anything. An edited (or learned) expectation changes expected and
// verdict; what the kernel did (observed, attempts, figures) is never touched.
import type { Cell } from '../dsl/expand.js';
import { expectationFor } from '../dsl/expand.js';
import type { LoadedScenario } from '../dsl/load.js';
import { formatOutcome } from '../dsl/vocabulary.js';
import { type Verdict, verdictAgainst } from '../outcome/verdict.js';
import { runKernelVersion } from './claims.js';
import type { RunResults } from './results-json.js';

export interface Rejudged {
  kernel: string;
  id: string;
  from: { expected: string; verdict: Verdict };
  to: { expected: string; verdict: Verdict };
}

/**
 * Re-judges every cell whose scenario is still loaded; returns the new run and what changed.
 * A cell no scenario expands to any more is kept as it was and named in `gone`.
 */
export function rediff(
  run: RunResults,
  scenarios: LoadedScenario[],
): {
  run: RunResults;
  changed: Rejudged[];
  gone: string[];
} {
  const byId = new Map<string, Cell>(scenarios.flatMap((s) => s.cells.map((c) => [c.id, c] as const)));
  const changed: Rejudged[] = [];
  const gone: string[] = [];
  const cells = run.cells.map((cell) => {
    const now = byId.get(cell.id);
    if (!now) {
      gone.push(`${cell.kernel}/${cell.id}`);
      return cell;
    }
    const kernel = run.kernels.find((k) => k.id === cell.kernel);
    const e = expectationFor(now, runKernelVersion(kernel), kernel?.config);
    const expected = formatOutcome(e);
    const verdict = verdictAgainst(cell, e);
    const before = formatOutcome(cell.expected);
    if (expected === before && verdict === cell.verdict && e.reason === cell.expected.reason) return cell;
    if (expected !== before || verdict !== cell.verdict)
      changed.push({
        kernel: cell.kernel,
        id: cell.id,
        from: { expected: before, verdict: cell.verdict },
        to: { expected, verdict },
      });
    return { ...cell, expected: { outcome: e.outcome, stage: e.stage, reason: e.reason }, verdict };
  });
  return { run: { ...run, cells }, changed, gone };
}

export function renderRediff(changed: Rejudged[], gone: string[]): string {
  const lines = changed.map(
    (c) => `  ${c.kernel}/${c.id}: expected ${c.from.expected} → ${c.to.expected}, ${c.from.verdict} → ${c.to.verdict}`,
  );
  const head = `rediff: ${changed.length} cell(s) judged differently against the scenarios as they are now`;
  const tail = gone.length ? [`  ${gone.length} cell(s) no scenario has any more, kept as they were`] : [];
  return `${[head, ...lines, ...tail].join('\n')}\n`;
}
