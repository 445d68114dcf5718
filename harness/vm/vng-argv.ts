// vng's argv, built as an array (never a shell string). Wrapped in GNU timeout, which makes
// itself a process-group leader and kills the whole group (vng → virtme-run → qemu) at the
// deadline or when it receives SIGTERM; setpriv --pdeathsig sends it that SIGTERM when the
// harness dies, even by SIGKILL. So no QEMU outlives the harness, whatever ends it.
import type { Accel } from './accel.js';

export interface VmOptions {
  vmlinuz: string;
  accel: Accel;
  cpus: number;
  memory: string;
  rwdir: string;
  append: string[];
  command: string[];
  /** Hard deadline for the whole VM, enforced by timeout(1). */
  deadlineSec: number;
}

export function vngArgv(o: VmOptions): string[] {
  const argv = ['setpriv', '--pdeathsig', 'TERM', '--', 'timeout', '--kill-after=10', String(Math.ceil(o.deadlineSec))];
  argv.push('vng', '--run', o.vmlinuz);
  if (o.accel === 'tcg') argv.push('--disable-kvm');
  argv.push('--cpus', String(o.cpus), '--memory', o.memory, '--rwdir', o.rwdir, '--verbose');
  for (const a of o.append) argv.push('--append', a);
  argv.push('--', ...o.command);
  return argv;
}
