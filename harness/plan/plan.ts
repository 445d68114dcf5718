// Cells → boots. One boot per kernel runs all its cells; within a boot the
// unprivileged_bpf_disabled phases go 0 → 2 → 1, because 1 cannot be undone until reboot.
// Cells that leave the sysctl alone run first, so they see the kernel's boot default.
import { type Cell, expectationFor } from '../dsl/expand.js';
import { ubdPhaseRank } from '../dsl/sysctls.js';
import type { Expected } from '../dsl/vocabulary.js';
import { kernelConfig } from '../kernels/kernel-config.js';
import type { KernelInfo } from '../kernels/kernel-info.js';

export interface PlannedCell extends Cell {
  kernel: string;
  expected: Expected;
}

/** `<kernel>/<cell id>#<rep>`: names one run in the guest's records and in attempts. */
export function runKey(kernel: string, cellId: string, rep: number): string {
  return `${kernel}/${cellId}#${rep}`;
}

/** One of the `repeat` runs of a cell; `key` names it in the guest's records and in attempts. */
export interface PlannedRun {
  cell: PlannedCell;
  rep: number;
  key: string;
}

export interface Boot {
  /** e.g. debian-6.12-boot1 */
  id: string;
  kernel: KernelInfo;
  cells: PlannedCell[];
  /** Its own kernel command line arguments (`lockdown=integrity`: axes.lockdown). */
  kernelArgs?: string[];
}

function phaseRank(c: Cell): number {
  const v = c.sysctl['kernel.unprivileged_bpf_disabled'];
  return v === undefined ? -1 : ubdPhaseRank(v);
}

/** The boot a cell goes to: capmatrix's own programs share one; a scenario that asks for
 * isolation, and (unless the user vouches for them: `shareBoots`) each program of the user's,
 * get one of their own, so that a program that takes over its guest decides only its own cells. */
function bootKey(c: Cell, shareBoots: boolean): string | null {
  const key = c.isolate ? c.scenario : shareBoots ? null : c.trustDomain;
  // a lockdown level is the boot's (its command line): cells of another level cannot share it
  const level = c.lockdown && c.lockdown !== 'none' ? `lockdown-${c.lockdown}` : null;
  return [key, level].filter(Boolean).join('-') || null;
}

/** The boot's own command line for its cells' lockdown level (one level a boot: bootKey). */
const argsOf = (cells: Cell[]): string[] => {
  const level = cells.find((c) => c.lockdown && c.lockdown !== 'none')?.lockdown;
  return level ? [`lockdown=${level}`] : [];
};

/** A boot is split only when each part keeps at least this many cells: a boot costs ~8 s under
 * TCG, about as much as 60 cells. */
export const MIN_CELLS_PER_PART = 100;

/** The boot's cells in the units a split keeps together: a run of consecutive cells of one
 * scenario whose setup covers the run (setupScope 'group'), or a single cell. */
function unitsOf(cells: PlannedCell[]): PlannedCell[][] {
  const units: PlannedCell[][] = [];
  for (const c of cells) {
    const last = units.at(-1);
    const prev = last?.at(-1);
    if (last && prev && c.setupScope === 'group' && prev.setupScope === 'group' && prev.scenario === c.scenario)
      last.push(c);
    else units.push([c]);
  }
  return units;
}

/** The boot in `k` parts: each unit (unitsOf) in order to the part with the fewest cells yet, so
 * each part keeps the phase order and a mix of the scenarios, and a group's setup runs once per
 * part rather than once per cell or two. */
function split(boot: Boot, k: number): Boot[] {
  const parts: PlannedCell[][] = Array.from({ length: k }, () => []);
  for (const unit of unitsOf(boot.cells)) {
    const smallest = parts.reduce((min, p) => (p.length < min.length ? p : min));
    smallest.push(...unit);
  }
  return parts.map((cells, r) => ({ ...boot, ...(r ? { id: `${boot.id}-part${r + 1}` } : {}), cells }));
}

/** While fewer boots than VMs run at once, the boot with the most cells a part gets one part
 * more (one kernel on two cores runs in two guests at once, each booted afresh: nothing passes
 * between them). */
function spread(boots: Boot[], vms: number): Boot[] {
  const parts = boots.map(() => 1);
  for (let total = boots.length; total < vms; total++) {
    const perPart = boots.map((b, i) => b.cells.length / ((parts[i] ?? 1) + 1));
    const i = perPart.indexOf(Math.max(...perPart));
    if (i < 0 || (perPart[i] ?? 0) < MIN_CELLS_PER_PART) break;
    parts[i] = (parts[i] ?? 1) + 1;
  }
  return boots.flatMap((b, i) => split(b, parts[i] ?? 1));
}

/**
 * One boot per kernel for every cell that shares, and one per kernel for each scenario that
 * must not share (bootKey), split further while fewer boots than `vms` (spread);
 * `bootPerCell` is the naive way (one boot per cell), kept for the benchmark.
 */
export function planBoots(
  cells: Cell[],
  kernels: KernelInfo[],
  o: { bootPerCell?: boolean; shareBoots?: boolean; vms?: number } = {},
): Boot[] {
  return spread(perKernel(cells, kernels, o), o.bootPerCell ? 0 : (o.vms ?? 1));
}

function perKernel(cells: Cell[], kernels: KernelInfo[], o: { bootPerCell?: boolean; shareBoots?: boolean }): Boot[] {
  return kernels.flatMap((kernel) => {
    const config = kernelConfig(kernel);
    const planned = cells
      .map((cell, order) => ({ cell, order }))
      .sort((a, b) => phaseRank(a.cell) - phaseRank(b.cell) || a.order - b.order)
      .map(({ cell }) => ({ ...cell, kernel: kernel.id, expected: expectationFor(cell, kernel.version, config) }));
    if (o.bootPerCell) return planned.map((c, i) => ({ id: `${kernel.id}-cell${i + 1}`, kernel, cells: [c] }));
    const keyOf = (c: PlannedCell) => bootKey(c, o.shareBoots ?? false);
    const shared = planned.filter((c) => keyOf(c) === null);
    const boots: Boot[] = shared.length ? [{ id: `${kernel.id}-boot1`, kernel, cells: shared }] : [];
    for (const key of new Set(planned.map(keyOf).filter((k) => k !== null))) {
      const mine = planned.filter((c) => keyOf(c) === key);
      const args = argsOf(mine);
      boots.push({ id: `${kernel.id}-${key}`, kernel, cells: mine, ...(args.length ? { kernelArgs: args } : {}) });
    }
    return boots;
  });
}

/** A boot's runs: each cell `repeat` times in a row (so the sysctl phase order still holds). */
export function runsOf(cells: PlannedCell[], repeat = 1): PlannedRun[] {
  return cells.flatMap((cell) =>
    Array.from({ length: repeat }, (_, i) => ({ cell, rep: i + 1, key: runKey(cell.kernel, cell.id, i + 1) })),
  );
}

/** Throws if a boot would have to lower unprivileged_bpf_disabled after setting it to 1. */
export function checkPhaseOrder(boot: Boot): void {
  let locked = false;
  for (const c of boot.cells) {
    const v = c.sysctl['kernel.unprivileged_bpf_disabled'];
    if (locked && v !== undefined && v !== 1) {
      throw new Error(`${boot.id}: cell ${c.id} needs unprivileged_bpf_disabled=${v} after 1 was set in this boot`);
    }
    if (v === 1) locked = true;
  }
}
