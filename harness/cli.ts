// capmatrix command line: matrix (the main job), minimize, bisect, expected, report, merge,
// claims, schema, kernels (list, fetch, update-pins, verify), setup. An action hands its flags to
// run/, report/, kernels/ or setup/ and prints what comes back; the flags' types are inferred by
// commander's extra-typings, and a bad flag or input exits 2 before anything starts (the catch at
// the end).

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { SEED_CLAIMS } from '../scenarios/claims/seed-claims.js';
import { writeAtlas } from './atlas/write-atlas.js';
import { LOCKDOWNS, MEMLOCKS, SOCKETS } from './dsl/choices.js';
import { loadScenarios } from './dsl/load.js';
import { ScenarioError } from './dsl/scenario-error.js';
import { EXIT } from './exit-codes.js';
import { type KernelEntry, loadCatalog, selectKernels } from './kernels/catalog.js';
import { kernelConfig } from './kernels/kernel-config.js';
import { cachedKernel, fetchKernel, verifyKernel } from './kernels/providers.js';
import { updatePins, writePins } from './kernels/update-pins.js';
import { CAPMATRIX_VERSION } from './package-info.js';
import { ATLAS_DIR, BASELINES_DIR, PACKAGE_ROOT, PROJECT_DIR, RESULTS_DIR } from './paths.js';
import { renderBisect } from './report/bisect-report.js';
import { renderClaims } from './report/claims.js';
import { expectedJson, renderExpected, renderRuleFindings } from './report/expected.js';
import { exitCodeFor, renderGrid, runSummary } from './report/grid.js';
import { learnHintText } from './report/learn-hint.js';
import { minimizeAcrossExit, minimizeAcrossJson, renderMinimizeAcross } from './report/minimize-across-report.js';
import { renderMinimizeMarkdown } from './report/minimize-markdown.js';
import { renderMinimize } from './report/minimize-report.js';
import { reportMinimize } from './report/report-minimize.js';
import { reportRun } from './report/report-run.js';
import { mergeRuns, RESULTS_SCHEMA_REF, readResults, resultsJsonSchema, writeResults } from './report/results-json.js';
import { appendStepSummary, writeReports } from './report/write-reports.js';
import { runBisect } from './run/bisect.js';
import { DEFAULT_MEMORY } from './run/boot.js';
import { runMatrix } from './run/matrix.js';
import * as flag from './run/matrix-options.js';
import {
  DEFAULT_UNIVERSE,
  minimizeJson,
  minimizeSubject,
  parseCapsFlag,
  parseEmitFlag,
  parseSysctlFlags,
  runMinimize,
  runMinimizeKernels,
} from './run/minimize.js';
import { isMinimizeFile, mergeMinimizeFiles, minimizeAcross } from './run/minimize-across.js';
import { EMIT_FORMS } from './run/minimize-result.js';
import { ensureAll } from './setup/ensure.js';
import { UsageError } from './usage-error.js';
import { writeFileAtomic } from './write-atomic.js';

const program = new Command('capmatrix')
  .description('Which privileges does this BPF program really need?')
  .version(CAPMATRIX_VERSION, '-V, --version', 'print the version');

// Commander reports a bad flag itself (the flag, the value, what is allowed); the catch at the end
// adds that nothing was started and exits 2.
program.exitOverride();

/** Options a resumed run takes from its own results.json. */
const RUN_SHAPE = ['kernel', 'scenario', 'scenarioDir', 'cells', 'repeat', 'retries'];

