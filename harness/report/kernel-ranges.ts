// Kernels in a row said as a range of series ("5.10–6.1"): minimize's answers over kernels and
// the kernel report's lock findings both say where something holds this way.
import { majorMinor } from '../version.js';

/** Kernels in a row (in the order measured) with the same answer. */
export interface KernelRange {
  /** e.g. "5.10–6.1", or "6.12" for one kernel. */
  range: string;
  kernels: string[];
}

/** Splits the kernels that hold (in `order`) into runs of neighbours, each said as a range of
 * series: a kernel not holding (or failed) between two breaks the run. */
export function rangesOf(holds: Set<string>, order: string[], release: Map<string, string>): KernelRange[] {
  const runs: string[][] = [];
  let current: string[] = [];
  for (const id of order) {
    if (holds.has(id)) current.push(id);
    else if (current.length) {
      runs.push(current);
      current = [];
    }
  }
  if (current.length) runs.push(current);
  const series = (id: string) => majorMinor(release.get(id) ?? id);
  return runs.map((kernels) => {
    const first = series(kernels[0] ?? '');
    const last = series(kernels.at(-1) ?? '');
    return { range: first === last ? first : `${first}–${last}`, kernels };
  });
}
