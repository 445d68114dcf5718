// The main job: scenarios → cells → boots → VMs → guest records → attempts → verdicts → reports.
// A boot that dies (panic, agent crash, timeout) is followed by a fresh boot that runs what is
// left: the runs it never reached and, up to `retries` times, the run that failed.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cell } from '../dsl/expand.js';
import { learnFromRun, pendingReviews } from '../dsl/learned.js';
import { loadScenarios, scenarioDirOf } from '../dsl/load.js';
import { type Catalog, loadCatalog, selectKernels } from '../kernels/catalog.js';
import { kernelConfig, recordedConfig } from '../kernels/kernel-config.js';
import { fetchKernel, type KernelInfo } from '../kernels/providers.js';
import { type Attempt, bootAttempts } from '../outcome/attempts.js';
import { type GuestRecordReader, readGuestRecords } from '../outcome/guest-records.js';
import { PROJECT_DIR, RESULTS_DIR } from '../paths.js';
import { type Boot, checkPhaseOrder, type PlannedRun, planBoots, runsOf } from '../plan/plan.js';
import { toolDigests } from '../plan/tool-digests.js';
import { linkLatest, newRunId, type RunOptions, type RunResults } from '../report/results-json.js';
import { terminalLine } from '../report/untrusted-text.js';
import { appendStepSummary, writeReports } from '../report/write-reports.js';
import { ensureRunnable } from '../setup/ensure.js';
import { UsageError } from '../usage-error.js';
import { type AccelDecision, accelNow, decideAccel } from '../vm/accel.js';
import { onInterrupt } from '../vm/run-vm.js';
import { type BootResult, bootFiles, keysOfBoot, runBoot } from './boot.js';
import { hostInfo } from './host-info.js';
import { Ledger } from './ledger.js';
import { createProgress, type Progress } from './progress.js';
import { resolveResume } from './resume.js';

export interface MatrixOptions {
  kernel?: string;
  scenarios?: string[];
  /** Another directory of scenario files than scenarios/ (the fault-injection tests use one). */
  scenarioDir?: string;
  /** Only cells whose id matches (a regular expression's source). */
  cells?: string;
  /** Run every cell this many times (default 1). */
  repeat?: number;
  /** Rerun a cell that ended in an infra error this many times on a fresh boot (default 1). */
  retries?: number;
  /** Finish the run with this id (in resultsDir) instead of starting a new one. */
  resume?: string;
  resultsDir?: string;
  /** VMs at once (default: the number of cores). */
  jobs?: number;
  /** Refuse to run under TCG. */
  requireKvm?: boolean;
  /** Another catalog than kernels/catalog.json (tests). */
  catalog?: Catalog;
  /** The naive way, one boot per cell (the benchmark's comparison). */
  bootPerCell?: boolean;
  /** The user vouches for their own programs: they share boots with capmatrix's samples and
   * each other instead of one boot per program (recorded in results.json's options). */
  shareBoots?: boolean;
  /** Guest memory (vng --memory) and extra kernel command line arguments. */
  memory?: string;
  kernelArgs?: string[];
  bootTimeoutSec?: number;
  /** Seconds without the agent's heartbeat that end a boot (tests; default in run/boot.ts). */
  stallSec?: number;
  /** Learn mode: write the observed outcomes of mismatching cells as learned expectations. */
  updateExpected?: boolean;
  log?: (msg: string) => void;
}

export interface MatrixRun {
  runDir: string;
  results: RunResults;
  /** Learn mode: one line per learned expectation written. */
  learned?: string[];
  /** --require-kvm: why the run does not count (a guest that did not really run on KVM). */
  notOnKvm?: string;
}

type Resolved = MatrixOptions & RunOptions;

/** --resume: the options are the interrupted run's own. */
function resolveOptions(input: MatrixOptions, resultsDir: string) {
  const resumed = input.resume ? resolveResume(resultsDir, input.resume) : null;
  const o: Resolved = resumed
    ? {
        ...input,
        ...resumed.results.options,
        repeat: resumed.results.options?.repeat ?? 1,
        retries: resumed.results.options?.retries ?? 1,
      }
    : { ...input, repeat: input.repeat ?? 1, retries: input.retries ?? 1 };
  return { o, resumed };
}

