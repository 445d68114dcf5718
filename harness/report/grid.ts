// The terminal grid: per kernel and scenario, capability sets × sysctl values, coloured by verdict.

import { styleText } from 'node:util';
import { formatOutcome } from '../dsl/vocabulary.js';
import { EXIT } from '../exit-codes.js';
import { type CellResult, countVerdicts } from '../outcome/verdict.js';
import { cellLabel, verdictCounts } from './cell-label.js';
import { textTable } from './grid-layout.js';
import { kernelChecksLine } from './kernel-checks.js';
import type { RunResults } from './results-json.js';
import { terminalText } from './untrusted-text.js';

const COLOUR = { match: 'green', mismatch: 'red', flaky: 'magenta', 'infra-error': 'yellow' } as const;

/** Colour on a terminal, unless NO_COLOR is set; FORCE_COLOR turns it on anywhere (no-color.org). */
export function wantColour(stream: { isTTY?: boolean } = process.stdout, env = process.env): boolean {
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0') return true;
  if (env.NO_COLOR) return false;
  return stream.isTTY ?? false;
}

export function renderGrid(cells: CellResult[], colour = wantColour()): string {
  const paint = (text: string, c: CellResult) => (colour ? styleText(COLOUR[c.verdict], text) : text);
  const out: string[] = [];
  const groups = new Map<string, CellResult[]>();
  for (const c of cells) {
    const key = `${c.kernel}  ${c.scenario}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const [title, group] of groups) {
    const who =
      group[0]?.context === 'userns'
        ? 'root parent, uid 65534 child in a user namespace'
        : group[0]?.context === 'container'
          ? "root parent; rootless container of uid 65534: the runtime's default capabilities + --cap-add"
          : group.some((c) => (c.grant ?? 'file') !== 'file')
            ? 'uid 65534 with file capabilities; GRANT:SET another grant (docs/scenarios.md); root = uid 0'
            : 'uid 65534 with file capabilities; root = uid 0';
    out.push(`${title}  (${who})`);
    out.push(...textTable(group, cellLabel, paint));
    out.push('');
  }
  out.push(`${cells.length} cells: ${verdictCounts(cells)}`);
  for (const c of cells.filter((x) => x.verdict !== 'match')) {
    const kind = c.infraKind ? ` (${c.infraKind})` : '';
    const tries = c.attempts ? `; attempts: ${c.attempts.map((a) => `${a.boot} ${a.outcome}`).join(', ')}` : '';
    out.push(
      `  ${c.verdict}${kind} ${c.kernel} ${c.id}: observed ${c.observed ? formatOutcome(c.observed) : '-'}, expected ${formatOutcome(c.expected)}${tries}`,
    );
    const indent = '      ';
    out.push(`${indent}${terminalText(c.infraError ?? c.observed?.detail ?? '', indent)}`);
    const checks = kernelChecksLine(c);
    if (checks) out.push(`${indent}${terminalText(checks, indent)}`);
  }
  return out.join('\n');
}

export function exitCodeFor(cells: CellResult[]): number {
  if (cells.some((c) => c.verdict === 'infra-error')) return EXIT.infra;
  if (cells.some((c) => c.verdict === 'mismatch' || c.verdict === 'flaky')) return EXIT.findings;
  return EXIT.ok;
}

/** `matrix --json`: what a script needs to know of a run without reading results.json. */
export function runSummary(runDir: string, run: RunResults, exitCode: number) {
  return {
    runId: run.runId,
    results: `${runDir}/results.json`,
    exitCode,
    kernels: run.kernels.map((k) => ({ id: k.id, release: k.release, accel: k.accel })),
    verdicts: countVerdicts(run.cells),
    notMatching: run.cells
      .filter((c) => c.verdict !== 'match')
      .map((c) => ({
        kernel: c.kernel,
        id: c.id,
        verdict: c.verdict,
        observed: c.observed ? formatOutcome(c.observed) : null,
        expected: formatOutcome(c.expected),
        ...(c.infraKind ? { infraKind: c.infraKind } : {}),
      })),
  };
}
