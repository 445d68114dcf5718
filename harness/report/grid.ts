// The terminal grid: per kernel and scenario, capability sets × sysctl values, coloured by verdict.
import { styleText } from 'node:util';
import { formatOutcome } from '../dsl/vocabulary.js';
import type { CellResult } from '../outcome/verdict.js';
import { textTable } from './grid-layout.js';

const COLOUR = { match: 'green', mismatch: 'red', 'infra-error': 'yellow' } as const;

function cellText(c: CellResult): string {
  if (c.verdict === 'infra-error') return 'INFRA';
  const obs = c.observed ? formatOutcome(c.observed) : '?';
  return c.verdict === 'match' ? obs : `${obs} ≠ ${formatOutcome(c.expected)}`;
}

export function renderGrid(cells: CellResult[], colour = process.stdout.isTTY): string {
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
        : 'uid 65534 with file capabilities; root = uid 0';
    out.push(`${title}  (${who})`);
    out.push(...textTable(group, cellText, paint));
    out.push('');
  }
  const n = (v: CellResult['verdict']) => cells.filter((c) => c.verdict === v).length;
  out.push(`${cells.length} cells: ${n('match')} match, ${n('mismatch')} mismatch, ${n('infra-error')} infra-error`);
  for (const c of cells.filter((x) => x.verdict !== 'match')) {
    out.push(
      `  ${c.verdict} ${c.kernel} ${c.id}: observed ${c.observed ? formatOutcome(c.observed) : '-'}, expected ${formatOutcome(c.expected)}`,
    );
    out.push(`      ${c.infraError ?? c.observed?.detail ?? ''}`.slice(0, 400));
  }
  return out.join('\n');
}

export function exitCodeFor(cells: CellResult[]): 0 | 1 | 2 {
  if (cells.some((c) => c.verdict === 'infra-error')) return 2;
  if (cells.some((c) => c.verdict === 'mismatch')) return 1;
  return 0;
}
