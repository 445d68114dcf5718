// The main job: scenarios → cells → boots → VMs → guest records → attempts → verdicts → reports.
// A boot that dies (panic, agent crash, timeout) is followed by a fresh boot that runs what is
// left: the runs it never reached and, up to `retries` times, the run that failed.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { learnFromRun, pendingReviews } from '../dsl/learned.js';
import { loadScenarios } from '../dsl/load.js';
import { type Catalog, loadCatalog, selectKernels } from '../kernels/catalog.js';
import { fetchKernel, type KernelInfo } from '../kernels/providers.js';
import { type Attempt, runSettled } from '../outcome/attempts.js';
import { readGuestRecords } from '../outcome/guest-records.js';
import { bootAttempts, type CellResult, finalizeCell } from '../outcome/verdict.js';
import { REPO_ROOT, RESULTS_DIR } from '../paths.js';
import { type Boot, checkPhaseOrder, type PlannedRun, planBoots, runsOf } from '../plan/plan.js';
import { linkLatest, newRunId, type RunOptions, type RunResults, writeResults } from '../report/results-json.js';
import { writeReports } from '../report/write-reports.js';
import { decideAccel } from '../vm/accel.js';
import { onInterrupt } from '../vm/run-vm.js';
import { bootFiles, runBoot } from './boot.js';
import { hostInfo } from './host-info.js';
import { createProgress } from './progress.js';
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
  /** Guest memory (vng --memory) and extra kernel command line arguments. */
  memory?: string;
  kernelArgs?: string[];
  bootTimeoutSec?: number;
  /** Learn mode: write the observed outcomes of mismatching cells as learned expectations. */
  updateExpected?: boolean;
  log?: (msg: string) => void;
}

export interface MatrixRun {
  runDir: string;
  results: RunResults;
  /** Learn mode: one line per learned expectation written. */
  learned?: string[];
}

