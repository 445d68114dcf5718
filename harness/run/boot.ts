// One boot: write the guest plan, run the VM, read the guest's records as they come (through the
// host's own descriptor, guest/protocol.ts's framing) and turn them into attempts.
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { RECORDED_SYSCTLS } from '../dsl/sysctls.js';
import { type GuestCell, type Plan, PROTOCOL_VERSION, type Search, searchRootKey } from '../guest/protocol.js';
import type { KernelInfo } from '../kernels/kernel-info.js';
import { uncompressedKernel } from '../kernels/uncompressed.js';
import { type Attempt, bootAttempts } from '../outcome/attempts.js';
import { bootPhases } from '../outcome/boot-phases.js';
import { GuestRecordReader, type GuestRecords } from '../outcome/guest-records.js';
import { GUEST_AGENT, GUEST_INIT, PACKAGE_ROOT, PROJECT_DIR, SAMPLES_BUILD_DIR } from '../paths.js';
import type { PlannedCell, PlannedRun } from '../plan/plan.js';
import { toolDigests } from '../plan/tool-digests.js';
import type { BootProvenance } from '../report/results-json.js';
import { type Accel, accelNow, demoteKvm } from '../vm/accel.js';
import { type HostView, hostViewWanted, prepareHostView, removeHostView } from '../vm/host-view.js';
import { bootQemuUser, chownTree, ownUser, qemuDropsRoot } from '../vm/qemu-user.js';
import { runVm } from '../vm/run-vm.js';
import { writeFileAtomic } from '../write-atomic.js';