program
  .command('matrix')
  .description('run the scenarios on real kernels and diff observed against expected')
  .addOption(
    new Option('--kernel <ids>', 'kernel ids from kernels/catalog.json, comma-separated, or "all"').argParser(
      flag.kernelIds,
    ),
  )
  .addOption(new Option('--scenario <names>', 'scenario names, comma-separated (default: all)').argParser(flag.names))
  .addOption(
    new Option('--scenario-dir <dir>', 'another directory of scenario files (default: scenarios/)').argParser(
      flag.directory,
    ),
  )
  .addOption(
    new Option('--cells <regex>', 'only the cells whose id matches (e.g. "/BPF\\+PERFMON/")').argParser(flag.regex),
  )
  .addOption(new Option('--results <dir>', 'where run directories go').argParser(flag.text))
  .addOption(new Option('--jobs <n>', 'VMs at once (default: the number of cores)').argParser(flag.count(1, 64)))
  .addOption(
    new Option('--repeat <n>', 'run every cell n times; cells whose outcome differs are flaky (default 1)').argParser(
      flag.count(1, 100),
    ),
  )
  .addOption(
    new Option(
      '--retries <n>',
      'rerun a cell that ended in an infra error n times on a fresh boot (default 1)',
    ).argParser(flag.count(0, 10)),
  )
  .addOption(
    new Option(
      '--resume <run-id>',
      'finish an interrupted run without redoing its finished cells (it keeps its own options)',
    )
      .argParser(flag.text)
      .conflicts(RUN_SHAPE),
  )
  .option(
    '--update-expected',
    'learn mode: write the observed outcome of each mismatching cell into <scenario dir>/learned/<scenario>.json for review',
  )
  .option('--json', 'print a summary as JSON (verdict counts, the cells that did not match) instead of the grid')
  .option('--require-kvm', 'fail unless KVM works here and every guest really ran on it (clocksource kvm-clock)')
  .option(
    '--share-boots',
    'vouch for your own programs: let them share boots with each other and the samples (default: a boot per program)',
  )
  .addOption(new Option('--memory <size>', 'guest memory (vng --memory)').default(DEFAULT_MEMORY).argParser(flag.size))
  .addOption(
    new Option('--kernel-arg <arg>', 'an extra kernel command line argument for every guest (repeatable)').argParser(
      flag.kernelArg,
    ),
  )
  .action(async (opts) => {
    const { json: _json, ...rest } = opts;
    const o = {
      ...rest,
      scenarios: opts.scenario,
      resultsDir: opts.results,
      kernelArgs: opts.kernelArg,
    };
    const { runDir, results, learned, notOnKvm } = await runMatrix(o);
    process.exitCode = exitCodeFor(results.cells);
    if (opts.json) process.stdout.write(`${JSON.stringify(runSummary(runDir, results, process.exitCode), null, 2)}\n`);
    else {
      process.stdout.write(`${renderGrid(results.cells)}\n`);
      if (!learned) process.stdout.write(learnHintText(results));
      process.stdout.write(`results: ${runDir}/results.json (report.md, report.html, junit.xml beside it)\n`);
    }
    if (learned) {
      process.stdout.write(
        learned.length
          ? `\nlearned ${learned.length} expectation(s), each with a reason to write (npm test fails until then):\n  ${learned.join('\n  ')}\n`
          : '\nno mismatching cell: nothing learned\n',
      );
    }
    if (notOnKvm) {
      process.stderr.write(`capmatrix: ${notOnKvm}\n`);
      process.exitCode = EXIT.infra;
    }
  });

