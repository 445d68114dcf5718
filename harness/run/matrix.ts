// The main job: scenarios → cells → boots → VMs → guest records → verdicts → reports.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { capNumber } from '../dsl/capabilities.js';
import { loadScenarios } from '../dsl/load.js';
import { RECORDED_SYSCTLS } from '../dsl/sysctls.js';
import { loadCatalog, selectKernels } from '../kernels/catalog.js';
import { fetchDebianKernel, type KernelInfo } from '../kernels/provider-debian.js';
import { hasLine, readGuestRecords } from '../outcome/guest-records.js';
import { type CellResult, cellResults } from '../outcome/verdict.js';
import { GUEST_AGENT, REPO_ROOT, RESULTS_DIR, SAMPLES_BUILD_DIR } from '../paths.js';
import { type Boot, checkPhaseOrder, planBoots } from '../plan/plan.js';
import { linkLatest, newRunId, type RunResults, writeResults } from '../report/results-json.js';
import { decideAccel } from '../vm/accel.js';
import { runVm } from '../vm/run-vm.js';
import { hostInfo } from './host-info.js';

export interface MatrixOptions {
  kernel?: string;
  scenarios?: string[];
  /** Only cells whose id matches. */
  cells?: RegExp;
  resultsDir?: string;
  bootTimeoutSec?: number;
  log?: (msg: string) => void;
}

export interface MatrixRun {
  runDir: string;
  results: RunResults;
}

/** The guest agent's plan for one boot: everything it needs, nothing it must look up. */
function guestPlan(boot: Boot, resultsFile: string) {
  return {
    schemaVersion: 1,
    bootId: boot.id,
    results: resultsFile,
    recordSysctls: RECORDED_SYSCTLS,
    cells: boot.cells.map((c) => ({
      id: c.id,
      sample: c.sample,
      binary: path.join(SAMPLES_BUILD_DIR, c.sample),
      caps: c.caps,
      capNumbers: c.caps === 'root' ? [] : c.caps.map(capNumber),
      uid: c.uid,
      sysctl: c.sysctl,
      args: c.args,
      setup: c.setup,
      teardown: c.teardown,
      timeoutSec: c.timeoutSec,
    })),
  };
}

export async function runMatrix(o: MatrixOptions = {}): Promise<MatrixRun> {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // Everything that can be wrong with the input fails here, before any VM starts.
  const scenarios = await loadScenarios(REPO_ROOT, o.scenarios);
  const entries = selectKernels(loadCatalog(), o.kernel);
  const kernels: KernelInfo[] = [];
  for (const e of entries) kernels.push(await fetchDebianKernel(e, log));
  const cells = scenarios.flatMap((s) => s.cells).filter((c) => !o.cells || o.cells.test(c.id));
  if (cells.length === 0) throw new Error(`--cells ${o.cells}: no cell id matches`);
  const boots = planBoots(cells, kernels);
  for (const b of boots) checkPhaseOrder(b);

  const accel = decideAccel();
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

  for (const boot of boots) {
    const bootDir = path.join(runDir, 'boots', boot.id);
    mkdirSync(bootDir, { recursive: true });
    const resultsFile = path.join(bootDir, 'guest-results.jsonl');
    const planFile = path.join(bootDir, 'plan.json');
    writeFileSync(planFile, `${JSON.stringify(guestPlan(boot, resultsFile), null, 2)}\n`);
    writeFileSync(resultsFile, '');
    const consoleLog = path.join(bootDir, 'console.log');
    const bootTimeoutSec = o.bootTimeoutSec ?? (accel.accel === 'kvm' ? 90 : 300);
    const cellsSec = boot.cells.reduce((n, c) => n + c.timeoutSec + 5, 0);
    log(`${boot.id}: booting ${boot.kernel.release} with ${boot.cells.length} cells`);
    const vm = await runVm({
      vmlinuz: boot.kernel.vmlinuz,
      accel: accel.accel,
      cpus: 1, // TCG + SMP guests panic in text patching (virtme-ng-notes.md); one vCPU per guest
      memory: '1G',
      rwdir: bootDir,
      append: [],
      command: ['node', GUEST_AGENT, planFile],
      deadlineSec: bootTimeoutSec + cellsSec + 60,
      consoleLog,
      bootTimeoutSec,
      booted: () => hasLine(resultsFile, 'provenance'),
      finished: () => hasLine(resultsFile, 'end'),
    });
    const records = readGuestRecords(resultsFile);
    const consoleText = readFileSync(consoleLog, 'utf8');
    const cells: CellResult[] = cellResults(boot.cells, records, vm, boot.id, consoleText);
    results.cells.push(...cells);
    results.provenance.boots.push({
      boot: boot.id,
      kernel: boot.kernel.id,
      vm: {
        ended: vm.ended,
        vngExit: vm.exitCode,
        signal: vm.signal,
        wallMs: vm.wallMs,
        bootMs: vm.bootMs,
        argv: vm.argv,
      },
      guest: records.provenance,
      agentFinished: records.ended,
      consoleLog: path.relative(runDir, consoleLog),
    });
    writeResults(runDir, results);
    log(
      `${boot.id}: ${vm.ended} after ${(vm.wallMs / 1000).toFixed(1)} s (agent up at ${vm.bootMs === null ? '-' : `${(vm.bootMs / 1000).toFixed(1)} s`})`,
    );
  }
  results.finishedAt = new Date().toISOString();
  writeResults(runDir, results);
  return { runDir, results };
}
