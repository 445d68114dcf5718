// Where how the capabilities were granted changes the answer: each cell of another grant
// (ambient, a unit, a container, a pod) against the file cell of the same kernel, scenario, set
// and settings (axes.grant). A loader that execs a helper passes ambient capabilities on and file
// capabilities not, say; the report names such a pair.
import { formatOutcome } from '../dsl/vocabulary.js';
import type { CellResult } from '../outcome/verdict.js';

export interface GrantDiff {
  kernel: string;
  file: CellResult;
  /** The cell of the other grant. */
  other: CellResult;
}

/** The file cell another grant's cell is measured against: its id without the grant. */
const fileIdOf = (c: CellResult) => c.id.replace(`/${c.grant}:`, '/');

/** Every pair of observed cells that differ only in their grant, and those whose outcomes differ. */
export function grantDiffs(cells: readonly CellResult[]): { pairs: number; diffs: GrantDiff[] } {
  const byKey = new Map(cells.map((c) => [`${c.kernel}\0${c.id}`, c]));
  let pairs = 0;
  const diffs: GrantDiff[] = [];
  for (const other of cells) {
    if ((other.grant ?? 'file') === 'file' || !other.observed) continue;
    const file = byKey.get(`${other.kernel}\0${fileIdOf(other)}`);
    if (!file?.observed) continue;
    pairs++;
    if (formatOutcome(file.observed) !== formatOutcome(other.observed))
      diffs.push({ kernel: other.kernel, file, other });
  }
  return { pairs, diffs };
}