program
  .command('minimize')
  .description(
    'find every minimal capability set under which a scenario, your BPF object (--object) or your loader (--exec) succeeds (one boot)',
  )
  .usage('<scenario> | --object <file.bpf.o> | --exec <loader> [-- args...]  [options]')
  .argument(
    '[scenario | args...]',
    "a scenario name (capmatrix expected lists them), or the loader's arguments after --",
  )
  .addOption(new Option('--object <file>', 'your BPF object: load and attach each of its programs').conflicts(['exec']))
  .addOption(new Option('--exec <loader>', 'your loader (its arguments after --): ok = exit status 0'))
  .addOption(
    new Option('--program <name>', 'with --object: only this program (repeatable)').argParser(
      (v: string, previous: string[] = []) => [...previous, v],
    ),
  )
  .addOption(
    new Option('--load-only <name>', 'with --object: load this program, do not attach it (repeatable)').argParser(
      (v: string, previous: string[] = []) => [...previous, v],
    ),
  )
  .addOption(new Option('--socket <kind>', 'with --object: the socket a socket filter goes on').choices(SOCKETS))
  .addOption(new Option('--iface <name>', 'with --object: the interface for XDP, tc and packet sockets (default lo)'))
  .addOption(new Option('--uprobe <path:function>', 'with --object: where a bare SEC("uprobe") goes'))
  .addOption(
    new Option(
      '--kernel <ids>',
      'kernel ids from kernels/catalog.json, comma-separated, or all: one boot each, one answer with kernel ranges (default: the default kernel)',
    ).argParser(flag.kernelIds),
  )
  .addOption(
    new Option('--jobs <n>', 'with several kernels: boots at once (default: the number of cores)').argParser(
      flag.count(1, 64),
    ),
  )
  .addOption(
    new Option(
      '--sysctl <name=value>',
      'a setting for the search, e.g. kernel.perf_event_paranoid=2 (repeatable)',
    ).argParser((v: string, previous: Record<string, number> = {}) => ({ ...previous, ...parseSysctlFlags([v]) })),
  )
  .addOption(
    new Option(
      '--caps <list>',
      `candidate capabilities, comma-separated (default: ${DEFAULT_UNIVERSE.join(',')})`,
    ).argParser(parseCapsFlag),
  )
  .addOption(new Option('--scenario-dir <dir>', 'another directory of scenario files').argParser(flag.directory))
  .addOption(new Option('--results <dir>', 'where the minimize-<run-id> directory goes').argParser(flag.text))
  .addOption(
    new Option(
      '--emit <forms>',
      `deployment forms for each minimal set, comma-separated, each run in the same boot as that deployment shapes the process: ${EMIT_FORMS.join(', ')} (lxd, incus: token scenarios)`,
    ).argParser(parseEmitFlag),
  )
  .addOption(
    new Option('--lockdown <level>', 'every run under this kernel lockdown level (lockdown= on the boot)').choices(
      LOCKDOWNS,
    ),
  )
  .addOption(new Option('--memlock <limit>', 'every run with this RLIMIT_MEMLOCK (soft and hard)').choices(MEMLOCKS))
  .option('--no-other-settings', "skip the scenario's other sysctl values")
  .option('--json', 'print the result as JSON')
  .action(async (operands, opts) => {
    const { object, exec, program: programs, loadOnly, socket, iface, uprobe, ...rest } = opts;
    const o = {
      ...minimizeSubject(operands, { object, exec, programs, loadOnly, socket, iface, uprobe }),
      ...rest,
      universe: opts.caps,
      resultsDir: opts.results,
    };
    if (selectKernels(loadCatalog(), opts.kernel).length > 1) {
      const a = await runMinimizeKernels(o);
      process.stdout.write(`${opts.json ? JSON.stringify(minimizeAcrossJson(a), null, 2) : renderMinimizeAcross(a)}\n`);
      appendStepSummary(renderMinimizeMarkdown(a));
      process.exitCode = minimizeAcrossExit(a);
      return;
    }
    const r = await runMinimize(o);
    process.stdout.write(`${opts.json ? JSON.stringify(minimizeJson(r), null, 2) : renderMinimize(r)}\n`);
    appendStepSummary(renderMinimizeMarkdown(minimizeAcross({ runDir: r.runDir, perKernel: [r], failed: [] })));
    process.exitCode = r.searches[0]?.minimal.length ? EXIT.ok : EXIT.findings;
  });

program
  .command('expected')
  .description('print the fully expanded expected matrix, without running anything')
  .addOption(new Option('--scenario <names>', 'scenario names, comma-separated (default: all)'))
  .addOption(new Option('--kernel-version <v>', 'the kernel version the rules are evaluated for').default('6.12'))
  .addOption(
    new Option('--kernel <id>', 'a fetched catalog kernel: its version and its config (for requires gates)').argParser(
      flag.kernelIds,
    ),
  )
  .addOption(new Option('--scenario-dir <dir>', 'another directory of scenario files').argParser(flag.directory))
  .addOption(
    new Option(
      '--checks <results.json>',
      "a run's results: flag rules whose reason names other capabilities than its kernels denied",
    ).argParser(flag.text),
  )
  .option('--json', 'print the cells and their expectations as JSON')
  .action(async (opts) => {
    const scenarios = await loadScenarios(
      PROJECT_DIR,
      opts.scenario?.split(',').map((s) => s.trim()),
      opts.scenarioDir,
    );
    const kernel = opts.kernel ? fetchedKernel(opts.kernel) : undefined;
    const version = kernel?.version ?? opts.kernelVersion;
    const config = kernel ? kernelConfig(kernel) : undefined;
    process.stdout.write(
      opts.json
        ? `${JSON.stringify(expectedJson(scenarios, version, config), null, 2)}\n`
        : `${renderExpected(scenarios, version, config)}\n`,
    );
    if (opts.checks && !opts.json) process.stdout.write(`${renderRuleFindings(readResults(opts.checks), scenarios)}\n`);
  });

