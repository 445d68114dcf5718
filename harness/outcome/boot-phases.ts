// Where a boot's time went, phase by phase, from the console's kernel timestamps and the agent's
// first record: so the next person sees which part of a boot to work on (BENCHMARKS.md). The
// console is the guest's, so untrusted: only numbers are taken from it, and a phase whose marks
// are missing or out of order is left out, never guessed.

/** Milliseconds each phase took, by name; a phase is absent when its marks were not found:
 * - qemu: vng and QEMU on the host and the firmware, until the kernel's clock starts (the host's
 *   time to the agent's first record, less the guest's uptime then);
 * - kernel: the kernel's own start until it runs the initramfs's /init;
 * - initramfs: virtme's initramfs (modules, the host's root over 9p, switch_root);
 * - init: the guest's init (capmatrix's guest_init, or virtme-init) until it starts the command;
 * - agent: node and the agent's own start until its first record;
 * - prepare: the agent's first record until its first cell starts (its own count, the end record). */
export type BootPhases = Record<string, number>;

/** Console lines that mark the phases' ends (the kernel's "[ seconds]" stamp is read). */
const MARKS = {
  initramfs: /Run \/init as init process/,
  switched: /virtme initramfs: done; switching to real root/,
  command: /guest_init: starting the command|starting script/,
};

function stampOf(console: string, mark: RegExp): number | null {
  for (const line of console.split('\n')) {
    if (!mark.test(line)) continue;
    const m = /^\[\s*(\d+\.\d+)\]/.exec(line);
    return m ? Math.round(Number(m[1]) * 1000) : null;
  }
  return null;
}

/** `agentUptimeMs`: the guest's uptime at the agent's first record; `bootMs`: the host's time
 * from spawning vng to that record. */
export function bootPhases(
  console: string,
  agentUptimeMs: number | null,
  bootMs: number | null,
  firstCellMs: number | null = null,
): BootPhases {
  const marks = [
    0,
    stampOf(console, MARKS.initramfs),
    stampOf(console, MARKS.switched),
    stampOf(console, MARKS.command),
    agentUptimeMs,
  ];
  const names = ['kernel', 'initramfs', 'init', 'agent'] as const;
  const phases: BootPhases = {};
  names.forEach((name, i) => {
    const [from, to] = [marks[i], marks[i + 1]];
    if (from !== null && from !== undefined && to !== null && to !== undefined && to >= from) phases[name] = to - from;
  });
  if (bootMs !== null && agentUptimeMs !== null && bootMs >= agentUptimeMs) phases.qemu = bootMs - agentUptimeMs;
  if (firstCellMs !== null) phases.prepare = firstCellMs;
  return phases;
}
