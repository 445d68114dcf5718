// The action's last step: whether the job fails, from the exit codes of the run and of the
// summary's `report` (which also says cells that moved against the project's baselines).
import { EXIT } from '../exit-codes.js';

export interface Verdict {
  code: number;
  message: string;
}

const MEANING: Record<number, string> = {
  [EXIT.badInput]: 'bad input, nothing was started',
  [EXIT.infra]: 'an infra error: cells or kernels capmatrix could not judge',
};

/** Exit codes as the steps' outputs hold them ('' when that step did not get to write one). */
export function verdict(run: string, report: string, failOnMismatch: boolean): Verdict {
  if (!/^\d+$/.test(run)) return { code: 1, message: 'capmatrix did not run: an earlier step of the action failed' };
  const codes = [Number(run), /^\d+$/.test(report) ? Number(report) : EXIT.ok];
  const worst = codes.find((c) => c !== EXIT.ok && c !== EXIT.findings);
  if (worst !== undefined)
    return { code: worst, message: `capmatrix exited ${worst}: ${MEANING[worst] ?? 'interrupted'}` };
  if (!codes.includes(EXIT.findings)) return { code: EXIT.ok, message: 'capmatrix: every cell as expected' };
  const what = 'capmatrix found a mismatch (a cell against its expectation or baseline, or no minimal set)';
  return failOnMismatch
    ? { code: EXIT.findings, message: `${what}: see the job summary` }
    : { code: EXIT.ok, message: `${what}; not failing the job (fail-on-mismatch: false)` };
}
