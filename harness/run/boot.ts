// One boot: write the guest plan into the boot's rwdir, run the VM, turn the guest's records
// into attempts. Progress comes from counting the guest's lines while it runs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Capability, capNumber } from '../dsl/capabilities.js';
import { RECORDED_SYSCTLS } from '../dsl/sysctls.js';
import type { KernelInfo } from '../kernels/kernel-info.js';
import type { Attempt } from '../outcome/attempts.js';
import { type BootProvenance, hasLine, readGuestRecords } from '../outcome/guest-records.js';
import { bootAttempts } from '../outcome/verdict.js';
import { GUEST_AGENT, SAMPLES_BUILD_DIR } from '../paths.js';
import type { PlannedCell, PlannedRun } from '../plan/plan.js';
import type { Accel } from '../vm/accel.js';
import { runVm } from '../vm/run-vm.js';

/** One cell as the guest agent runs it. */
export function guestCell(c: PlannedCell, key: string) {
  return {
    id: c.id,
    key,
    sample: c.sample,
    binary: path.join(SAMPLES_BUILD_DIR, c.sample),
    caps: c.caps,
    capNumbers: c.caps === 'root' ? [] : c.caps.map(capNumber),
    uid: c.uid,
    sysctl: c.sysctl,
    args: c.args,
    setup: c.setup,
    teardown: c.teardown,
    setupScope: c.setupScope,
    scenario: c.scenario,
    timeoutSec: c.timeoutSec,
  };
}

/** `capmatrix minimize`: a cell template whose capability sets the agent chooses itself. */
export interface GuestSearch {
  label: string;
  /** What the sets are made of: capabilities (file caps of the sample), or the token's
   * delegation items ("maps=queue") passed to the loader after `baseArgs`. */
  dimension: 'caps' | 'delegation';
  universe: string[];
  baseArgs?: string[];
  template: PlannedCell;
}

/** The guest agent's plan for one boot: everything it needs, nothing it must look up. */
export function guestPlan(boot: BootRuns, resultsFile: string) {
  return {
    schemaVersion: 1,
    bootId: boot.id,
    results: resultsFile,
    recordSysctls: RECORDED_SYSCTLS,
    cells: boot.runs.map(({ cell, key }) => guestCell(cell, key)),
    searches: (boot.searches ?? []).map((s) => ({
      label: s.label,
      dimension: s.dimension,
      universe: s.universe,
      baseArgs: s.baseArgs,
      capNumbers:
        s.dimension === 'caps' ? Object.fromEntries(s.universe.map((c) => [c, capNumber(c as Capability)])) : {},
      template: guestCell(s.template, s.label),
    })),
  };
}

/** What one VM runs: a first boot's runs, or the runs a retry boot still owes. */
export interface BootRuns {
  id: string;
  kernel: KernelInfo;
  runs: PlannedRun[];
  searches?: GuestSearch[];
}

export interface BootResult {
  attempts: Attempt[];
  provenance: BootProvenance;
}

export function bootFiles(runDir: string, bootId: string) {
  const dir = path.join(runDir, 'boots', bootId);
  return {
    dir,
    plan: path.join(dir, 'plan.json'),
    results: path.join(dir, 'guest-results.jsonl'),
    console: path.join(dir, 'console.log'),
  };
}

function countCells(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('{"type":"cell",').length - 1;
  } catch {
    return 0;
  }
}

export async function runBoot(
  boot: BootRuns,
  o: {
    runDir: string;
    accel: Accel;
    bootTimeoutSec?: number;
    memory?: string;
    kernelArgs?: string[];
    onCells?: (done: number) => void;
  },
): Promise<BootResult> {
  const files = bootFiles(o.runDir, boot.id);
  const { dir: bootDir, plan: planFile, results: resultsFile, console: consoleLog } = files;
  mkdirSync(bootDir, { recursive: true });
  writeFileSync(planFile, `${JSON.stringify(guestPlan(boot, resultsFile), null, 2)}\n`);
  writeFileSync(resultsFile, '');
  const bootTimeoutSec = o.bootTimeoutSec ?? (o.accel === 'kvm' ? 90 : 300);
  // a search runs at most every subset of its universe
  const cellsSec = [
    ...boot.runs.map((r) => r.cell.timeoutSec + 5),
    ...(boot.searches ?? []).map((s) => 2 ** s.universe.length * (s.template.timeoutSec + 5)),
  ].reduce((a, b) => a + b, 0);
  const ticker = setInterval(() => o.onCells?.(countCells(resultsFile)), 1000);
  const vm = await runVm({
    vmlinuz: boot.kernel.vmlinuz,
    accel: o.accel,
    cpus: 1, // TCG + SMP guests panic in text patching (virtme-ng-notes.md); one vCPU per guest
    memory: o.memory ?? '1G',
    rwdir: bootDir,
    append: o.kernelArgs ?? [],
    command: ['node', GUEST_AGENT, planFile],
    deadlineSec: bootTimeoutSec + cellsSec + 60,
    consoleLog,
    bootTimeoutSec,
    booted: () => hasLine(resultsFile, 'provenance'),
    finished: () => hasLine(resultsFile, 'end'),
  }).finally(() => clearInterval(ticker));
  o.onCells?.(countCells(resultsFile));
  const records = readGuestRecords(resultsFile);
  return {
    attempts: bootAttempts(boot.runs, records, vm, boot.id, readFileSync(consoleLog, 'utf8')),
    provenance: {
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
      consoleLog: path.relative(o.runDir, consoleLog),
    },
  };
}
