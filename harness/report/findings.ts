// Cross-kernel differences grouped into findings: one per (scenario family, outcome before →
// after, first kernel that changed), listing the cells it covers, so forty changed cells read
// as the few facts they are. Cells a kernel did not run are counted apart: absence is no change.
import type { KernelDiff } from './cross-kernel.js';

export interface Finding {
  /** the scenario name up to its first '-': token-queue, token-self → token */
  family: string;
  before: string;
  after: string;
  firstChange: string;
  cells: string[];
  /** provenance that differs between the last kernel before and the first after, all cells' */
  provenanceNotes: string[];
}

const NOT_RUN = '-';

export function familyOf(cellId: string): string {
  return (cellId.split('/')[0] ?? '').split('-')[0] ?? '';
}

/** The outcome on the kernel before the first change and on the first changed kernel. */
function transition(d: KernelDiff): { before: string; after: string } {
  const i = d.outcomes.findIndex((o) => o.kernel === d.firstChange);
  return { before: d.outcomes[i - 1]?.outcome ?? NOT_RUN, after: d.outcomes[i]?.outcome ?? NOT_RUN };
}

export function groupFindings(diffs: KernelDiff[]): { findings: Finding[]; notRunEverywhere: number } {
  const groups = new Map<string, Finding>();
  let notRunEverywhere = 0;
  for (const d of diffs) {
    const { before, after } = transition(d);
    if (before === NOT_RUN || after === NOT_RUN) {
      notRunEverywhere++;
      continue;
    }
    const family = familyOf(d.id);
    const key = [family, before, after, d.firstChange].join('\u0000');
    const f = groups.get(key) ?? { family, before, after, firstChange: d.firstChange, cells: [], provenanceNotes: [] };
    f.cells.push(d.id);
    for (const n of d.provenanceNotes) if (!f.provenanceNotes.includes(n)) f.provenanceNotes.push(n);
    groups.set(key, f);
  }
  const findings = [...groups.values()].sort((a, b) => b.cells.length - a.cells.length);
  return { findings, notRunEverywhere };
}

/** One line a finding, its cells after it (at most `shown` of them); `quote` shows a cell id or
 * a provenance note in the target format (Markdown fences them). */
export function findingLines(findings: Finding[], shown = 6, quote = (text: string) => text): string[] {
  return findings.map((f, i) => {
    const listed = f.cells.slice(0, shown).map((c) => quote(c));
    const cells = listed.join(', ') + (f.cells.length > shown ? `, … ${f.cells.length - shown} more` : '');
    const notes = f.provenanceNotes.length
      ? ` [provenance differs: ${f.provenanceNotes.map((n) => quote(n)).join('; ')}]`
      : '';
    return `${i + 1}. ${quote(f.family)}: ${f.before} → ${f.after} from ${f.firstChange} (${f.cells.length} cell(s): ${cells})${notes}`;
  });
}
