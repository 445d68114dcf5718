// `capmatrix report`: a finished run's reports rewritten from its results.json (after judging its
// cells again, with --rediff), and on request its cross-kernel report, a bundle, a comparison with
// other runs or the baselines, and new baselines. Nothing is booted.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadScenarios } from '../dsl/load.js';
import { loadCatalog } from '../kernels/catalog.js';
import { ATLAS_DIR, BASELINES_DIR, PROJECT_DIR } from '../paths.js';
import { writeBundle } from './bundle.js';
import { compareWith } from './comparison.js';
import { baselineOf } from './cross-kernel.js';
import { renderKernelReport } from './kernel-report.js';
import { rediff, renderRediff } from './rediff.js';
import { type RunResults, readResults, writeResults } from './results-json.js';
import { markdownBlock } from './untrusted-text.js';
import { appendStepSummary, writeReports } from './write-reports.js';

export interface ReportOptions {
  /** The run's results.json. */
  results: string;
  rediff?: boolean;
  /** With `rediff`: the scenarios to judge against (default: the run's). */
  scenarioDir?: string;
  /** results.json files, kernel ids (their baselines), or "baselines" (each kernel's of the run). */
  compare?: string[];
  saveBaselines?: boolean;
  kernelReport?: string;
  bundle?: string;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Does it all, printing what it wrote; `moved`: the cells that moved or vanished against what it was compared with. */
export async function reportRun(o: ReportOptions): Promise<{ moved: number }> {
  const run = o.rediff ? await rediffRun(o.results, o.scenarioDir) : readResults(o.results);
  if (o.kernelReport) {
    writeFileSync(o.kernelReport, renderKernelReport(run, loadCatalog()));
    say(`kernel report: ${o.kernelReport}`);
  }
  if (o.bundle) {
    const entries = await writeBundle(run, path.dirname(o.results), o.bundle, loadCatalog());
    say(`bundle: ${o.bundle} (${entries.length} entries)`);
  }
  const files = writeReports(path.dirname(o.results), run);
  say(`reports: ${files.md}, ${files.html}, ${files.junit}`);
  const compared = compareWith(run, compareTargets(run, o.compare ?? []), PROJECT_DIR);
  process.stdout.write(compared.text);
  for (const m of compared.missing) process.stderr.write(`capmatrix report: warning: no baseline ${m}\n`);
  appendStepSummary(`${readFileSync(files.md, 'utf8')}\n\n${markdownBlock(compared.text)}`);
  if (o.saveBaselines) {
    saveBaselines(run);
    await refreshAtlas();
  }
  return { moved: compared.moved };
}

/** `--rediff`: results.json rewritten with each cell judged against today's scenarios. */
async function rediffRun(file: string, scenarioDir?: string): Promise<RunResults> {
  const before = readResults(file);
  const scenarios = await loadScenarios(PROJECT_DIR, undefined, scenarioDir ?? before.options?.scenarioDir);
  const { run, changed, gone } = rediff(before, scenarios);
  writeResults(path.dirname(file), run);
  process.stdout.write(renderRediff(changed, gone));
  return run;
}

const baselineFile = (kernel: string) => path.join(BASELINES_DIR, `${kernel}.json`);

/** `--compare` values → files: a path to a .json as it is, a kernel id to its baseline. */
function compareTargets(run: RunResults, what: string[]): string[] {
  return what.flatMap((w) =>
    w === 'baselines' ? run.kernels.map((k) => baselineFile(k.id)) : [w.endsWith('.json') ? w : baselineFile(w)],
  );
}

/** The project's atlas (docs/atlas), generated again from the baselines just saved, so that it
 * never shows other baselines than the committed ones; a project without one is told how. */
async function refreshAtlas(): Promise<void> {
  if (!existsSync(path.join(ATLAS_DIR, 'index.html'))) {
    say(`atlas: none in ${path.relative(PROJECT_DIR, ATLAS_DIR)}; capmatrix atlas makes one from the baselines`);
    return;
  }
  // loaded here: the atlas bundles its page script with esbuild, which no other report needs
  const { writeAtlas } = await import('../atlas/write-atlas.js');
  const w = await writeAtlas({ out: ATLAS_DIR, baselines: BASELINES_DIR });
  say(
    `atlas: ${path.relative(PROJECT_DIR, ATLAS_DIR)} (${w.features} features, ${w.cells} cells, ${w.kernels} kernels)`,
  );
}

/** `--save-baselines`: baselines/<kernel>.json for each kernel of the run. */
function saveBaselines(run: RunResults): void {
  mkdirSync(BASELINES_DIR, { recursive: true });
  for (const k of run.kernels) {
    writeFileSync(baselineFile(k.id), `${JSON.stringify(baselineOf(run, k.id), null, 2)}\n`);
    say(`baseline: ${path.relative(PROJECT_DIR, baselineFile(k.id))}`);
  }
}
