// `capmatrix report --results minimize.json`: a finished minimize (one kernel or several) said
// again, in the terminal and in the job summary, with minimize's exit code. Nothing is booted.
import path from 'node:path';
import { mergeMinimizeFiles } from '../run/minimize-across.js';
import { minimizeAcrossExit, renderMinimizeAcross } from './minimize-across-report.js';
import { renderMinimizeMarkdown } from './minimize-markdown.js';
import { appendStepSummary } from './write-reports.js';

export function reportMinimize(file: string): number {
  const a = mergeMinimizeFiles([file], path.dirname(file));
  process.stdout.write(`${renderMinimizeAcross(a)}\n`);
  appendStepSummary(renderMinimizeMarkdown(a));
  return minimizeAcrossExit(a);
}
