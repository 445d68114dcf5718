// A cell's sysctls. Every sysctl some cell of the boot sets goes back to its boot value for a
// cell that leaves it alone, except unprivileged_bpf_disabled, which the planner orders instead
// (plan/plan.ts: cells that leave it alone run before any cell changes it; 1 cannot be undone).
import fs from 'node:fs';
import { UBD } from '../dsl/sysctls.js';
import { readSysctl, sysctlPath } from './proc.js';
import type { Plan } from './protocol.js';

export type BootSysctls = Record<string, number | null>;

export function bootSysctls(plan: Plan): BootSysctls {
  const cells = [...plan.cells, ...plan.searches.map((s) => s.template)];
  const names = new Set(cells.flatMap((c) => Object.keys(c.sysctl)));
  return Object.fromEntries([...names].map((n) => [n, readSysctl(n)]));
}

/** What the agent sets for a cell: the cell's sysctls, and every other sysctl of the boot back to
 * its boot value (unprivileged_bpf_disabled only when the cell sets it). */
export function wantedSysctls(boot: BootSysctls, cell: Record<string, number | undefined>): Record<string, number> {
  const want: Record<string, number> = {};
  for (const [name, value] of Object.entries(boot)) if (value !== null && name !== UBD) want[name] = value;
  for (const [name, value] of Object.entries(cell)) if (value !== undefined) want[name] = value;
  return want;
}

/** Sets a cell's sysctls; returns an error message or null. */
export function applySysctls(boot: BootSysctls, cell: Record<string, number | undefined>): string | null {
  for (const [name, value] of Object.entries(wantedSysctls(boot, cell))) {
    if (readSysctl(name) === value) continue;
    try {
      fs.writeFileSync(sysctlPath(name), String(value));
    } catch (e) {
      return `cannot set ${name}=${value} (now ${readSysctl(name)}): ${(e as Error).message}`;
    }
    if (readSysctl(name) !== value) return `${name} reads ${readSysctl(name)} after writing ${value}`;
  }
  return null;
}

/** Every sysctl some cell of this boot sets, as it stands now. */
export function sysctlsNow(boot: BootSysctls, cell: Record<string, number | undefined>): Record<string, number | null> {
  return Object.fromEntries(Object.keys({ ...boot, ...cell }).map((k) => [k, readSysctl(k)]));
}
