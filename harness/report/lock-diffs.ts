// What a lock changes, kernel by kernel: each cell under a lockdown level against the same cell
// with none (axes.lockdown), under a memlock limit against the same cell unlimited
// (axes.memlock), and each cell of another grant against its file cell (axes.grant), grouped by
// scenario, lock and change, with the kernel ranges where the change holds.
import { formatOutcome } from '../dsl/vocabulary.js';
import type { CellResult } from '../outcome/verdict.js';
import { type KernelRange, rangesOf } from './kernel-ranges.js';

export interface LockDiff {
  scenario: string;
  /** `lockdown=integrity`, `memlock=64k`, or a grant (`ambient`, `rootful`, …). */
  lock: string;
  /** The outcome without the lock, and with it. */
  from: string;
  to: string;
  /** The capability sets it holds for. */
  sets: string[];
  ranges: KernelRange[];
}

/** The cell a locked cell is measured against (none: no such pair), and the lock's name. */
function unlocked(c: CellResult): { id: string; lock: string } | null {
  if (c.lockdown && c.lockdown !== 'none')
    return { id: c.id.replace(`lockdown=${c.lockdown}`, 'lockdown=none'), lock: `lockdown=${c.lockdown}` };
  if (c.memlock && c.memlock !== 'unlimited')
    return { id: c.id.replace(`memlock=${c.memlock}`, 'memlock=unlimited'), lock: `memlock=${c.memlock}` };
  if (c.grant && c.grant !== 'file') return { id: c.id.replace(`/${c.grant}:`, '/'), lock: c.grant };
  return null;
}

/** Every change a lock makes, over `kernels` (oldest first). */
export function lockDiffs(cells: readonly CellResult[], kernels: { id: string; release: string }[]): LockDiff[] {
  const order = kernels.map((k) => k.id);
  const release = new Map(kernels.map((k) => [k.id, k.release]));
  const byKey = new Map(cells.map((c) => [`${c.kernel}\0${c.id}`, c]));
  const groups = new Map<string, Omit<LockDiff, 'ranges'> & { kernels: Set<string> }>();
  for (const c of cells) {
    const pair = unlocked(c);
    const base = pair && byKey.get(`${c.kernel}\0${pair.id}`);
    if (!pair || !base?.observed || !c.observed) continue;
    const [from, to] = [formatOutcome(base.observed), formatOutcome(c.observed)];
    if (from === to) continue;
    const key = [c.scenario, pair.lock, from, to].join('\0');
    const g = groups.get(key) ?? { scenario: c.scenario, lock: pair.lock, from, to, sets: [], kernels: new Set() };
    if (!g.sets.includes(base.capsName)) g.sets.push(base.capsName);
    g.kernels.add(c.kernel);
    groups.set(key, g);
  }
  return [...groups.values()].map(({ kernels, ...g }) => ({ ...g, ranges: rangesOf(kernels, order, release) }));
}
