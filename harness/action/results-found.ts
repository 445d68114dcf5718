// What a run left in the results directory: the entry that was not there before it, and in it
// results.json (matrix) or minimize.json (minimize).
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

export const entriesOf = (dir: string): Set<string> => new Set(existsSync(dir) ? readdirSync(dir) : []);

/** The new run's answer file, or '' when the run left none (it stopped before writing it). */
export function newResultsFile(dir: string, before: Set<string>): string {
  const fresh = [...entriesOf(dir)].filter((e) => !before.has(e) && e !== 'latest').sort();
  for (const entry of fresh.reverse())
    for (const name of ['results.json', 'minimize.json']) {
      const file = path.join(dir, entry, name);
      if (existsSync(file)) return file;
    }
  return '';
}
