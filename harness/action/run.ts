// The action's run step: capmatrix minimize (object or exec) or matrix, from the inputs, as an
// argument array. The step never fails by itself: it keeps the exit code (output `exit-code`)
// for the last step, so the summary, the JUnit report and the upload run first. The job
// summary is left to the summary step's `report` (once), so the run does not get the file.
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../usage-error.js';
import { capmatrixBin, capmatrixRoot } from './capmatrix-bin.js';
import { capmatrixArgs, commandLine } from './command-line.js';
import { readInputs } from './inputs.js';
import { entriesOf, newResultsFile } from './results-found.js';
import { runCommand } from './spawn.js';
import { setOutput } from './step-io.js';

/** What capmatrix under sudo keeps of the step's environment: the archives (a Debian kernel of
 * a *-security suite needs the security archive, a runner's apt names none), the kernel cache,
 * and the settings a user may give the job. */
const KEEP = [
  'CAPMATRIX_DEBIAN_MIRROR',
  'CAPMATRIX_DEBIAN_SECURITY_MIRROR',
  'CAPMATRIX_UBUNTU_MIRROR',
  'CAPMATRIX_CACHE',
  'CAPMATRIX_ACCEL',
  'CAPMATRIX_DOWNLOAD_TIMEOUT',
];

function main(): number {
  const resultsDir = path.resolve('results');
  setOutput('results-dir', resultsDir);
  const inputs = readInputs();
  const bin = capmatrixBin(capmatrixRoot(process.cwd()));
  const command = commandLine(bin, capmatrixArgs(inputs, resultsDir), {
    sudo: inputs.sudo,
    keep: KEEP,
    path: process.env.PATH ?? '',
  });
  const { GITHUB_STEP_SUMMARY: _summary, ...env } = process.env;
  const before = entriesOf(resultsDir);
  const code = runCommand(command, env);
  setOutput('results-file', newResultsFile(resultsDir, before));
  return code;
}

let code: number;
try {
  code = main();
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`capmatrix action: ${e.message}\n`);
  code = EXIT.badInput;
}
setOutput('exit-code', String(code));
