// The words every report uses for a cell and for a run's verdicts, so the terminal, Markdown,
// HTML and JUnit say the same thing the same way.
import { formatOutcome } from '../dsl/vocabulary.js';
import { type CellResult, countVerdicts } from '../outcome/verdict.js';

/** What a cell showed: "ok", "EPERM@probe", "flaky: ok / EACCES@run" or "infra-error: kernel-panic". */
export function shownOutcome(c: CellResult): string {
  if (c.verdict === 'flaky') return `flaky: ${(c.attempts ?? []).map((a) => a.outcome).join(' / ')}`;
  if (!c.observed) return `infra-error: ${c.infraKind ?? '?'}`;
  return formatOutcome(c.observed);
}

/** The shown outcome, with what was expected when it is a mismatch. */
export function cellLabel(c: CellResult): string {
  return c.verdict === 'mismatch' ? `${shownOutcome(c)} ≠ ${formatOutcome(c.expected)}` : shownOutcome(c);
}

/** "3 match, 1 mismatch, 0 flaky, 0 infra-error"; `wrap` marks up each count (bold, say). */
export function verdictCounts(cells: CellResult[], wrap = (n: number) => String(n)): string {
  const n = countVerdicts(cells);
  return `${wrap(n.match)} match, ${wrap(n.mismatch)} mismatch, ${wrap(n.flaky)} flaky, ${wrap(n['infra-error'])} infra-error`;
}
