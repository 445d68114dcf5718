// Where a boot's time went, from a console as guest_init's boots write it (debian-6.12, TCG).
import { describe, expect, test } from 'vitest';
import { bootPhases } from '../harness/outcome/boot-phases.js';

const console = [
  '[    0.000000] Linux version 6.12.117+deb13-amd64',
  '[    2.778606] Run /init as init process',
  '[    3.297334] virtme initramfs: done; switching to real root',
  '[    3.500798] guest_init: starting the command',
  '[   13.609654] guest_init: the command returned 0',
].join('\n');

describe('boot phases', () => {
  test('each phase from its marks: the kernel, the initramfs, the init, the agent, QEMU on the host, the preparation', () => {
    expect(bootPhases(console, 9_200, 11_600, 1_100)).toEqual({
      kernel: 2779,
      initramfs: 518,
      init: 204,
      agent: 5699,
      qemu: 2400,
      prepare: 1100,
    });
    // a boot without cells (or no end record) has no preparation phase
    expect(bootPhases(console, 9_200, 11_600)).not.toHaveProperty('prepare');
  });

  test("virtme-init's mark counts too; a missing mark or a clock that runs back leaves its phases out", () => {
    const virtme = console.replace('guest_init: starting the command', 'virtme-init: starting script');
    expect(bootPhases(virtme, 9_200, null).init).toBe(204);
    expect(bootPhases(console.replace('Run /init', 'Ran'), null, null)).toEqual({ init: 204 });
    // a command mark later than the agent's uptime: no negative agent phase, no QEMU phase from a clock that runs back
    expect(bootPhases(console, 3_000, 1_000)).toEqual({ kernel: 2779, initramfs: 518, init: 204 });
  });
});
