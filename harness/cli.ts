// capmatrix command line: matrix (the main job), kernels, setup.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { SEED_CLAIMS } from '../scenarios/claims/seed-claims.js';
import { loadScenarios } from './dsl/load.js';
import { ScenarioError } from './dsl/validate.js';
import { loadCatalog } from './kernels/catalog.js';
import { cachedKernel, fetchDebianKernel } from './kernels/provider-debian.js';
import { REPO_ROOT } from './paths.js';
import { renderClaims } from './report/claims.js';
import { renderExpected } from './report/expected.js';
import { exitCodeFor, renderGrid } from './report/grid.js';
import type { RunResults } from './report/results-json.js';
import { runMatrix } from './run/matrix.js';
import { ensureAll } from './setup/ensure.js';

const program = new Command('capmatrix').description('Which privileges does this BPF program really need?');

program
  .command('matrix')
  .description('run the scenarios on real kernels and diff observed against expected')
  .addOption(new Option('--kernel <ids>', 'kernel ids from kernels/catalog.json, comma-separated, or "all"'))
  .addOption(new Option('--scenario <names>', 'scenario names, comma-separated (default: all)'))
  .addOption(new Option('--cells <regex>', 'only the cells whose id matches (e.g. "/BPF\\+PERFMON/")'))
  .addOption(new Option('--results <dir>', 'where run directories go').default(undefined))
  .action(async (opts: { kernel?: string; scenario?: string; cells?: string; results?: string }) => {
    const { runDir, results } = await runMatrix({
      kernel: opts.kernel,
      scenarios: opts.scenario?.split(',').map((s) => s.trim()),
      cells: opts.cells ? new RegExp(opts.cells) : undefined,
      resultsDir: opts.results,
    });
    process.stdout.write(`${renderGrid(results.cells)}\n`);
    process.stdout.write(`results: ${runDir}/results.json\n`);
    process.exitCode = exitCodeFor(results.cells);
  });

program
  .command('expected')
  .description('print the fully expanded expected matrix, without running anything')
  .addOption(new Option('--scenario <names>', 'scenario names, comma-separated (default: all)'))
  .addOption(new Option('--kernel-version <v>', 'the kernel version the rules are evaluated for').default('6.12'))
  .action(async (opts: { scenario?: string; kernelVersion: string }) => {
    const scenarios = await loadScenarios(
      REPO_ROOT,
      opts.scenario?.split(',').map((s) => s.trim()),
    );
    process.stdout.write(`${renderExpected(scenarios, opts.kernelVersion)}\n`);
  });

program
  .command('claims')
  .description("the talk's claims judged against a run (default: results/latest)")
  .addOption(
    new Option('--results <file>', 'a results.json').default(path.join(REPO_ROOT, 'results', 'latest', 'results.json')),
  )
  .option('--write', 'write docs/seed-claims.md instead of printing')
  .action((opts: { results: string; write?: boolean }) => {
    const results = JSON.parse(readFileSync(opts.results, 'utf8')) as RunResults;
    const md = renderClaims(SEED_CLAIMS, results);
    if (opts.write) writeFileSync(path.join(REPO_ROOT, 'docs', 'seed-claims.md'), md);
    else process.stdout.write(md);
  });

const kernels = program.command('kernels').description('the kernel catalog');
kernels
  .command('list')
  .description('list catalog kernels and whether they are cached')
  .action(() => {
    const cat = loadCatalog();
    for (const k of cat.kernels) {
      const c = cachedKernel(k);
      const mark = k.id === cat.default ? '*' : ' ';
      process.stdout.write(
        `${mark} ${k.id.padEnd(14)} ${k.provider}:${k.suite} ${k.series}  ${c ? `cached ${c.release}` : 'not fetched'}\n`,
      );
    }
  });
kernels
  .command('fetch')
  .argument('<id>')
  .description('download, verify and extract a kernel')
  .action(async (id: string) => {
    const k = loadCatalog().kernels.find((e) => e.id === id);
    if (!k) throw new Error(`unknown kernel "${id}"`);
    const info = await fetchDebianKernel(k, (m) => process.stderr.write(`${m}\n`));
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  });

program
  .command('setup')
  .description('install what is missing: system packages (as root), samples, the default kernel')
  .option('--no-kernel', 'skip the default kernel')
  .action(async (opts: { kernel: boolean }) => {
    await ensureAll({ kernel: opts.kernel });
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof ScenarioError) {
    process.stderr.write(`${e.message}\nno VM was started.\n`);
    process.exit(2);
  }
  process.stderr.write(`capmatrix: ${(e as Error).message}\n`);
  process.exit(2);
});