program
  .command('report')
  .description("rewrite a run's reports, show what changed between its kernels, compare it with baselines")
  .addOption(
    new Option('--results <file>', 'a results.json, or a minimize.json (said again, in the job summary too)').default(
      path.join(RESULTS_DIR, 'latest', 'results.json'),
    ),
  )
  .addOption(
    new Option(
      '--compare <what...>',
      'results.json files or kernel ids (baselines/<id>.json); "baselines" = the baseline of each kernel of the run',
    ),
  )
  .option('--save-baselines', 'write baselines/<kernel>.json from this run')
  .option('--kernel-report <file>', "write the run's cross-kernel regression report (Markdown) to <file>")
  .option('--bundle <file>', 'write a .tar.gz to attach to a bug report: results, reports, boot logs, how to rerun')
  .option(
    '--rediff',
    "judge the run's cells again against the scenarios as they are now (edited or learned expectations), without booting",
  )
  .addOption(
    new Option('--scenario-dir <dir>', "with --rediff: the scenarios to judge against (default: the run's)").argParser(
      flag.directory,
    ),
  )
  .action(async (opts) => {
    if (isMinimizeFile(opts.results)) {
      const others = Object.keys(opts).filter((k) => k !== 'results');
      if (others.length) throw new UsageError(`report: a minimize.json takes no other option (${others.join(', ')})`);
      process.exitCode = reportMinimize(opts.results);
      return;
    }
    const { moved } = await reportRun(opts);
    process.exitCode = moved ? EXIT.findings : EXIT.ok;
  });

program
  .command('bisect')
  .description(
    'the first build of a kernel series (of those the archive carries) where a cell changed, with the Debian changelog lines between',
  )
  .argument(
    '<cell>',
    'a cell id, e.g. "uprobe-perf/PERFMON+BPF/ubd=2,paranoid=2" (capmatrix expected --json lists them)',
  )
  .requiredOption('--series <major.minor>', 'the series, as a catalog entry has it (e.g. 5.10, 6.12)')
  .option('--good <version>', 'a build known good (default: the oldest the archive carries)')
  .option('--bad <version>', 'a build known bad (default: the newest)')
  .addOption(
    new Option(
      '--suites <list>',
      "suites to take builds from (default: the catalog entry's release and its -security)",
    ).argParser(flag.names),
  )
  .option('--flavour <f>', "kernel flavour (default: the catalog entry's)")
  .addOption(new Option('--scenario-dir <dir>', 'another directory of scenario files').argParser(flag.directory))
  .addOption(
    new Option('--results <dir>', 'where the bisect directory goes (default: results/bisect)').argParser(flag.text),
  )
  .addOption(new Option('--jobs <n>', 'VMs at once').argParser(flag.count(1, 64)))
  .option('--json', 'print bisect.json instead of the Markdown')
  .action(async (cell, opts) => {
    const r = await runBisect({ cell, ...opts, resultsDir: opts.results });
    const md = renderBisect(r);
    writeFileAtomic(path.join(r.dir, 'bisect.md'), md);
    process.stdout.write(opts.json ? `${JSON.stringify(r, null, 2)}\n` : md);
    process.stdout.write(`bisect: ${r.dir}/bisect.json, bisect.md\n`);
  });

