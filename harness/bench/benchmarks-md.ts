// BENCHMARKS.md as `npm run bench` keeps it: the latest figures in one table at the top (replaced
// by every bench run), and below it the history, to which every run appends its dated entry.
// Pure text in, text out, so the shape is tested without booting anything.

export const CURRENT_START = '<!-- current figures: written by `npm run bench`, replaced by the next run -->';
export const CURRENT_END = '<!-- end of current figures -->';
export const HISTORY_HEADING = '## History';

/** What the table at the top holds: where and when it was measured, and one row per figure. */
export interface CurrentFigures {
  /** `2026-12-04 18:18 UTC` */
  when: string;
  commit: string;
  /** cores, memory, accel, --jobs, repeats */
  machine: string;
  rows: [figure: string, value: string][];
}

export function currentFiguresTable(f: CurrentFigures): string {
  return [
    CURRENT_START,
    `Measured ${f.when} at commit ${f.commit}; ${f.machine}. Its dated entry under "History" has the per-step table.`,
    '',
    '| figure | value |',
    '|---|---|',
    ...f.rows.map(([k, v]) => `| ${k} | ${v} |`),
    CURRENT_END,
  ].join('\n');
}

const FRESH_INTRO =
  "# Benchmarks\n\n`npm run bench` writes the current figures at the top and appends its dated entry under History. Harness overhead is the guest agent's time per cell outside the sample (sysctls, the cell's directory and cgroup, the reset check and the fingerprint after it). The floor is booting to init plus the samples' own exec times, spread over the parallel VMs.\n";

/**
 * BENCHMARKS.md after a bench run: `current` (from `currentFiguresTable`) replaces the table between
 * the markers, or goes in front of the history when there is none yet; `entry` (a `### …` section)
 * is appended at the end. Everything else, hand-written notes included, stays as it was.
 */
export function updateBenchmarks(existing: string | undefined, current: string, entry: string): string {
  let text =
    existing ?? `${FRESH_INTRO}\n## Current figures\n\n${CURRENT_START}\n${CURRENT_END}\n\n${HISTORY_HEADING}\n`;
  const start = text.indexOf(CURRENT_START);
  const end = text.indexOf(CURRENT_END);
  if (start >= 0 && end > start) {
    text = `${text.slice(0, start)}${current}${text.slice(end + CURRENT_END.length)}`;
  } else {
    const history = text.indexOf(`\n${HISTORY_HEADING}\n`);
    const at = history >= 0 ? history + 1 : text.length;
    const head = text.slice(0, at).replace(/\n*$/, '\n\n');
    const tail = history >= 0 ? text.slice(at) : `${HISTORY_HEADING}\n`;
    text = `${head}## Current figures\n\n${current}\n\n${tail}`;
  }
  return `${text.replace(/\n*$/, '\n')}\n${entry.replace(/\n*$/, '\n')}`;
}
