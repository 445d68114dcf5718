// A rule's reason (or a claim of the talk) against what the kernel itself asked: where a cell
// failed on a capability check, the capabilities its reason names should be among the ones the
// kernel denied. One that names CAP_PERFMON where the kernel denied CAP_SYS_ADMIN is flagged,
// per kernel, for someone to read again.

import { decisiveDenials } from '../guest/cap-askers.js';
import type { CellResult } from '../outcome/verdict.js';

/** The capabilities a text names (CAP_X words), in order, once each. */
export function namedCaps(text: string): string[] {
  return [...new Set(text.match(/\bCAP_[A-Z_]+\b/g) ?? [])];
}

/** Why `text` does not say what the kernel denied in this cell refused EPERM or EACCES, or null
 * (it does, the cell was not refused so, its checks were not recorded, or no check decided it). */
export function reasonVsKernel(text: string, cell: Pick<CellResult, 'observed' | 'capChecks'>): string | null {
  // a permission refusal: an EINVAL (a helper the kernel lacks) is not a check's answer, and a
  // denial beside it (libbpf's memlock bump wanting CAP_SYS_RESOURCE) decided nothing
  if (!cell.capChecks || !cell.observed || !['EPERM', 'EACCES'].includes(cell.observed.outcome)) return null;
  const named = namedCaps(text);
  const denied = decisiveDenials(cell.capChecks);
  if (!named.length || !denied.size || named.some((c) => denied.has(c))) return null;
  const said = [...denied].map(([cap, by]) => `${cap} (${by})`).join(', ');
  return `names ${named.join(', ')}; the kernel denied ${said}`;
}

export interface RuleFinding {
  kernel: string;
  scenario: string;
  reason: string;
  /** What the kernel denied instead, from the first cell. */
  why: string;
  cells: string[];
}

/** Each rule (by scenario and reason) whose failing cells' denials it does not name, per kernel. */
export function ruleFindings(cells: CellResult[]): RuleFinding[] {
  const found = new Map<string, RuleFinding>();
  for (const c of cells) {
    if (c.verdict !== 'match') continue;
    const why = reasonVsKernel(c.expected.reason, c);
    if (!why) continue;
    const key = `${c.kernel}\n${c.scenario}\n${c.expected.reason}`;
    const f = found.get(key) ?? { kernel: c.kernel, scenario: c.scenario, reason: c.expected.reason, why, cells: [] };
    f.cells.push(c.id);
    found.set(key, f);
  }
  return [...found.values()];
}