program
  .command('merge')
  .description(
    'merge runs of different kernels (e.g. CI jobs) into one run, with its reports; or minimize results into one answer with kernel ranges',
  )
  .argument('<results...>', 'results.json files, or minimize.json files')
  .requiredOption('--out <dir>', 'the merged run directory')
  .option('--json', 'minimize results: print the answer as JSON')
  .action((files, opts) => {
    if (files.some(isMinimizeFile)) {
      const a = mergeMinimizeFiles(files, opts.out);
      mkdirSync(opts.out, { recursive: true });
      writeFileAtomic(path.join(opts.out, 'minimize.json'), `${JSON.stringify(a, null, 2)}\n`);
      process.stdout.write(`${opts.json ? JSON.stringify(minimizeAcrossJson(a), null, 2) : renderMinimizeAcross(a)}\n`);
      process.exitCode = minimizeAcrossExit(a);
      return;
    }
    const runs = files.map((f) => readResults(f));
    const merged = mergeRuns(runs);
    writeResults(opts.out, merged);
    const out = writeReports(opts.out, merged);
    process.stdout.write(
      `merged ${runs.length} run(s), ${merged.cells.length} cells: ${opts.out}/results.json, ${out.md}\n`,
    );
    if (merged.interrupted) {
      process.stderr.write(
        `capmatrix merge: incomplete input (${merged.interrupted}; ${merged.pendingCells} cell(s) missing)\n`,
      );
      process.exitCode = EXIT.findings;
    }
  });

program
  .command('claims')
  .description("the talk's claims judged against a run (default: results/latest)")
  .addOption(new Option('--results <file>', 'a results.json').default(path.join(RESULTS_DIR, 'latest', 'results.json')))
  .option('--write', 'write docs/seed-claims.md instead of printing')
  .action((opts) => {
    const results = readResults(opts.results);
    const md = renderClaims(SEED_CLAIMS, results);
    if (opts.write) writeFileSync(path.join(PACKAGE_ROOT, 'docs', 'seed-claims.md'), md);
    else process.stdout.write(md);
  });

program
  .command('schema')
  .description(`print the JSON Schema of results.json (generated from its definition; ${RESULTS_SCHEMA_REF})`)
  .option('--write', `write ${RESULTS_SCHEMA_REF} instead of printing`)
  .action((opts) => {
    const text = `${JSON.stringify(resultsJsonSchema(), null, 2)}\n`;
    if (opts.write) writeFileSync(path.join(PACKAGE_ROOT, RESULTS_SCHEMA_REF), text);
    else process.stdout.write(text);
  });

program
  .command('atlas')
  .description(
    'the privilege atlas: a static site (index.html, atlas.js, atlas.css) of what each feature needs on each kernel, from the baselines',
  )
  .addOption(new Option('--out <dir>', 'where the site goes').default(ATLAS_DIR).argParser(flag.text))
  .addOption(
    new Option('--baselines <dir>', 'the baselines/<kernel>.json directory')
      .default(BASELINES_DIR)
      .argParser(flag.directory),
  )
  .option('--results <files...>', 'results.json files whose kernels replace their baselines')
  .addOption(
    new Option('--scenario-dir <dir>', "the scenarios' descriptions (default: the project's)").argParser(
      flag.directory,
    ),
  )
  .action(async (opts) => {
    const started = Date.now();
    const w = await writeAtlas({
      out: opts.out,
      baselines: opts.baselines,
      runs: opts.results,
      scenarioDir: opts.scenarioDir,
    });
    const kb = w.files.map((f) => `${path.basename(f.file)} ${(f.bytes / 1024).toFixed(0)} KiB`).join(', ');
    process.stdout.write(
      `atlas: ${w.features} features, ${w.cells} cells on ${w.kernels} kernels in ${path.join(opts.out, 'index.html')} (${kb}; ${Date.now() - started} ms)\n`,
    );
  });

/** A catalog kernel already fetched (expected does not download). */
function fetchedKernel(id: string) {
  const [entry] = selectKernels(loadCatalog(), id);
  const info = entry && cachedKernel(entry);
  if (!info) throw new UsageError(`--kernel ${id}: not fetched (npm run capmatrix -- kernels fetch ${id})`);
  return info;
}

const kernels = program.command('kernels').description('the kernel catalog (kernels/catalog.json)');

function describeEntry(k: KernelEntry): string {
  switch (k.provider) {
    case 'debian':
    case 'ubuntu':
      return `${k.provider}:${k.suite} ${k.series}${k.pin ? ` pinned ${k.pin.version}` : k.release ? ` exactly ${k.release}` : ' newest'}`;
    case 'url':
      return `url ${k.version} (${k.files.length} file${k.files.length > 1 ? 's' : ''})`;
    case 'local':
      return `local ${k.vmlinuz}`;
    case 'build':
      return `build ${k.source}`;
  }
}

