import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadCatalog, selectKernels } from '../harness/kernels/catalog.js';
import { cachedKernel } from '../harness/kernels/providers.js';
import { liveGroupMembers } from '../harness/vm/process-group.js';
import { runVm } from '../harness/vm/run-vm.js';
import { vngArgv } from '../harness/vm/vng-argv.js';

const opts = {
  vmlinuz: '/k/boot/vmlinuz-6.12',
  accel: 'tcg' as const,
  cpus: 1,
  memory: '1G',
  rwdir: '/r; rm -rf /',
  append: ['a=1'],
  command: ['node', '/x/agent.mjs', '/r/plan json'],
  deadlineSec: 100.2,
};

describe('vng argv', () => {
  test('an argument array under setpriv --pdeathsig and timeout(1), TCG when asked, the command after --', () => {
    expect(vngArgv(opts)).toEqual([
      'setpriv',
      '--pdeathsig',
      'TERM',
      '--',
      'timeout',
      '--kill-after=10',
      '101',
      'vng',
      '--run',
      '/k/boot/vmlinuz-6.12',
      '--disable-kvm',
      '--cpus',
      '1',
      '--memory',
      '1G',
      '--rwdir',
      '/r; rm -rf /',
      '--verbose',
      '--append',
      'a=1',
      '--',
      'node',
      '/x/agent.mjs',
      '/r/plan json',
    ]);
    expect(vngArgv({ ...opts, accel: 'kvm' })).not.toContain('--disable-kvm');
  });
});

// A real QEMU on the real default kernel: the boot watchdog fires and nothing of the group survives.
describe('VM lifecycle', () => {
  test('boot timeout kills the whole QEMU process group', async () => {
    const [entry] = selectKernels(loadCatalog());
    const kernel = entry && cachedKernel(entry);
    if (!kernel) throw new Error('default kernel not in the cache: npm test runs setup first, which fetches it');
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
    });
    expect(run.ended).toBe('boot-timeout');
    expect(run.wallMs).toBeLessThan(60_000);
    // QEMU really ran (the kernel printed its banner) and nothing of the group is left running.
    expect(readFileSync(path.join(dir, 'console.log'), 'utf8')).toMatch(/Linux version 6\./);
    expect(liveGroupMembers(run.pgid)).toEqual([]);
  });
});
