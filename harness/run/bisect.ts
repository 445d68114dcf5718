// `capmatrix bisect <cell> --series S`: the first build of a kernel series, among those the
// archive carries, where one cell's observed outcome changed; with the Debian changelog lines
// between the last good and the first bad build that touch bpf, perf, capabilities, tracing or
// namespaces. Like git bisect it assumes the outcome changed once in the range.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { exactCells } from '../dsl/cell-id.js';
import type { Cell } from '../dsl/expand.js';
import { loadScenarios } from '../dsl/load.js';
import { formatOutcome } from '../dsl/vocabulary.js';
import { loadCatalog } from '../kernels/catalog.js';
import {
  type ChangelogLine,
  entriesBetween,
  findChangelog,
  readChangelog,
  relevantLines,
} from '../kernels/changelog.js';
import { kernelDir } from '../kernels/kernel-info.js';
import { lineageSuites, type SeriesBuild, seriesBuilds, seriesEntry } from '../kernels/series-builds.js';
import { PROJECT_DIR, RESULTS_DIR } from '../paths.js';
import { provenanceBetween } from '../report/cross-kernel.js';
import type { RunResults } from '../report/results-json.js';
import { UsageError } from '../usage-error.js';
import { writeFileAtomic } from '../write-atomic.js';
import { type MatrixOptions, runMatrix } from './matrix.js';

export interface BisectOptions {
  cell: string;
  series: string;
  /** Versions of the known-good and known-bad builds (default: the oldest and the newest). */
  good?: string;
  bad?: string;
  /** Suites to take builds from (default: the catalog entry's release and its security suite). */
  suites?: string[];
  flavour?: string;
  scenarioDir?: string;
  resultsDir?: string;
  jobs?: number;
  memory?: string;
  log?: (msg: string) => void;
}

/** One build as it ran: its outcome (null: an infra error, the build is skipped). */
export interface TestedBuild {
  version: string;
  suite: string;
  kernel: string;
  release?: string;
  outcome: string | null;
  expected?: string;
  runDir: string;
}

export interface BisectResult {
  cell: string;
  series: string;
  suites: string[];
  /** Every build between good and bad, oldest first. */
  range: string[];
  tested: TestedBuild[];
  skipped: string[];
  lastGood?: TestedBuild;
  firstBad?: TestedBuild;
  /** Provenance that differs between the last good and the first bad build. */
  provenanceNotes: string[];
  changelog?: { file: string; uploads: string[]; lines: ChangelogLine[] };
  dir: string;
}

type Tester = (versions: string[]) => Promise<Map<string, string | null>>;

/** Binary search over versions (oldest first) for the first whose outcome differs from the
 * oldest's; builds that end in an infra error are skipped. Pure: `test` runs the builds. */
export async function searchFirstChange(
  versions: string[],
  test: Tester,
): Promise<{ lastGood?: string; firstBad?: string; skipped: string[] }> {
  const first = versions[0];
  const last = versions.at(-1);
  if (!first || !last || first === last) throw new UsageError('bisect: the range needs at least two builds');
  const ends = await test([first, last]);
  for (const v of [first, last]) {
    if (ends.get(v) == null) throw new Error(`bisect: build ${v} ended in an infra error; choose another --good/--bad`);
  }
  if (ends.get(first) === ends.get(last)) return { skipped: [] };
  const good = ends.get(first);
  const cands = [...versions];
  const skipped: string[] = [];
  let lo = 0;
  let hi = cands.length - 1;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const v = cands[mid] ?? '';
    const got = (await test([v])).get(v);
    if (got == null) {
      skipped.push(v);
      cands.splice(mid, 1);
      hi--;
    } else if (got === good) lo = mid;
    else hi = mid;
  }
  return { lastGood: cands[lo], firstBad: cands[hi], skipped };
}

/** Words of the cell that a changelog line naming its cause likely shares. */
function cellWords(cellId: string, sample: string, caps: readonly string[]): string[] {
  const scenario = cellId.split('/')[0] ?? '';
  const capWords = caps.map((c) => c.replace(/^CAP_/, ''));
  return [...new Set([...scenario.split(/[-_]/), sample, ...capWords, 'cap_*', 'capab*', 'privilege*'])];
}

function pickRange(builds: SeriesBuild[], o: BisectOptions): SeriesBuild[] {
  const known = builds.map((b) => b.version);
  const at = (v: string | undefined, flag: string, dflt: number) => {
    if (v === undefined) return dflt;
    const i = known.indexOf(v);
    if (i < 0)
      throw new UsageError(`--${flag}: no build ${v} in the series (the archive carries: ${known.join(', ')})`);
    return i;
  };
  const lo = at(o.good, 'good', 0);
  const hi = at(o.bad, 'bad', builds.length - 1);
  if (hi <= lo) throw new UsageError(`--good ${known[lo]} must be an older build than --bad ${known[hi]}`);
  return builds.slice(lo, hi + 1);
}