/** Everything that can be wrong with the input fails here, before any VM starts. */
async function planRun(o: Resolved, log: (m: string) => void) {
  const scenarios = await loadScenarios(PROJECT_DIR, o.scenarios, o.scenarioDir);
  const awaitingReview = pendingReviews(scenarios);
  if (awaitingReview.length)
    log(
      `${awaitingReview.length} learned expectation(s) await a reviewer's reason (npm test fails until then):\n  ${awaitingReview.join('\n  ')}`,
    );
  const kernels: KernelInfo[] = [];
  await ensureRunnable();
  for (const e of selectKernels(o.catalog ?? loadCatalog(), o.kernel, log)) kernels.push(await fetchKernel(e, log));
  const filter = o.cells ? new RegExp(o.cells) : undefined;
  const cells = scenarios.flatMap((s) => s.cells).filter((c) => !filter || filter.test(c.id));
  if (cells.length === 0) throw new UsageError(`--cells ${o.cells}: no cell id matches`);
  const vms = vmsAtOnce(o.jobs);
  const boots = planBoots(cells, kernels, { bootPerCell: o.bootPerCell, shareBoots: o.shareBoots, vms });
  for (const b of boots) checkPhaseOrder(b);
  // every boot's plan vouches for its root tools: a modified one refuses the run before any VM
  toolDigests(cells);
  const accel = decideAccel();
  if (o.requireKvm && accel.accel !== 'kvm') throw new Error(`--require-kvm: KVM does not work here (${accel.why})`);
  return { kernels, cells, boots, accel };
}

function newResults(
  runId: string,
  o: Resolved,
  kernels: KernelInfo[],
  accel: AccelDecision,
  cells: Cell[],
): RunResults {
  const options: RunOptions = {
    kernel: o.kernel,
    scenarios: o.scenarios,
    scenarioDir: o.scenarioDir,
    cells: o.cells,
    repeat: o.repeat,
    retries: o.retries,
    memory: o.memory,
    kernelArgs: o.kernelArgs,
    ...(o.shareBoots ? { shareBoots: true } : {}),
  };
  return {
    schemaVersion: 1,
    runId,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    host: { ...hostInfo(), accel: accel.accel, accelWhy: accel.why },
    kernels: kernels.map((k) => {
      const config = recordedConfig(
        cells.flatMap((c) => c.rules),
        kernelConfig(k),
      );
      return {
        id: k.id,
        release: k.release,
        source: k.source,
        accel: accel.accel,
        ...(Object.keys(config).length ? { config } : {}),
      };
    }),
    cells: [],
    provenance: { boots: [] },
    options,
    attempts: [],
  };
}

/** What the planned boots share while the run goes on. */
interface RunContext {
  runDir: string;
  results: RunResults;
  ledger: Ledger;
  o: Resolved;
  accel: AccelDecision;
  progress: Progress;
  log: (m: string) => void;
  /** Boots whose VM runs now, with the runs they owe and their results reader. */
  active: Map<string, { runs: PlannedRun[]; reader?: GuestRecordReader }>;
}

/** A boot that charged nobody (died between two cells) charges the first run it owed, so a
 * boot that keeps dying cannot loop forever. */
function chargeSilentBoot(done: BootResult, pending: PlannedRun[], bootId: string): void {
  const first = pending[0];
  if (done.attempts.length > 0 || !first) return;
  done.attempts.push({
    key: first.key,
    kernel: first.cell.kernel,
    cellId: first.cell.id,
    rep: first.rep,
    boot: bootId,
    ran: false,
    observed: null,
    infraKind: 'vm-failed',
    infraError: `the VM ended (${done.provenance.vm?.ended}) without finishing or starting a cell`,
    durationMs: 0,
  });
}

function bootSummary(done: BootResult): string {
  const vm = done.provenance.vm ?? { ended: '?', wallMs: 0 };
  const bad = done.attempts.filter((a) => !a.observed);
  const why = bad.length
    ? `, ${bad.length} infra error(s): ${[...new Set(bad.map((a) => a.infraKind))].join(', ')}`
    : '';
  const ended = done.records.endReason ? `; the agent ended the boot ${done.records.endReason}` : '';
  return `${vm.ended} after ${(vm.wallMs / 1000).toFixed(0)} s${why}${ended}`;
}

/** A guest that died under KVM demoted it: the results say what the rest of the run used. */
function noteAccelNow(ctx: RunContext): void {
  const now = accelNow(ctx.accel.accel);
  if (now === ctx.accel.accel) return;
  ctx.accel = decideAccel();
  ctx.results.host.accel = now;
  ctx.results.host.accelWhy = ctx.accel.why;
  for (const k of ctx.results.kernels) k.accel = now;
  ctx.log(`KVM demoted to TCG for the rest of the run: ${ctx.accel.why}`);
}

