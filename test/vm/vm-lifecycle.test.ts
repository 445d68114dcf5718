// A real QEMU on the real default kernel: a boot under KVM that falls back to TCG, and the boot
// watchdog killing the whole process group (vng's argv, the host view: test/vm.test.ts).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { run } from '../../harness/exec.js';
import { loadCatalog, selectKernels } from '../../harness/kernels/catalog.js';
import { cachedKernel } from '../../harness/kernels/providers.js';
import { GUEST_INIT } from '../../harness/paths.js';
import { runBoot } from '../../harness/run/boot.js';
import { accelNow, decideAccel, kvmDeathIn } from '../../harness/vm/accel.js';
import { liveGroupMembers } from '../../harness/vm/process-group.js';
import { runVm } from '../../harness/vm/run-vm.js';
import { vngArgv } from '../../harness/vm/vng-argv.js';
import { vmOptions as opts } from '../vm-options.js';

function defaultKernel() {
  const [entry] = selectKernels(loadCatalog());
  const kernel = entry && cachedKernel(entry);
  if (!kernel) throw new Error('default kernel not in the cache: npm test runs setup first, which fetches it');
  return kernel;
}

// A real QEMU on the real default kernel: the boot watchdog fires and nothing of the group survives.
describe('VM lifecycle', () => {
  // Where KVM works the guest simply runs under it; where it does not (here: QEMU aborts on an
  // MSR, or pauses on "KVM internal error"), the boot notices at once and runs again under TCG,
  // and later boots of this host boot go to TCG straight away.
  test('a boot that chose KVM runs its guest, falling back to TCG when KVM kills it', async () => {
    const demotedBefore = accelNow('kvm') === 'tcg';
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-accel-'));
    const done = await runBoot({ id: 'accel', kernel: defaultKernel(), runs: [] }, { runDir, accel: 'kvm' });
    expect(done.provenance.guest).not.toBeNull(); // the guest agent ran
    const kvmConsole = path.join(runDir, 'boots', 'accel', 'console.log.kvm');
    const died = existsSync(kvmConsole) ? kvmDeathIn(readFileSync(kvmConsole, 'utf8')) : null;
    expect(done.provenance.vm).toMatchObject(died ? { fellBackToTcg: died } : { ended: 'exited' });
    if (demotedBefore) expect(died).toBeNull();
    const tcg = demotedBefore || died !== null;
    expect(((done.provenance.vm?.argv ?? []) as string[]).includes('--disable-kvm')).toBe(tcg);
    if (died) expect(decideAccel()).toMatchObject({ accel: 'tcg' });
  }, 600_000);

  // bpf-src/guest_init is PID 1 only because virtme's initramfs runs the first init= it reads
  // and vng puts --append before its own: an upgrade of vng that changes either shows here
  test("capmatrix's init= comes before vng's own on the kernel command line (vng --dry-run)", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-vm-'));
    const argv = vngArgv({ ...opts, vmlinuz: defaultKernel().vmlinuz, rwdir: dir, init: GUEST_INIT });
    const vng = argv.slice(argv.indexOf('vng'));
    const r = run(vng[0] ?? 'vng', [...vng.slice(1, vng.indexOf('--')), '--dry-run', ...vng.slice(vng.indexOf('--'))]);
    const append = /-append '([^']*)'/.exec(r.stdout + r.stderr)?.[1] ?? '';
    const inits = [...append.matchAll(/(?:^| )init=(\S+)/g)].map((m) => m[1]);
    expect(inits[0]).toBe(GUEST_INIT);
    expect(inits.length).toBeGreaterThan(1); // vng's own follows: the initramfs reads the first
    // the whole boot with it: test/vm/faults.test.ts (the guest's PID 1 is guest_init)
  });

  test('boot timeout kills the whole QEMU process group', async () => {
    const kernel = defaultKernel();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-vm-'));
    const run = await runVm({
      ...opts,
      vmlinuz: kernel.vmlinuz,
      rwdir: dir,
      append: [],
      command: ['sleep', '600'],
      deadlineSec: 600,
      consoleLog: path.join(dir, 'console.log'),
      bootTimeoutSec: 10,
      booted: () => false,
      finished: () => false,
      stalled: () => false,
    });
    expect(run.ended).toBe('boot-timeout');
    expect(run.wallMs).toBeLessThan(60_000);
    // QEMU really ran (the kernel printed its banner) and nothing of the group is left running.
    expect(readFileSync(path.join(dir, 'console.log'), 'utf8')).toMatch(/Linux version 6\./);
    expect(liveGroupMembers(run.pgid)).toEqual([]);
  });
});
