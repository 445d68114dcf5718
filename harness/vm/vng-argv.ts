// vng's argv, built as an array (never a shell string). Wrapped in GNU timeout, which makes
// itself a process-group leader and kills the whole group (vng → virtme-run → qemu) at the
// deadline or when it receives SIGTERM; setpriv --pdeathsig sends it that SIGTERM when the
// harness dies, even by SIGKILL. So no QEMU outlives the harness, whatever ends it.
// With a host view (host-view.ts), vng runs in a mount namespace of its own and exports only
// the view's skeleton as the guest's root; unshare, sh and env exec each other, so the group
// is the same. QEMU drops root to the boot's own uid (qemu-user.ts); --force-9p because vng's
// other root filesystem, virtiofsd, is a daemon of its own that would serve the guest as root
// (and waiting for it to fail cost 3 s a boot).
import type { Accel } from './accel.js';
import { type HostView, viewArgv } from './host-view.js';
import { type QemuUser, qemuConfinementArgs } from './qemu-user.js';

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
  /** What of the host the guest sees; without it, vng shares the host's whole `/`. */
  view?: HostView;
  /** The uid QEMU drops to (when capmatrix runs as root); without it QEMU stays this user. */
  qemuUser?: QemuUser;
  /** The guest's PID 1 instead of virtme-init (bpf-src/guest_init): virtme's initramfs runs the
   * first init= it reads, and vng puts --append before its own. */
  init?: string;
}

/** The guest's root exported a second time, tagged capmatrix.root: guest_init mounts it with the
 * page cache and makes it the root (vng's own share of it is read uncached). vng hands
 * --qemu-opts to a shell unquoted, and QEMU reads commas in a path as option separators: a root
 * with any other character (a TMPDIR with a space) is not shared at all, never escaped; the guest
 * then keeps vng's root, slower, and provenance.boots[].guest.rootMount says so. */
export function cachedRootShare(root: string): string[] {
  if (!/^\/[A-Za-z0-9_./-]*$/.test(root)) return [];
  return [
    '-fsdev',
    `local,id=capmatrix_root,path=${root},security_model=none,readonly=on,multidevs=remap`,
    '-device',
    'virtio-9p-pci,fsdev=capmatrix_root,mount_tag=capmatrix.root',
  ];
}

export function vngArgv(o: VmOptions): string[] {
  const argv = ['setpriv', '--pdeathsig', 'TERM', '--', 'timeout', '--kill-after=10', String(Math.ceil(o.deadlineSec))];
  const vng = ['vng', '--run', o.vmlinuz];
  if (o.accel === 'tcg') vng.push('--disable-kvm');
  vng.push('--force-9p', '--cpus', String(o.cpus), '--memory', o.memory);
  const qemuOpts = [
    ...(o.qemuUser ? qemuConfinementArgs(o.qemuUser) : []),
    ...(o.init ? cachedRootShare(o.view?.root ?? '/') : []),
  ];
  // one argument: vng splits it on spaces (its parts are numbers, option words and a checked path)
  if (qemuOpts.length) vng.push(`--qemu-opts=${qemuOpts.join(' ')}`);
  // --root: the guest path of a share is then its own (guest=host), at the host's path
  if (o.view) vng.push('--root', o.view.root, '--rwdir', `${o.rwdir}=${o.rwdir}`);
  else vng.push('--rwdir', o.rwdir);
  vng.push('--verbose');
  if (o.init) vng.push('--append', `init=${o.init}`);
  for (const a of o.append) vng.push('--append', a);
  vng.push('--', ...o.command);
  return [...argv, ...(o.view ? viewArgv(o.view, vng) : vng)];
}