/** One cell as the guest agent runs it. */
export function guestCell(c: PlannedCell, key: string): GuestCell {
  return {
    id: c.id,
    key,
    sample: c.sample,
    binary: c.binary ?? path.join(SAMPLES_BUILD_DIR, c.sample),
    mode: c.mode,
    ...(c.cwd ? { cwd: c.cwd } : {}),
    ...(c.okWhen ? { okWhen: c.okWhen } : {}),
    caps: c.caps === 'root' ? 'root' : [...c.caps],
    ...(c.grant && c.grant !== 'file' ? { grant: c.grant } : {}),
    ...(c.lockdown ? { lockdown: c.lockdown } : {}),
    ...(c.memlock ? { memlock: c.memlock } : {}),
    uid: c.uid,
    ...(c.inside ? { inside: c.inside } : {}),
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
export interface GuestSearch extends Omit<Search, 'template'> {
  template: PlannedCell;
}

/** What one VM runs: a first boot's runs, or the runs a retry boot still owes. */
export interface BootRuns {
  id: string;
  kernel: KernelInfo;
  runs: PlannedRun[];
  searches?: GuestSearch[];
}

/** The guest agent's plan for one boot: everything it needs, nothing it must look up. */
export function guestPlan(boot: BootRuns, files: BootFiles): Plan {
  const cells = boot.runs.map(({ cell, key }) => guestCell(cell, key));
  const searches = (boot.searches ?? []).map((s) => ({ ...s, template: guestCell(s.template, s.label) }));
  return {
    protocol: PROTOCOL_VERSION,
    bootId: boot.id,
    results: files.results,
    rwdir: files.rwdir,
    recordSysctls: RECORDED_SYSCTLS,
    cells,
    searches,
    // throws, before this boot's VM, when a system tool on the host is not its package's file
    toolDigests: toolDigests([...cells, ...searches.map((s) => s.template)]),
  };
}

/** The run keys a boot's records may carry: its runs', `<label>#<n>` for its searches (and
 * `<label>#<grant>-<n>` for each form one checks), and a capability search's root run. */
export function keysOfBoot(boot: {
  runs: Pick<BootRuns['runs'][number], 'key'>[];
  searches?: Pick<GuestSearch, 'label' | 'dimension' | 'forms'>[];
}): (key: string) => boolean {
  const runs = new Set(boot.runs.map((r) => r.key));
  for (const s of boot.searches ?? []) if (s.dimension === 'caps') runs.add(searchRootKey(s.label));
  const labels = new Set((boot.searches ?? []).map((s) => s.label));
  // a search that checks forms runs each minimal set once more for each: `<label>#<grant>-<n>`
  const forms = new Map((boot.searches ?? []).map((s) => [s.label, new Set<string>(s.forms ?? [])]));
  return (key) => {
    if (runs.has(key)) return true;
    const hash = key.lastIndexOf('#');
    const [label, n] = [key.slice(0, hash), key.slice(hash + 1)];
    if (hash <= 0) return false;
    const form = /^([a-z-]+)-\d+$/.exec(n)?.[1];
    return (labels.has(label) && /^\d+$/.test(n)) || (form !== undefined && forms.get(label)?.has(form) === true);
  };
}

export interface BootResult {
  attempts: Attempt[];
  provenance: BootProvenance;
  records: GuestRecords;
}

export type BootFiles = ReturnType<typeof bootFiles>;

/** The plan and the console stay out of vng's --rwdir: the guest can write only `rwdir`. */
export function bootFiles(runDir: string, bootId: string) {
  const dir = path.join(runDir, 'boots', bootId);
  const rwdir = path.join(dir, 'guest');
  return {
    dir,
    rwdir,
    plan: path.join(dir, 'plan.json'),
    results: path.join(rwdir, 'guest-results.jsonl'),
    console: path.join(dir, 'console.log'),
  };
}

/** Creates the boot's files; the results file exists (empty) before the guest can touch it.
 * QEMU reads them as a uid of its own (qemu-user.ts): readable by others, whatever the umask. */
function prepareBoot(boot: BootRuns, files: BootFiles): void {
  mkdirSync(files.rwdir, { recursive: true });
  writeFileAtomic(files.plan, `${JSON.stringify(guestPlan(boot, files), null, 2)}\n`);
  closeSync(openSync(files.results, 'wx'));
  for (const dir of [files.dir, files.rwdir]) chmodSync(dir, 0o755);
  for (const file of [files.plan, files.results]) chmodSync(file, 0o644);
}

/** The host paths a boot's guest needs (docs/trust-model.md): the project, capmatrix's package
 * (agent bundle, built samples), the boot's directory (its plan; the rwdir inside is vng's
 * --rwdir), node's installation when it is not under /usr, and what the cells name: a user's
 * loader, its cwd, the files `{copy:…}` brings into a cell (a user's object). */
export function viewPaths(plan: Plan, files: Pick<BootFiles, 'dir'>): string[] {
  const node = realpathSync(process.execPath);
  const paths = [PROJECT_DIR, PACKAGE_ROOT, GUEST_AGENT, files.dir];
  if (!node.startsWith('/usr/')) paths.push(path.resolve(path.dirname(node), '..'));
  for (const c of [...plan.cells, ...plan.searches.map((s) => s.template)]) {
    paths.push(c.binary);
    if (c.cwd) paths.push(c.cwd);
    for (const arg of [...c.args, ...c.setup.flat(), ...c.teardown.flat()])
      for (const m of arg.matchAll(/\{copy:([^}]+)\}/g)) if (m[1] && path.isAbsolute(m[1])) paths.push(m[1]);
  }
  return paths;
}

/** The boot's view of the host (host-view.ts); the kernel's modules come from its own tree.
 * None when capmatrix is not root: vng then shares `/` as this user can read it. */
function bootView(boot: BootRuns, files: BootFiles): HostView | undefined {
  if (!hostViewWanted()) return undefined;
  const modules = path.resolve(path.dirname(boot.kernel.vmlinuz), '..', 'lib', 'modules', boot.kernel.release);
  return prepareHostView({ paths: viewPaths(guestPlan(boot, files), files), modules });
}

/** Seconds a boot may take after it booted: a search runs at most every subset of its universe. */
function cellsBudgetSec(boot: BootRuns): number {
  return [
    ...boot.runs.map((r) => r.cell.timeoutSec + 5),
    ...(boot.searches ?? []).map((s) => 2 ** s.universe.length * (s.template.timeoutSec + 5)),
  ].reduce((a, b) => a + b, 0);
}

export interface BootOptions {
  runDir: string;
  accel: Accel;
  bootTimeoutSec?: number;
  /** Seconds of an agent's silence that end the boot (default: stallSec). */
  stallSec?: number;
  memory?: string;
  kernelArgs?: string[];
  onCells?: (done: number) => void;
  /** Called once the results reader exists, so an interrupt can read what finished. */
  onReader?: (reader: GuestRecordReader) => void;
}

/** Seconds without a record (the agent beats every BEAT_MS) after which the agent is taken for
 * stopped or stuck: generous under TCG, where four guests on two cores slow each other, and the
 * agent's synchronous steps (the boot's setcap, a setup command) hold its beats back. */
const stallSec = (accel: Accel) => (accel === 'kvm' ? 15 : 45);

/** A guest's memory (vng --memory) when the run gives none; `matrix --memory` shows it as its default. */
export const DEFAULT_MEMORY = '1G';

/** One VM over the boot's files, read by a fresh results reader. */
async function startVm(boot: BootRuns, o: BootOptions, files: BootFiles, accel: Accel) {
  const reader = new GuestRecordReader(files.results, keysOfBoot(boot));
  o.onReader?.(reader);
  const bootTimeoutSec = o.bootTimeoutSec ?? (accel === 'kvm' ? 90 : 300);
  const view = bootView(boot, files);
  // the guest's only writable share is lent to this boot's QEMU, and taken back after it
  const qemuUser = qemuDropsRoot() ? bootQemuUser() : undefined;
  if (qemuUser) chownTree(files.rwdir, qemuUser);
  const ticker = setInterval(() => o.onCells?.(reader.poll().cells.size), 1000);
  const image = uncompressedKernel(boot.kernel);
  const vm = await runVm({
    vmlinuz: image.file ?? boot.kernel.vmlinuz,
    accel,
    cpus: 1, // TCG + SMP guests panic in text patching (virtme-ng-notes.md); one vCPU per guest
    memory: o.memory ?? DEFAULT_MEMORY,
    rwdir: files.rwdir,
    append: o.kernelArgs ?? [],
    command: ['node', GUEST_AGENT, files.plan],
    deadlineSec: bootTimeoutSec + cellsBudgetSec(boot) + 60,
    consoleLog: files.console,
    bootTimeoutSec,
    booted: () => reader.poll().provenance !== null,
    // a file the host stopped reading cannot tell more: end the VM
    finished: () => reader.poll().ended || reader.records.stopped !== null,
    stalled: () => {
      const last = reader.poll().lastRecordAt;
      return last !== null && Date.now() - last > (o.stallSec ?? stallSec(accel)) * 1000;
    },
    view,
    qemuUser,
    ...(existsSync(GUEST_INIT) ? { init: GUEST_INIT } : {}),
  }).finally(() => {
    clearInterval(ticker);
    if (view) removeHostView(view);
    if (qemuUser) chownTree(files.rwdir, ownUser());
  });
  return { vm: { ...vm, image }, reader };
}

/** KVM killed the guest: KVM is demoted, and a boot that had not run a cell starts again under
 * TCG on the same files (the dead console kept beside them). */
async function startVmFallingBack(boot: BootRuns, o: BootOptions, files: BootFiles) {
  const first = await startVm(boot, o, files, accelNow(o.accel));
  if (first.vm.ended !== 'accel-failed') return { ...first, kvmDeath: undefined };
  demoteKvm(first.vm.accelDeath ?? 'KVM');
  if (accelNow(o.accel) !== 'tcg' || first.reader.poll().started.length > 0) return { ...first, kvmDeath: undefined };
  renameSync(files.console, `${files.console}.kvm`);
  writeFileSync(files.results, '');
  return { ...(await startVm(boot, o, files, 'tcg')), kvmDeath: first.vm.accelDeath };
}

export async function runBoot(boot: BootRuns, o: BootOptions): Promise<BootResult> {
  const files = bootFiles(o.runDir, boot.id);
  prepareBoot(boot, files);
  const { vm, reader, kvmDeath } = await startVmFallingBack(boot, o, files);
  const records = reader.finish();
  o.onCells?.(records.cells.size);
  const consoleText = readFileSync(files.console, 'utf8');
  return {
    attempts: bootAttempts(boot.runs, records, vm, boot.id, consoleText),
    records,
    provenance: {
      boot: boot.id,
      kernel: boot.kernel.id,
      vm: {
        ended: vm.ended,
        ...(vm.accelDeath ? { accelDeath: vm.accelDeath } : {}),
        // the boot first died under KVM and ran again under TCG
        ...(kvmDeath ? { fellBackToTcg: kvmDeath } : {}),
        vngExit: vm.exitCode,
        signal: vm.signal,
        wallMs: vm.wallMs,
        bootMs: vm.bootMs,
        argv: vm.argv,
        // the kernel as booted: uncompressed through its PVH entry, or the bzImage (file null)
        kernelImage: vm.image,
        // QEMU's uid:gid after it dropped root (null: it ran as capmatrix's own user)
        qemuUser: vm.qemuUser ? `${vm.qemuUser.uid}:${vm.qemuUser.gid}` : null,
      },
      guest: records.provenance,
      agentFinished: records.ended,
      ...(records.prepare ? { prepare: records.prepare } : {}),
      ...(records.fingerprint ? { fingerprint: records.fingerprint } : {}),
      ...(records.cellParts ? { cellParts: records.cellParts } : {}),
      ...(records.recorderOff ? { recorderOff: records.recorderOff } : {}),
      phases: bootPhases(consoleText, records.provenance?.uptimeMs ?? null, vm.bootMs, records.firstCellMs),
      ...(records.violations.length ? { violations: records.violations } : {}),
      consoleLog: path.relative(o.runDir, files.console),
    },
  };
}
