// Learn mode (`matrix --update-expected`), snapshot style: the observed outcomes of mismatching
// cells go into <scenario dir>/learned/<scenario>.json as rules pinned to those cells, ahead of
// the scenario's own rules, each with a reason placeholder. Nothing is edited silently: the files
// are named on the terminal, and `npm test` fails while a placeholder remains.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { majorMinor } from '../version.js';
import { writeFileAtomic } from '../write-atomic.js';
import type { ExpectRule } from './scenario.js';
import { formatOutcome } from './vocabulary.js';

/** What learn mode reads of a finished cell (a results.json cell has all of it). */
export interface LearnableCell {
  id: string;
  kernel: string;
  scenario: string;
  verdict: string;
  observed: { outcome: string; stage: string } | null;
  expected: { outcome: string; stage: string; reason: string };
}

export const REVIEW_PLACEHOLDER = 'TODO(review):';

export interface LearnedFile {
  scenario: string;
  rules: ExpectRule[];
}

export function learnedPath(scenarioDir: string, scenario: string): string {
  return path.join(scenarioDir, 'learned', `${scenario}.json`);
}

export function readLearned(scenarioDir: string, scenario: string): ExpectRule[] {
  const file = learnedPath(scenarioDir, scenario);
  if (!existsSync(file)) return [];
  return (JSON.parse(readFileSync(file, 'utf8')) as LearnedFile).rules;
}

/**
 * Writes a learned rule for every mismatching cell of the run (a cell already learned is
 * replaced). Returns one line per rule written, for the terminal.
 */
export function learnFromRun(
  cells: LearnableCell[],
  kernels: { id: string; release: string }[],
  runId: string,
  scenarioDir: string,
): string[] {
  const lines: string[] = [];
  const byScenario = new Map<string, LearnableCell[]>();
  for (const c of cells.filter((x) => x.verdict === 'mismatch' && x.observed)) {
    byScenario.set(c.scenario, [...(byScenario.get(c.scenario) ?? []), c]);
  }
  for (const [scenario, mismatches] of byScenario) {
    const fresh: ExpectRule[] = [];
    for (const id of [...new Set(mismatches.map((c) => c.id))]) {
      const seen = mismatches.filter((c) => c.id === id);
      const outcomes = [...new Set(seen.map((c) => formatOutcome(c.observed as { outcome: string; stage: string })))];
      for (const c of seen) {
        const outcome = formatOutcome(c.observed as { outcome: string; stage: string });
        if (fresh.some((r) => r.when?.cells?.includes(id) && r.outcome === outcome)) continue;
        const release = kernels.find((k) => k.id === c.kernel)?.release ?? c.kernel;
        fresh.push({
          when: { cells: [id] },
          outcome,
          // kernels that disagree: the rule holds from the kernel it was seen on (newest first)
          ...(outcomes.length > 1 ? { since: majorMinor(release) } : {}),
          reason: `${REVIEW_PLACEHOLDER} why does the kernel give ${outcome} here? (seen on ${c.kernel} ${release}, run ${runId}; the scenario expected ${formatOutcome(c.expected)} because: ${c.expected.reason})`,
        });
        lines.push(`${learnedPath(scenarioDir, scenario)}: ${id}: ${formatOutcome(c.expected)} → ${outcome}`);
      }
    }
    const kept = readLearned(scenarioDir, scenario).filter(
      (r) => !r.when?.cells?.some((id) => fresh.some((f) => f.when?.cells?.includes(id))),
    );
    const rules = [...fresh, ...kept].sort((a, b) =>
      (b.since ?? '').localeCompare(a.since ?? '', undefined, { numeric: true }),
    );
    mkdirSync(path.join(scenarioDir, 'learned'), { recursive: true });
    writeFileAtomic(
      learnedPath(scenarioDir, scenario),
      `${JSON.stringify({ scenario, rules } satisfies LearnedFile, null, 2)}\n`,
    );
  }
  return lines;
}

/** Learned rules still waiting for a reviewer's reason, as messages. */
export function pendingReviews(loaded: { file: string; scenario: { expect: ExpectRule[] } }[]): string[] {
  return loaded.flatMap((l) =>
    l.scenario.expect.flatMap((r, i) =>
      r.reason.startsWith(REVIEW_PLACEHOLDER)
        ? [
            `${l.file}: expect[${i}] (${r.when?.cells?.join(', ') ?? '?'} → ${r.outcome}): the learned expectation needs a reason`,
          ]
        : [],
    ),
  );
}
