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
  const md = renderMarkdown(run);
  writeFileAtomic(files.md, md);
  writeFileAtomic(files.html, renderHtml(run));
  writeFileAtomic(files.junit, renderJunit(run));
  // In GitHub Actions the Markdown report becomes the job summary.
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, md);
  return files;
}
