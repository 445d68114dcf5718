// `capmatrix report`: what changed between the kernels of a run, and against baselines. A
// baseline that does not exist is a warning that names it; a cell or a kernel that vanished from
// the run is a difference, never "0 moved".
import { existsSync } from 'node:fs';
import path from 'node:path';
import { compareRuns, crossKernelDiffs, kernelOrder } from './cross-kernel.js';
import { findingLines, groupFindings } from './findings.js';
import { type RunResults, readResults } from './results-json.js';
import { terminalLine } from './untrusted-text.js';

export interface Comparison {
  text: string;
  /** Cells that moved or vanished against the baselines. */
  moved: number;
  /** Baseline files that do not exist. */
  missing: string[];
}

/** Provenance notes carry what the guest reported: shown as terminal-safe text. */
const shownNotes = (notes: string[]) => notes.map((n) => terminalLine(n)).join('; ');

function kernelLines(run: RunResults): string[] {
  const diffs = crossKernelDiffs(run);
  if (!diffs.length) return [];
  const order = kernelOrder(run)
    .map((k) => k.id)
    .join(' → ');
  const { findings, notRunEverywhere } = groupFindings(diffs);
  return [
    '',
    `${findings.length} finding(s) from ${diffs.length} cell(s) that differ between kernels (${order}):`,
    ...findingLines(findings, 6, (text) => terminalLine(text)).map((l) => `  ${l}`),
    ...(notRunEverywhere ? [`  (${notRunEverywhere} cell(s) were not run on every kernel: no finding)`] : []),
    '',
    'cell by cell:',
    ...diffs.map((d) => {
      const notes = d.provenanceNotes.length ? `  [provenance: ${shownNotes(d.provenanceNotes)}]` : '';
      return `  ${d.id}: ${d.outcomes.map((o) => `${o.kernel} ${o.outcome}`).join(', ')}; first change at ${d.firstChange}${notes}`;
    }),
  ];
}

export function compareWith(run: RunResults, files: string[], relativeTo: string): Comparison {
  const lines = kernelLines(run);
  const missing: string[] = [];
  let moved = 0;
  for (const file of files) {
    const shown = path.relative(relativeTo, file);
    if (!existsSync(file)) {
      missing.push(file);
      lines.push('', `warning: no baseline ${shown}: its kernel was not compared`);
      continue;
    }
    const base = readResults(file);
    const changes = compareRuns(base, run);
    moved += changes.length;
    lines.push('', `against ${shown} (run ${base.runId}): ${changes.length} cell(s) moved or vanished`);
    for (const c of changes) {
      const notes = c.provenanceNotes.length ? `  [${shownNotes(c.provenanceNotes)}]` : '';
      lines.push(`  ${c.kernel} ${c.id}: ${c.baseline} → ${c.current}${notes}`);
    }
  }
  return { text: `${lines.join('\n')}\n`, moved, missing };
}
