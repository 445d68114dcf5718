// `capmatrix atlas --out DIR`: the privilege atlas as a static site (index.html, atlas.js,
// atlas.css) from the project's baselines and any runs given, whose kernels take the place of
// their baselines. Same inputs, same bytes: npm test regenerates docs/atlas and compares.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { loadScenarios } from '../dsl/load.js';
import { PROJECT_DIR } from '../paths.js';
import { mergeRuns, type RunResults, readResults } from '../report/results-json.js';
import { UsageError } from '../usage-error.js';
import { writeFileAtomic } from '../write-atomic.js';
import { renderAtlas } from './atlas-html.js';
import { buildAtlas } from './atlas-model.js';
import type { KernelSource } from './kernel-provenance.js';

const PAGE_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');

export interface AtlasOptions {
  out: string;
  /** Directory of baselines/<kernel>.json. */
  baselines: string;
  /** results.json files whose kernels replace their baselines. */
  runs?: string[];
  /** Where the scenarios' descriptions come from (default: the project's, else capmatrix's). */
  scenarioDir?: string;
}

interface Source {
  file: string;
  run: RunResults;
}

function sourcesOf(o: AtlasOptions): Source[] {
  const given = (o.runs ?? []).map((file) => ({ file, run: readResults(file) }));
  const taken = new Set(given.flatMap((g) => g.run.kernels.map((k) => k.id)));
  if (!existsSync(o.baselines) && !given.length)
    throw new UsageError(`atlas: no baselines directory ${o.baselines} and no run given (--results)`);
  const files = (existsSync(o.baselines) ? readdirSync(o.baselines) : []).filter((f) => f.endsWith('.json')).sort();
  const baselines = files
    .map((f) => ({ file: path.join(o.baselines, f), run: readResults(path.join(o.baselines, f)) }))
    .filter((b) => !b.run.kernels.some((k) => taken.has(k.id)));
  const all = [...baselines, ...given];
  if (!all.length) throw new UsageError(`atlas: no baselines in ${o.baselines} and no run given (--results)`);
  return all;
}

function kernelSources(sources: Source[]): Record<string, KernelSource> {
  const out: Record<string, KernelSource> = {};
  for (const { file, run } of sources)
    for (const k of run.kernels)
      out[k.id] = {
        file: path.relative(PROJECT_DIR, file),
        runId: run.runId,
        finishedAt: run.finishedAt ?? 'not finished',
      };
  return out;
}

async function descriptionsOf(scenarioDir?: string): Promise<Record<string, string>> {
  const loaded = await loadScenarios(PROJECT_DIR, undefined, scenarioDir);
  return Object.fromEntries(loaded.map((l) => [l.scenario.name, l.scenario.description ?? '']));
}

/** The page script, bundled with what it imports from the page contract. */
async function pageScript(): Promise<string> {
  const out = await build({
    entryPoints: [path.join(PAGE_DIR, 'atlas-page.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    minify: true,
    target: 'es2020',
    legalComments: 'none',
  });
  return out.outputFiles[0]?.text ?? '';
}

export interface AtlasWritten {
  files: { file: string; bytes: number }[];
  features: number;
  cells: number;
  kernels: number;
}

export async function writeAtlas(o: AtlasOptions): Promise<AtlasWritten> {
  const sources = sourcesOf(o);
  const run = mergeRuns(sources.map((s) => s.run));
  const model = buildAtlas(run, kernelSources(sources), await descriptionsOf(o.scenarioDir));
  mkdirSync(o.out, { recursive: true });
  const pages: [string, string][] = [
    ['index.html', renderAtlas(model)],
    ['atlas.js', await pageScript()],
    ['atlas.css', readFileSync(path.join(PAGE_DIR, 'atlas.css'), 'utf8')],
  ];
  for (const [name, text] of pages) writeFileAtomic(path.join(o.out, name), text);
  return {
    files: pages.map(([name]) => ({ file: path.join(o.out, name), bytes: statSync(path.join(o.out, name)).size })),
    features: model.rows.length,
    cells: run.cells.length,
    kernels: model.kernels.length,
  };
}