export async function runMatrix(input: MatrixOptions = {}): Promise<MatrixRun> {
  const log = input.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const resultsDir = input.resultsDir ?? RESULTS_DIR;
  // --resume: the options are the interrupted run's own
  const resumed = input.resume ? resolveResume(resultsDir, input.resume) : null;
  const o: MatrixOptions & RunOptions = resumed
    ? {
        ...input,
        ...resumed.results.options,
        repeat: resumed.results.options?.repeat ?? 1,
        retries: resumed.results.options?.retries ?? 1,
      }
    : { ...input, repeat: input.repeat ?? 1, retries: input.retries ?? 1 };

  // Everything that can be wrong with the input fails here, before any VM starts.
  const scenarios = await loadScenarios(REPO_ROOT, o.scenarios, o.scenarioDir);
  const awaitingReview = pendingReviews(scenarios);
  if (awaitingReview.length)
    log(
      `${awaitingReview.length} learned expectation(s) await a reviewer's reason (npm test fails until then):\n  ${awaitingReview.join('\n  ')}`,
    );
  const entries = selectKernels(o.catalog ?? loadCatalog(), o.kernel);
  const kernels: KernelInfo[] = [];
  for (const e of entries) kernels.push(await fetchKernel(e, log));
  const filter = o.cells ? new RegExp(o.cells) : undefined;
  const cells = scenarios.flatMap((s) => s.cells).filter((c) => !filter || filter.test(c.id));
  if (cells.length === 0) throw new Error(`--cells ${o.cells}: no cell id matches`);
  const lanes = planBoots(cells, kernels, { bootPerCell: o.bootPerCell });
  for (const b of lanes) checkPhaseOrder(b);

  const accel = decideAccel();
  if (o.requireKvm && accel.accel !== 'kvm') throw new Error(`--require-kvm: KVM does not work here (${accel.why})`);
  const runId = resumed?.results.runId ?? newRunId();
  const runDir = path.join(resultsDir, runId);
  mkdirSync(runDir, { recursive: true });
  const options: RunOptions = {
    kernel: o.kernel,
    scenarios: o.scenarios,
    scenarioDir: o.scenarioDir,
    cells: o.cells,
    repeat: o.repeat,
    retries: o.retries,
    memory: o.memory,
    kernelArgs: o.kernelArgs,
  };
  const results: RunResults = resumed?.results ?? {
    schemaVersion: 1,
    runId,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    host: { ...hostInfo(), accel: accel.accel, accelWhy: accel.why },
    kernels: kernels.map((k) => ({ id: k.id, release: k.release, source: k.source, accel: accel.accel })),
    cells: [],
    provenance: { boots: [] },
    options,
    attempts: [],
  };
  const attempts: Attempt[] = [];
  const byKey = new Map<string, Attempt[]>();
  const addAttempts = (list: Attempt[]) => {
    for (const a of list) {
      attempts.push(a);
      byKey.set(a.key, [...(byKey.get(a.key) ?? []), a]);
    }
  };
  addAttempts(results.attempts ?? []); // a resumed run's

  const laneRuns = new Map(lanes.map((l) => [l.id, runsOf(l.cells, o.repeat)]));
  const settled = (r: PlannedRun) => runSettled(byKey.get(r.key) ?? [], o.retries);
  // A harness killed outright (kill -9) leaves finished cells only in the boots' guest files.
  if (resumed) addAttempts(salvageOrphanBoots(runDir, results, [...laneRuns.values()].flat()));

  /** results.json from the attempts: every cell whose runs all settled, in plan order. */
  const save = () => {
    const done: CellResult[] = [];
    let pending = 0;
    for (const lane of lanes) {
      for (const cell of lane.cells) {
        const runs = (laneRuns.get(lane.id) ?? []).filter((r) => r.cell === cell);
        if (runs.every(settled))
          done.push(
            finalizeCell(
              cell,
              runs.flatMap((r) => byKey.get(r.key) ?? []),
            ),
          );
        else pending++;
      }
    }
    results.cells = done;
    results.attempts = attempts;
    results.pendingCells = pending;
    writeResults(runDir, results);
  };
  save();
  linkLatest(resultsDir, runId);
  const totalRuns = [...laneRuns.values()].reduce((n, r) => n + r.length, 0);
  const owed = [...laneRuns.values()].flat().filter((r) => !settled(r)).length;
  log(
    `${resumed ? 'resuming' : 'run'} ${runId}: ${cells.length} cells${o.repeat > 1 ? ` × ${o.repeat}` : ''}` +
      `${resumed ? `, ${owed} of ${totalRuns} runs left` : ''}, ${lanes.length} boot(s), ${accel.accel} (${accel.why})`,
  );

  // Ctrl-C / SIGTERM: the VMs are killed first (run-vm), then what the running boots finished
  // is saved with the reports, and the run can be resumed.
  const active = new Map<string, PlannedRun[]>();
  const stopSaving = onInterrupt((sig) => {
    for (const [bootId, runs] of active) {
      const records = readGuestRecords(bootFiles(runDir, bootId).results);
      addAttempts(bootAttempts(runs, records, { ended: 'interrupted', exitCode: null, signal: sig }, bootId, ''));
      results.provenance.boots.push({
        boot: bootId,
        kernel: runs[0]?.cell.kernel ?? '?',
        guest: records.provenance,
        interrupted: sig,
      });
    }
    results.interrupted = `${sig} at ${new Date().toISOString()}`;
    save();
    writeReports(runDir, results);
    process.stderr.write(
      `capmatrix: ${results.cells.length} finished cell(s) saved in ${runDir}; ${results.pendingCells} left: ` +
        `capmatrix matrix --resume ${runId}${input.resultsDir ? ` --results ${input.resultsDir}` : ''}\n`,
    );
  });

  // Parallel VMs, one vCPU each; the longest lanes start first so the tail is short.
  const jobs = Math.max(1, o.jobs ?? os.availableParallelism());
  const queue = [...lanes].sort((a, b) => b.cells.length - a.cells.length);
  const progress = createProgress(log, input.log ? false : undefined);
  for (const lane of queue) progress.add(lane.id, laneRuns.get(lane.id)?.length ?? 0);
  const worker = async () => {
    for (let lane = queue.shift(); lane; lane = queue.shift()) await runLane(lane);
  };
  const runLane = async (lane: Boot) => {
    const runs = laneRuns.get(lane.id) ?? [];
    for (let n = 1; ; n++) {
      const pending = runs.filter((r) => !settled(r));
      const before = runs.length - pending.length;
      progress.update(lane.id, before);
      if (pending.length === 0) break;
      let bootId = n === 1 ? lane.id : `${lane.id}-try${n}`;
      while (existsSync(bootFiles(runDir, bootId).dir)) bootId = `${lane.id}-try${++n}`;
      active.set(bootId, pending);
      const done = await runBoot(
        { id: bootId, kernel: lane.kernel, runs: pending },
        {
          runDir,
          accel: accel.accel,
          bootTimeoutSec: o.bootTimeoutSec,
          memory: o.memory,
          kernelArgs: o.kernelArgs,
          onCells: (k) => progress.update(lane.id, before + k),
        },
      );
      active.delete(bootId);
      // A boot that charged nobody (died between two cells) charges the first run it owed,
      // so a boot that keeps dying cannot loop forever.
      const first = pending[0];
      if (done.attempts.length === 0 && first) {
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
      addAttempts(done.attempts);
      results.provenance.boots.push(done.provenance);
      save(); // this boot's cells are on disk before the next boot starts
      const left = runs.filter((r) => !settled(r)).length;
      const vm = done.provenance.vm ?? { ended: '?', wallMs: 0 };
      const bad = done.attempts.filter((a) => !a.observed);
      const why = bad.length
        ? `, ${bad.length} infra error(s): ${[...new Set(bad.map((a) => a.infraKind))].join(', ')}`
        : '';
      if (left)
        log(`${bootId}: ${vm.ended} after ${(vm.wallMs / 1000).toFixed(0)} s${why}; ${left} run(s) go to a fresh boot`);
      else progress.finish(lane.id, `${vm.ended} after ${(vm.wallMs / 1000).toFixed(0)} s${why}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, lanes.length) }, worker));
  } finally {
    stopSaving();
    progress.stop();
  }
  results.finishedAt = new Date().toISOString();
  delete results.interrupted;
  save();
  writeReports(runDir, results);
  if (!input.updateExpected) return { runDir, results };
  const learned = learnFromRun(
    results.cells,
    results.kernels,
    runId,
    path.resolve(REPO_ROOT, o.scenarioDir ?? 'scenarios'),
  );
  return { runDir, results, learned };
}

/** Finished runs of boots that results.json never heard of (the harness died during them). */
function salvageOrphanBoots(runDir: string, results: RunResults, runs: PlannedRun[]): Attempt[] {
  const known = new Set(results.provenance.boots.map((b) => b.boot));
  const have = new Set((results.attempts ?? []).map((a) => `${a.boot} ${a.key}`));
  const byKey = new Map(runs.map((r) => [r.key, r]));
  const dir = path.join(runDir, 'boots');
  if (!existsSync(dir)) return [];
  const out: Attempt[] = [];
  for (const bootId of readdirSync(dir).sort()) {
    if (known.has(bootId)) continue;
    const files = bootFiles(runDir, bootId);
    if (!existsSync(files.plan)) continue;
    const plan = JSON.parse(readFileSync(files.plan, 'utf8')) as { cells: { key: string }[] };
    const bootRuns = plan.cells.flatMap((c) => byKey.get(c.key) ?? []);
    const records = readGuestRecords(files.results);
    const found = bootAttempts(bootRuns, records, { ended: 'interrupted', exitCode: null, signal: null }, bootId, '');
    out.push(...found.filter((a) => !have.has(`${a.boot} ${a.key}`)));
    results.provenance.boots.push({
      boot: bootId,
      kernel: bootRuns[0]?.cell.kernel ?? '?',
      guest: records.provenance,
      salvaged: true,
    });
  }
  return out;
}