/** One planned boot: VM tries (`<id>`, then `<id>-try<n>`) until every run of it settled. */
async function runTries(boot: Boot, ctx: RunContext): Promise<void> {
  const { runDir, ledger, progress } = ctx;
  const total = ledger.runsByBoot.get(boot.id)?.length ?? 0;
  for (let n = 1; ; n++) {
    const pending = ledger.pending(boot.id);
    const before = total - pending.length;
    progress.update(boot.id, before);
    if (pending.length === 0) return;
    let bootId = n === 1 ? boot.id : `${boot.id}-try${n}`;
    while (existsSync(bootFiles(runDir, bootId).dir)) bootId = `${boot.id}-try${++n}`;
    const entry: { runs: PlannedRun[]; reader?: GuestRecordReader } = { runs: pending };
    ctx.active.set(bootId, entry);
    const done = await runBoot(
      { id: bootId, kernel: boot.kernel, runs: pending },
      {
        runDir,
        accel: ctx.accel.accel,
        bootTimeoutSec: ctx.o.bootTimeoutSec,
        stallSec: ctx.o.stallSec,
        memory: ctx.o.memory,
        // the boot's own (a lockdown level) after the user's: the guest checks the level it got
        kernelArgs: [...(ctx.o.kernelArgs ?? []), ...(boot.kernelArgs ?? [])],
        onCells: (k) => progress.update(boot.id, before + k),
        onReader: (reader) => {
          entry.reader = reader;
        },
      },
    );
    ctx.active.delete(bootId);
    noteAccelNow(ctx);
    chargeSilentBoot(done, pending, bootId);
    ledger.add(done.attempts);
    ctx.results.provenance.boots.push(done.provenance);
    ledger.save(runDir, ctx.results); // this boot's cells are on disk before the next boot starts
    const left = ledger.pending(boot.id).length;
    if (left) ctx.log(`${bootId}: ${bootSummary(done)}; ${left} run(s) go to a fresh boot`);
    else progress.finish(boot.id, bootSummary(done));
  }
}

/** Ctrl-C / SIGTERM: the VMs are killed first (run-vm), then what the running boots finished is
 * saved with the reports, and the run can be resumed. */
function saveOnInterrupt(ctx: RunContext, resultsDirFlag: string | undefined): () => void {
  return onInterrupt((sig) => {
    for (const [bootId, { runs, reader }] of ctx.active) {
      if (!reader) continue;
      const records = reader.finish();
      ctx.ledger.add(bootAttempts(runs, records, { ended: 'interrupted', exitCode: null, signal: sig }, bootId, ''));
      const kernel = runs[0]?.cell.kernel ?? '?';
      ctx.results.provenance.boots.push({ boot: bootId, kernel, guest: records.provenance, interrupted: sig });
    }
    ctx.results.interrupted = `${sig} at ${new Date().toISOString()}`;
    ctx.ledger.save(ctx.runDir, ctx.results);
    writeReports(ctx.runDir, ctx.results);
    const flag = resultsDirFlag ? ` --results ${resultsDirFlag}` : '';
    process.stderr.write(
      `capmatrix: ${ctx.results.cells.length} finished cell(s) saved in ${ctx.runDir}; ${ctx.results.pendingCells} left: ` +
        `capmatrix matrix --resume ${ctx.results.runId}${flag}\n`,
    );
  });
}

/** --jobs: how many VMs run at once (default: one per core). */
const vmsAtOnce = (jobs: number | undefined) => Math.max(1, jobs ?? os.availableParallelism());

/** Parallel VMs, one vCPU each; the planned boots with most cells start first so the tail is short. */
async function runInParallel(ctx: RunContext, boots: Boot[]): Promise<void> {
  const jobs = vmsAtOnce(ctx.o.jobs);
  const queue = [...boots].sort((a, b) => b.cells.length - a.cells.length);
  for (const boot of queue) ctx.progress.add(boot.id, ctx.ledger.runsByBoot.get(boot.id)?.length ?? 0);
  const worker = async () => {
    for (let boot = queue.shift(); boot; boot = queue.shift()) await runTries(boot, ctx);
  };
  await Promise.all(Array.from({ length: Math.min(jobs, boots.length) }, worker));
}

