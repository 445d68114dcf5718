// What a run with mismatches ends with (report.md and the terminal): which cells the rules got
// wrong, and the `--update-expected` line that records them as learned rules for review. A first
// run on a kernel nobody has measured (a fork's runner kernel) is then a list to read, not a wall.
import path from 'node:path';
import { formatOutcome } from '../dsl/vocabulary.js';
import { PACKAGE_ROOT, PROJECT_DIR } from '../paths.js';
import { DEFAULT_MEMORY } from '../run/boot.js';
import type { RunResults } from './results-json.js';
import { shellWord } from './shell-word.js';
import { markdownSpan, terminalLine } from './untrusted-text.js';

export { shellWord };

/** Cells listed before "and N more". */
const SHOWN = 20;

export interface LearnHint {
  /** kernel, cell id, expected → observed */
  wrong: { kernel: string; id: string; expected: string; observed: string }[];
  /** The command that records them (learn mode writes only the mismatching cells). */
  command: string;
}

export function learnHint(run: RunResults): LearnHint | undefined {
  const wrong = run.cells
    .filter((c) => c.verdict === 'mismatch' && c.observed)
    .map((c) => ({
      kernel: c.kernel,
      id: c.id,
      expected: formatOutcome(c.expected),
      observed: c.observed ? formatOutcome(c.observed) : '-',
    }));
  if (!wrong.length) return undefined;
  const of = (pick: (c: (typeof run.cells)[number]) => string) =>
    [...new Set(run.cells.filter((c) => c.verdict === 'mismatch' && c.observed).map(pick))].join(',');
  const args = ['--kernel', of((c) => c.kernel), '--scenario', of((c) => c.scenario), ...sameSetup(run)];
  return { wrong, command: [...matrixCommand(), ...args, '--update-expected'].map(shellWord).join(' ') };
}

/** What the run was given that decides its outcomes: learning without it would record another
 * setup's (a --kernel-arg such as lockdown=, the memory, shared boots). */
function sameSetup(run: RunResults): string[] {
  const o = run.options;
  if (!o) return [];
  return [
    ...(o.scenarioDir ? ['--scenario-dir', o.scenarioDir] : []),
    ...(o.cells ? ['--cells', o.cells] : []),
    ...(o.kernelArgs ?? []).flatMap((a) => ['--kernel-arg', a]),
    ...(o.memory && o.memory !== DEFAULT_MEMORY ? ['--memory', o.memory] : []),
    ...(o.shareBoots ? ['--share-boots'] : []),
  ];
}

/** capmatrix's matrix in its own checkout (npm run matrix), else as a user's project has it. */
const matrixCommand = () =>
  path.resolve(PROJECT_DIR) === path.resolve(PACKAGE_ROOT)
    ? ['npm', 'run', 'matrix', '--']
    : ['npx', 'capmatrix', 'matrix'];

const more = (n: number) => (n > SHOWN ? [`… and ${n - SHOWN} more (results.json has them all)`] : []);

/** report.md's closing section, or nothing when every cell matched. */
export function learnHintMarkdown(run: RunResults): string[] {
  const hint = learnHint(run);
  if (!hint) return [];
  return [
    '',
    '### Cells the rules got wrong',
    '',
    ...hint.wrong
      .slice(0, SHOWN)
      .map(
        (w) =>
          `- ${markdownSpan(w.kernel)} ${markdownSpan(w.id)}: expected ${markdownSpan(w.expected)} → observed ${markdownSpan(w.observed)}`,
      ),
    ...more(hint.wrong.length).map((m) => `- ${m}`),
    '',
    'To record them as learned rules (each with a reason for a reviewer to write, under `learned/`):',
    '',
    '```sh',
    hint.command,
    '```',
  ];
}

/** The same for the terminal, after the grid. */
export function learnHintText(run: RunResults): string {
  const hint = learnHint(run);
  if (!hint) return '';
  const lines = hint.wrong
    .slice(0, SHOWN)
    .map((w) => `  ${terminalLine(w.kernel)} ${terminalLine(w.id)}: ${w.expected} → ${w.observed}`);
  return [
    `\ncells the rules got wrong (expected → observed):`,
    ...lines,
    ...more(hint.wrong.length).map((m) => `  ${m}`),
    'to record them as learned rules for review:',
    `  ${terminalLine(hint.command)}`,
    '',
  ].join('\n');
}
