// `capmatrix report --bundle out.tar.gz`: one file to attach to a bug report. results.json, the
// reports, each boot's console log, plan, guest records and provenance, and a README that says
// which cells stand out and the command that runs each again.
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { exactCells } from '../dsl/cell-id.js';
import { formatOutcome } from '../dsl/vocabulary.js';
import type { Catalog } from '../kernels/catalog.js';
import { crossKernelDiffs, kernelOrder } from './cross-kernel.js';
import { renderHtml } from './html.js';
import { renderJunit } from './junit.js';
import { renderKernelReport } from './kernel-report.js';
import { renderMarkdown } from './markdown.js';
import type { RunResults } from './results-json.js';
import { MARKDOWN_BLOCK_MAX, markdownBlock, markdownSpan } from './untrusted-text.js';

const TOP = 'capmatrix-bundle';
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const rerun = (kernels: string[], ids: string[]) =>
  `npm run matrix -- --kernel ${kernels.join(',')} --cells ${quote(exactCells(ids))}`;

/** The cells a reader of a bug report wants first: not matching, or changing between kernels. */
function standOut(run: RunResults): { line: string; command: string }[] {
  const odd = run.cells
    .filter((c) => c.verdict !== 'match')
    .map((c) => ({
      line: `${c.verdict}: ${markdownSpan(c.kernel)} ${markdownSpan(c.id)}: observed ${c.observed ? formatOutcome(c.observed) : 'nothing'}, expected ${formatOutcome(c.expected)}`,
      command: rerun([c.kernel], [c.id]),
    }));
  const changed = crossKernelDiffs(run).map((d) => ({
    line: `changes on ${markdownSpan(d.firstChange)}: ${markdownSpan(d.id)}: ${d.outcomes.map((o) => `${o.kernel} ${o.outcome}`).join(', ')}`,
    command: rerun(
      d.outcomes.map((o) => o.kernel),
      [d.id],
    ),
  }));
  return [...odd, ...changed];
}

function capmatrixOf(run: RunResults): string {
  const c = run.host.capmatrix as { version?: string; commit?: string } | undefined;
  return `${c?.version ?? '?'}${c?.commit ? ` (commit ${c.commit.slice(0, 12)})` : ''}`;
}

function readme(run: RunResults): string {
  const kernels = kernelOrder(run).map((k) => k.id);
  const cells = standOut(run);
  return [
    `# capmatrix run ${run.runId}`,
    '',
    `${run.cells.length} cells on ${kernels.length} kernel(s) (${kernelOrder(run)
      .map((k) => `${k.id}: ${k.release}, ${k.accel}`)
      .join('; ')}), capmatrix ${capmatrixOf(run)}, from ${run.startedAt} to ${run.finishedAt ?? '?'}.`,
    '',
    'Here: `results.json` (every cell, its expectation and provenance; schema in `$schema`), `report.md`,',
    '`report.html` (open in a browser), `junit.xml`, `kernel-report.md` (more than one kernel), and per boot',
    '`boots/<boot>/`: `console.log`, `plan.json` (what the guest was asked to run), `guest/` (its records),',
    '`provenance.json` (kernel release, boot sysctls, tracefs and bpffs, lockdown, clocksource, the VM).',
    '',
    '## Run it again',
    '',
    'In a checkout of capmatrix (`npm run matrix` installs what is missing):',
    '',
    markdownBlock(
      `npm run matrix -- --kernel ${kernels.join(',')}${run.options?.cells ? ` --cells ${quote(run.options.cells)}` : ''}`,
      'sh',
    ).trimEnd(),
    '',
    cells.length
      ? `## ${cells.length} cell(s) that stand out`
      : '## Every cell matched its expectation on every kernel',
    '',
    // a command is fenced, cut only at a block's length: a shorter one would run other cells
    ...cells.flatMap((c) => [`- ${c.line}`, '', `  ${markdownSpan(c.command, MARKDOWN_BLOCK_MAX)}`, '']),
  ].join('\n');
}

// guest/ is the directory a guest can write: a symlink there must not pull a host file in.
const regularFile = (f: string) => lstatSync(f, { throwIfNoEntry: false })?.isFile() === true;

function stage(run: RunResults, runDir: string, dir: string, catalog?: Catalog): void {
  writeFileSync(path.join(dir, 'results.json'), `${JSON.stringify(run, null, 2)}\n`);
  writeFileSync(path.join(dir, 'report.md'), renderMarkdown(run));
  writeFileSync(path.join(dir, 'report.html'), renderHtml(run));
  writeFileSync(path.join(dir, 'junit.xml'), renderJunit(run));
  if (run.kernels.length > 1) writeFileSync(path.join(dir, 'kernel-report.md'), renderKernelReport(run, catalog));
  writeFileSync(path.join(dir, 'README.md'), readme(run));
  for (const b of run.provenance.boots) {
    const to = path.join(dir, 'boots', b.boot);
    mkdirSync(path.join(to, 'guest'), { recursive: true });
    writeFileSync(path.join(to, 'provenance.json'), `${JSON.stringify(b, null, 2)}\n`);
    const from = path.join(runDir, 'boots', b.boot);
    for (const f of ['console.log', 'plan.json', 'guest/guest-results.jsonl'])
      if (regularFile(path.join(from, f))) copyFileSync(path.join(from, f), path.join(to, f));
  }
}

/** Writes the bundle of a run (read from runDir, where its boots are) to `out`; returns its entries. */
export async function writeBundle(run: RunResults, runDir: string, out: string, catalog?: Catalog): Promise<string[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-bundle-'));
  try {
    mkdirSync(path.join(tmp, TOP));
    stage(run, runDir, path.join(tmp, TOP), catalog);
    await tar.create({ gzip: true, file: out, cwd: tmp, portable: true }, [TOP]);
    const entries: string[] = [];
    await tar.list({ file: out, onReadEntry: (e) => entries.push(e.path) });
    return entries;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