/** The entries named by ids ("a,b", "all"; default: the default kernel). */
function entriesFor(ids?: string): KernelEntry[] {
  return selectKernels(loadCatalog(), ids, (m) => process.stderr.write(`${m}\n`));
}

kernels
  .command('list')
  .description('list catalog kernels and whether they are cached')
  .option('--json', 'print the list as JSON')
  .action((opts) => {
    const cat = loadCatalog();
    const rows = cat.kernels.map((k) => ({
      id: k.id,
      default: k.id === cat.default,
      source: describeEntry(k),
      cached: cachedKernel(k)?.release ?? null,
      inAll: k.inAll,
    }));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    for (const r of rows) {
      const where = r.cached ? `cached ${r.cached}` : 'not fetched';
      process.stdout.write(
        `${r.default ? '*' : ' '} ${r.id.padEnd(14)} ${r.source.padEnd(40)} ${where}${r.inAll ? '' : '  (not in "all")'}\n`,
      );
    }
  });
kernels
  .command('fetch')
  .argument('[ids]', 'comma-separated ids, or "all" (default: the default kernel)')
  .description('download, verify and extract kernels (cached: a second fetch downloads nothing)')
  .action(async (ids) => {
    for (const k of entriesFor(ids)) {
      const info = await fetchKernel(k, (m) => process.stderr.write(`${m}\n`));
      process.stdout.write(`${k.id}: ${info.release} (${info.source.files.map((f) => f.name).join(', ')})\n`);
    }
  });
kernels
  .command('update-pins')
  .argument('[ids]', 'comma-separated ids (default: every pinned Debian/Ubuntu entry)')
  .option('--dry-run', 'print the new pins, write nothing')
  .description("move each pinned entry to the newest build of its series in its suite's verified index")
  .action(async (ids, opts) => {
    const cat = loadCatalog();
    const wanted = ids?.split(',').map((x) => x.trim());
    if (wanted) selectKernels(cat, ids); // unknown ids: the usual error, with the known ones
    const updates = await updatePins(cat, wanted);
    for (const u of updates) {
      const what = u.skipped
        ? `left alone: ${u.skipped}`
        : u.from === u.to
          ? `${u.to} (newest already)`
          : `${u.from} → ${u.to}`;
      process.stdout.write(`${u.id}: ${what}\n`);
    }
    if (!opts.dryRun && updates.some((u) => u.to && u.to !== u.from)) writePins(cat);
  });
kernels
  .command('verify')
  .argument('[ids]', 'comma-separated ids, or "all" (default: the default kernel)')
  .description('re-check cached kernels against the SHA256 they were verified with')
  .action((ids) => {
    let bad = 0;
    for (const k of entriesFor(ids)) {
      const problems = verifyKernel(k);
      bad += problems.length;
      process.stdout.write(problems.length ? problems.map((p) => `${k.id}: ${p}\n`).join('') : `${k.id}: ok\n`);
    }
    process.exitCode = bad ? EXIT.infra : EXIT.ok;
  });

program
  .command('setup')
  .description('install what is missing: system packages (as root), samples, the default kernel')
  .option('--no-kernel', 'skip the default kernel')
  .option('--for-tests', 'also what npm test needs (a browser for the HTML report test)')
  .action(async (opts) => {
    await ensureAll({ kernel: opts.kernel, forTests: opts.forTests });
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) {
    // commander has said what was wrong (or printed the help or version)
    if (e.exitCode !== 0) process.stderr.write('no VM was started.\n');
    process.exit(e.exitCode === 0 ? EXIT.ok : EXIT.badInput);
  }
  if (e instanceof ScenarioError || e instanceof UsageError) {
    process.stderr.write(`${e.message}\nno VM was started.\n`);
    process.exit(EXIT.badInput);
  }
  // what went wrong is not the input: a download, a verification, a VM
  process.stderr.write(`capmatrix: ${(e as Error).message}\n`);
  process.exit(EXIT.infra);
});
