// The action's summary step: `capmatrix report` of what the run left (the action's own
// capmatrix, which reads results.json and minimize.json alike) writes the job summary once; a
// matrix run is compared with the project's baselines/ when it has them, and gets its bundle.
// Outputs `exit-code` and `junit` (a matrix run's junit.xml).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { appendStepSummary } from '../report/write-reports.js';
import { actionBin } from './capmatrix-bin.js';
import { commandLine } from './command-line.js';
import { readInputs } from './inputs.js';
import { runCommand } from './spawn.js';
import { setOutput } from './step-io.js';

const KEEP = ['CAPMATRIX_DEBIAN_MIRROR', 'CAPMATRIX_CACHE', 'GITHUB_STEP_SUMMARY'];

/** `report` of a run's results.json: with its bundle, against the baselines when there are some. */
function reportArgs(file: string): string[] {
  if (path.basename(file) !== 'results.json') return ['report', '--results', file];
  const dir = path.dirname(file);
  const compare = existsSync('baselines') ? ['--compare', 'baselines'] : [];
  return ['report', '--results', file, '--bundle', path.join(dir, 'bundle.tar.gz'), ...compare];
}

function main(): number {
  const file = process.env.RESULTS_FILE ?? '';
  if (!file) {
    const why = `capmatrix left no results (exit code ${process.env.RUN_EXIT || 'none'}): its log says why`;
    appendStepSummary(`## capmatrix\n\n${why}\n`);
    process.stderr.write(`capmatrix action: ${why}\n`);
    return EXIT.ok;
  }
  const command = commandLine(actionBin(), reportArgs(file), {
    sudo: readInputs().sudo,
    keep: KEEP,
    path: process.env.PATH ?? '',
  });
  const code = runCommand(command, process.env);
  if (path.basename(file) === 'results.json') setOutput('junit', path.join(path.dirname(file), 'junit.xml'));
  return code;
}

setOutput('exit-code', String(main()));
