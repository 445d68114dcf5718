// The shape every report shares: capability sets down, settings (sysctls, a lockdown level)
// across, one cell each.
import { settingsLabel } from '../dsl/cell-id.js';
import type { Lockdown, Memlock } from '../dsl/choices.js';
import type { SysctlName } from '../dsl/sysctls.js';

interface Placed {
  capsName: string;
  sysctl: Partial<Record<SysctlName, number>>;
  lockdown?: Lockdown;
  memlock?: Memlock;
}

export interface GridLayout<C> {
  rows: string[];
  cols: string[];
  at(row: string, col: string): C | undefined;
}

const colOf = (c: Placed) => settingsLabel(c.sysctl, c.lockdown, c.memlock) || 'default';

export function gridLayout<C extends Placed>(cells: C[]): GridLayout<C> {
  return {
    rows: [...new Set(cells.map((c) => c.capsName))],
    cols: [...new Set(cells.map(colOf))],
    at: (row, col) => cells.find((c) => c.capsName === row && colOf(c) === col),
  };
}

/** A padded plain-text table; `paint` may colour a padded cell (after padding, so widths hold). */
export function textTable<C extends Placed>(
  cells: C[],
  text: (c: C) => string,
  paint: (padded: string, c: C) => string = (s) => s,
): string[] {
  const g = gridLayout(cells);
  const w0 = Math.max(8, ...g.rows.map((r) => r.length));
  const widths = g.cols.map((k) =>
    Math.max(
      k.length,
      ...g.rows.map((r) => {
        const c = g.at(r, k);
        return c ? text(c).length : 1;
      }),
    ),
  );
  const lines = [`  ${'caps'.padEnd(w0)}  ${g.cols.map((k, i) => k.padEnd(widths[i] ?? 0)).join('  ')}`];
  for (const r of g.rows) {
    const tds = g.cols.map((k, i) => {
      const c = g.at(r, k);
      return c ? paint(text(c).padEnd(widths[i] ?? 0), c) : '-'.padEnd(widths[i] ?? 0);
    });
    lines.push(`  ${r.padEnd(w0)}  ${tds.join('  ')}`);
  }
  return lines;
}
