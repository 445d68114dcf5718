// Every per-run file next to results.json: report.md, report.html, junit.xml.
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../write-atomic.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderMarkdown } from './markdown.js';
import type { RunResults } from './results-json.js';

export function writeReports(runDir: string, run: RunResults): { md: string; html: string; junit: string } {
  const files = {
    md: path.join(runDir, 'report.md'),
    html: path.join(runDir, 'report.html'),
    junit: path.join(runDir, 'junit.xml'),
  };
  writeFileAtomic(files.md, renderMarkdown(run));
  writeFileAtomic(files.html, renderHtml(run));
  writeFileAtomic(files.junit, renderJunit(run));
  return files;
}

/** In GitHub Actions, text for the job summary. Each command adds its own once: `matrix` its
 * report, `minimize` its answer, `report` the report and the comparison (or a minimize.json's
 * answer); `merge` nothing (a `report` follows it). */
export function appendStepSummary(text: string): void {
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, text);
}
