// The main job: scenarios → cells → boots → VMs → guest records → verdicts → reports.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadScenarios } from '../dsl/load.js';
import { type Catalog, loadCatalog, selectKernels } from '../kernels/catalog.js';
import { fetchKernel, type KernelInfo } from '../kernels/providers.js';
import { REPO_ROOT, RESULTS_DIR } from '../paths.js';
import { checkPhaseOrder, planBoots } from '../plan/plan.js';
import { linkLatest, newRunId, type RunResults, writeResults } from '../report/results-json.js';
import { writeReports } from '../report/write-reports.js';
import { decideAccel } from '../vm/accel.js';
import { runBoot } from './boot.js';
import { hostInfo } from './host-info.js';
import { createProgress } from './progress.js';

export interface MatrixOptions {
  kernel?: string;
  scenarios?: string[];
  /** Only cells whose id matches. */
  cells?: RegExp;
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
  log?: (msg: string) => void;
}

export interface MatrixRun {
  runDir: string;
  results: RunResults;
}

export async function runMatrix(o: MatrixOptions = {}): Promise<MatrixRun> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // Everything that can be wrong with the input fails here, before any VM starts.
  const scenarios = await loadScenarios(REPO_ROOT, o.scenarios);
  const entries = selectKernels(o.catalog ?? loadCatalog(), o.kernel);
  const kernels: KernelInfo[] = [];
  for (const e of entries) kernels.push(await fetchKernel(e, log));
  const cells = scenarios.flatMap((s) => s.cells).filter((c) => !o.cells || o.cells.test(c.id));
  if (cells.length === 0) throw new Error(`--cells ${o.cells}: no cell id matches`);
  const boots = planBoots(cells, kernels, { bootPerCell: o.bootPerCell });
  for (const b of boots) checkPhaseOrder(b);

  const accel = decideAccel();
  if (o.requireKvm && accel.accel !== 'kvm') throw new Error(`--require-kvm: KVM does not work here (${accel.why})`);
  const resultsDir = o.resultsDir ?? RESULTS_DIR;
  const runId = newRunId();
  const runDir = path.join(resultsDir, runId);
  mkdirSync(runDir, { recursive: true });
  const results: RunResults = {
    schemaVersion: 1,
    runId,
    startedAt: new Date().toISOString(),
    finishedAt: null,
    host: { ...hostInfo(), accel: accel.accel, accelWhy: accel.why },
    kernels: kernels.map((k) => ({ id: k.id, release: k.release, source: k.source, accel: accel.accel })),
    cells: [],
    provenance: { boots: [] },
  };
  writeResults(runDir, results);
  linkLatest(resultsDir, runId);
  log(
    `run ${runId}: ${boots.reduce((n, b) => n + b.cells.length, 0)} cells, ${boots.length} boot(s), ${accel.accel} (${accel.why})`,
  );

  // Parallel VMs, one vCPU each; the longest boots start first so the tail is short.
  const jobs = Math.max(1, o.jobs ?? os.availableParallelism());
  const queue = [...boots].sort((a, b) => b.cells.length - a.cells.length);
  const progress = createProgress(log, o.log ? false : undefined);
  for (const b of queue) progress.add(b.id, b.cells.length);
  const order = new Map(boots.map((b, i) => [b.id, i]));
  const worker = async () => {
    for (let boot = queue.shift(); boot; boot = queue.shift()) {
      const id = boot.id;
      const done = await runBoot(boot, {
        runDir,
        accel: accel.accel,
        bootTimeoutSec: o.bootTimeoutSec,
        memory: o.memory,
        kernelArgs: o.kernelArgs,
        onCells: (n) => progress.update(id, n),
      });
      results.cells.push(...done.cells);
      results.provenance.boots.push(done.provenance);
      // Keep the file in plan order whatever finished first; a finished boot is on disk now.
      results.cells.sort((x, y) => (order.get(x.boot) ?? 0) - (order.get(y.boot) ?? 0));
      writeResults(runDir, results);
      const vm = done.provenance.vm ?? { ended: '?', wallMs: 0 };
      const bad = done.cells.filter((c) => c.verdict !== 'match').length;
      progress.finish(
        id,
        `${vm.ended} after ${(vm.wallMs / 1000).toFixed(0)} s, ${done.cells.length - bad}/${done.cells.length} match`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, boots.length) }, worker));
  progress.stop();
  results.finishedAt = new Date().toISOString();
  writeResults(runDir, results);
  writeReports(runDir, results);
  return { runDir, results };
}