export async function runMatrix(input: MatrixOptions = {}): Promise<MatrixRun> {
  const log = input.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const resultsDir = input.resultsDir ?? RESULTS_DIR;
  const { o, resumed } = resolveOptions(input, resultsDir);
  const { kernels, cells, boots, accel } = await planRun(o, log);
  if (resumed) checkSameKernels(resumed.results, kernels);
  const runId = resumed?.results.runId ?? newRunId();
  const runDir = path.join(resultsDir, runId);
  mkdirSync(runDir, { recursive: true });
  const results = resumed?.results ?? newResults(runId, o, kernels, accel, cells);
  const ledger = new Ledger(boots, new Map(boots.map((b) => [b.id, runsOf(b.cells, o.repeat)])), o.retries);
  ledger.add(results.attempts ?? []); // a resumed run's
  // A harness killed outright (kill -9) leaves finished cells only in the boots' guest files.
  if (resumed) ledger.add(salvageOrphanBoots(runDir, results, ledger.allRuns()));
  ledger.save(runDir, results);
  linkLatest(resultsDir, runId);
  const owed = ledger.allRuns().filter((r) => !ledger.settled(r)).length;
  log(
    `${resumed ? 'resuming' : 'run'} ${runId}: ${cells.length} cells${o.repeat > 1 ? ` × ${o.repeat}` : ''}` +
      `${resumed ? `, ${owed} of ${ledger.allRuns().length} runs left` : ''}, ${boots.length} boot(s), ${accel.accel} (${accel.why})`,
  );
  const progress = createProgress(log, input.log ? false : undefined);
  const ctx: RunContext = { runDir, results, ledger, o, accel, progress, log, active: new Map() };
  const stopSaving = saveOnInterrupt(ctx, input.resultsDir);
  try {
    await runInParallel(ctx, boots);
  } finally {
    stopSaving();
    progress.stop();
  }
  results.finishedAt = new Date().toISOString();
  delete results.interrupted;
  ledger.save(runDir, results);
  appendStepSummary(readFileSync(writeReports(runDir, results).md, 'utf8'));
  const notOnKvm = o.requireKvm ? bootsNotOnKvm(results) : undefined;
  const done = { runDir, results, ...(notOnKvm ? { notOnKvm } : {}) };
  if (!input.updateExpected) return done;
  const scenarioDir = scenarioDirOf(PROJECT_DIR, o.scenarioDir);
  return { ...done, learned: learnFromRun(results.cells, results.kernels, runId, scenarioDir) };
}

/** --require-kvm after the run: KVM worked when the run started, but a guest may still have run
 * without it (a fallback to TCG); its clocksource tells. */
function bootsNotOnKvm(results: RunResults): string | undefined {
  const notKvm = results.provenance.boots.filter((b) => b.guest?.clocksource !== 'kvm-clock');
  if (notKvm.length === 0) return undefined;
  const which = notKvm.map((b) => `${b.boot} ran with clocksource ${terminalLine(b.guest?.clocksource ?? 'unknown')}`);
  return `--require-kvm: ${which.join(', ')}, not kvm-clock`;
}

/** A resumed run goes on with the kernels it started with: an unpinned entry may have fetched a
 * newer build under the same id since. */
function checkSameKernels(results: RunResults, kernels: KernelInfo[]): void {
  for (const k of kernels) {
    const was = results.kernels.find((r) => r.id === k.id)?.release;
    if (was && was !== k.release)
      throw new UsageError(
        `--resume: run ${results.runId} ran ${k.id} as ${was}; the cache now holds ${k.release}. Start a new run, or fetch ${was} again`,
      );
  }
}

/** Finished runs of boots that results.json never heard of (the harness died during them). The
 * guest's file is read as any guest file: by its own rules, never trusted for more than its keys. */
function salvageOrphanBoots(runDir: string, results: RunResults, runs: PlannedRun[]): Attempt[] {
  const known = new Set(results.provenance.boots.map((b) => b.boot));
  const have = new Set((results.attempts ?? []).map((a) => `${a.boot} ${a.key}`));
  const dir = path.join(runDir, 'boots');
  if (!existsSync(dir)) return [];
  const accepts = keysOfBoot({ runs });
  const out: Attempt[] = [];
  for (const bootId of readdirSync(dir).sort()) {
    if (known.has(bootId)) continue;
    const records = readGuestRecords(bootFiles(runDir, bootId).results, accepts);
    const bootRuns = runs.filter((r) => records.started.includes(r.key));
    const found = bootAttempts(bootRuns, records, { ended: 'interrupted', exitCode: null, signal: null }, bootId, '');
    out.push(...found.filter((a) => !have.has(`${a.boot} ${a.key}`)));
    const kernel = bootRuns[0]?.cell.kernel ?? '?';
    results.provenance.boots.push({ boot: bootId, kernel, guest: records.provenance, salvaged: true });
  }
  return out;
}
