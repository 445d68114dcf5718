// Where how the capabilities were granted changes the answer: each ambient cell against the file
// cell of the same kernel, scenario, set and settings (axes.grant). A loader that execs a helper
// passes ambient capabilities on and file capabilities not, say; the report names such a pair.
import { formatOutcome } from '../dsl/vocabulary.js';
import type { CellResult } from '../outcome/verdict.js';

export interface GrantDiff {
  kernel: string;
  file: CellResult;
  ambient: CellResult;
}

/** The file cell an ambient cell is measured against: its id without the grant. */
const fileIdOf = (ambientId: string) => ambientId.replace('/ambient:', '/');

/** Every pair of observed cells that differ only in their grant, and those whose outcomes differ. */
export function grantDiffs(cells: readonly CellResult[]): { pairs: number; diffs: GrantDiff[] } {
  const byKey = new Map(cells.map((c) => [`${c.kernel}\0${c.id}`, c]));
  let pairs = 0;
  const diffs: GrantDiff[] = [];
  for (const ambient of cells) {
    if (ambient.grant !== 'ambient' || !ambient.observed) continue;
    const file = byKey.get(`${ambient.kernel}\0${fileIdOf(ambient.id)}`);
    if (!file?.observed) continue;
    pairs++;
    if (formatOutcome(file.observed) !== formatOutcome(ambient.observed))
      diffs.push({ kernel: ambient.kernel, file, ambient });
  }
  return { pairs, diffs };
}
