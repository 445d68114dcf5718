// The action's last step: fails the job on a mismatch (unless fail-on-mismatch is false), on bad
// input and on an infra error, after the summary, the JUnit report and the upload have run.
import { readInputs } from './inputs.js';
import { verdict } from './verdict.js';

const v = verdict(process.env.RUN_EXIT ?? '', process.env.REPORT_EXIT ?? '', readInputs().failOnMismatch);
process.stdout.write(v.code ? `::error title=capmatrix::${v.message}\n` : `${v.message}\n`);
process.exitCode = v.code;