async function findCell(o: BisectOptions) {
  const scenario = o.cell.split('/')[0] ?? '';
  const [loaded] = await loadScenarios(PROJECT_DIR, [scenario], o.scenarioDir);
  const cell = loaded?.cells.find((c) => c.id === o.cell);
  if (!cell) {
    const ids = loaded?.cells.map((c) => c.id) ?? [];
    throw new UsageError(`bisect: no cell "${o.cell}" in scenario ${scenario} (its cells: ${ids.join(', ')})`);
  }
  return cell;
}

/** What the steps share: the builds, and each tested build with the run it came from. */
interface Steps {
  range: SeriesBuild[];
  tested: Map<string, TestedBuild>;
  runs: Map<string, RunResults>;
}

/** Runs the cell on some builds of the range, one matrix run with one boot per build. */
function stepTester(o: BisectOptions, scenario: string, dir: string, steps: Steps): Tester {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  return async (versions) => {
    const builds = versions.map((v) => steps.range.find((b) => b.version === v) as SeriesBuild);
    const opts: MatrixOptions = {
      catalog: { default: builds[0]?.entry.id ?? '', kernels: builds.map((b) => b.entry) },
      kernel: builds.map((b) => b.entry.id).join(','),
      scenarios: [scenario],
      scenarioDir: o.scenarioDir,
      cells: exactCells([o.cell]),
      resultsDir: dir,
      jobs: o.jobs,
      memory: o.memory,
      log,
    };
    const { runDir, results } = await runMatrix(opts);
    const out = new Map<string, string | null>();
    for (const b of builds) {
      const c = results.cells.find((x) => x.kernel === b.entry.id);
      const outcome = c?.observed ? formatOutcome(c.observed) : null;
      const release = results.kernels.find((k) => k.id === b.entry.id)?.release;
      const expected = c ? formatOutcome(c.expected) : undefined;
      steps.tested.set(b.version, {
        version: b.version,
        suite: b.suite,
        kernel: b.entry.id,
        release,
        outcome,
        expected,
        runDir,
      });
      steps.runs.set(b.version, results);
      log(`bisect: ${b.version} (${b.suite}): ${outcome ?? 'infra error, skipped'}`);
      out.set(b.version, outcome);
    }
    return out;
  };
}

/** Why the first bad build may differ: provenance between the two, and the changelog lines. */
function explainChange(result: BisectResult, steps: Steps, cell: Cell): void {
  const { lastGood, firstBad } = result;
  if (!lastGood || !firstBad) return;
  const goodRun = steps.runs.get(lastGood.version);
  const badRun = steps.runs.get(firstBad.version);
  if (goodRun && badRun)
    result.provenanceNotes = provenanceBetween(
      { run: goodRun, kernel: lastGood.kernel },
      { run: badRun, kernel: firstBad.kernel },
      result.cell,
    );
  const file = findChangelog(kernelDir(firstBad.kernel));
  if (!file) return;
  const uploads = entriesBetween(readChangelog(file), lastGood.version, firstBad.version);
  const words = cellWords(result.cell, cell.sample, cell.caps === 'root' ? [] : cell.caps);
  result.changelog = {
    file,
    uploads: uploads.map((u) => `${u.version} (${u.suite})`),
    lines: relevantLines(uploads, words),
  };
}

/** Runs the bisection and keeps it as bisect.json in its directory; rendering it (bisect.md, the
 * terminal) is the command's, as minimize's is. */
export async function runBisect(o: BisectOptions): Promise<BisectResult> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const cell = await findCell(o);
  const base = seriesEntry(loadCatalog(), o.series, o.flavour);
  if (!base) throw new UsageError(`--series ${o.series}: no Debian or Ubuntu entry of that series in the catalog`);
  const suites = o.suites ?? lineageSuites(base);
  const range = pickRange(await seriesBuilds({ ...base, flavour: o.flavour ?? base.flavour }, suites), o);
  const dir = path.join(
    o.resultsDir ?? path.join(RESULTS_DIR, 'bisect'),
    new Date().toISOString().replace(/[:.]/g, '-'),
  );
  mkdirSync(dir, { recursive: true });
  log(
    `bisect ${o.cell} over ${range.length} builds of ${o.series} (${suites.join(', ')}): ${range.map((b) => b.version).join(' ')}`,
  );
  const steps: Steps = { range, tested: new Map(), runs: new Map() };
  const versions = range.map((b) => b.version);
  const found = await searchFirstChange(versions, stepTester(o, cell.scenario, dir, steps));
  const result: BisectResult = {
    cell: o.cell,
    series: o.series,
    suites,
    range: versions,
    tested: [...steps.tested.values()].sort((a, b) => versions.indexOf(a.version) - versions.indexOf(b.version)),
    skipped: found.skipped,
    lastGood: found.lastGood ? steps.tested.get(found.lastGood) : undefined,
    firstBad: found.firstBad ? steps.tested.get(found.firstBad) : undefined,
    provenanceNotes: [],
    dir,
  };
  explainChange(result, steps, cell);
  writeFileAtomic(path.join(dir, 'bisect.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
