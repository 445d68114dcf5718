// --resume <run-id>: the interrupted run's results.json, checked before anything is planned.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type RunResults, readResults } from '../report/results-json.js';
import { UsageError } from '../usage-error.js';

export function resolveResume(resultsDir: string, runId: string): { results: RunResults } {
  // a run id, not a path: nothing outside the results directory can be named
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId) || runId.includes('..')) {
    throw new UsageError(
      `--resume: "${runId}" is not a run id (allowed: the name of a directory in ${resultsDir}, e.g. 20261130T170000Z-1234; letters, digits, . _ -)`,
    );
  }
  const file = path.join(resultsDir, runId, 'results.json');
  if (!existsSync(file)) throw new UsageError(`--resume: no run ${runId} in ${resultsDir} (${file} does not exist)`);
  const results = readResults(file);
  if (!results.options) throw new UsageError(`--resume: ${file} records no options (written by an older capmatrix)`);
  if (results.finishedAt)
    throw new UsageError(`--resume: run ${runId} finished at ${results.finishedAt}; nothing to resume`);
  return { results };
}
