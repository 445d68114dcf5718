// QEMU, and its 9p file server with it, never runs as root.
//
// When capmatrix runs as root (CI, the workflows), QEMU starts as root (the view's mounts, the
// kernel image, /dev/kvm and the console are opened as root) and then drops to a uid of its own
// for this boot before the guest's first instruction (`-run-with user=` from QEMU 9.1, `-runas`
// before). Every file the guest reads through 9p is then read with that uid's rights: what only
// root, or only a host user, may read stays unreadable whatever a cell's capabilities. A uid per
// boot, in no passwd entry and owning no process: QEMUs of two boots cannot signal each other or
// write each other's results share; only this boot's share is lent to it, and taken back after.
// seccomp (`-sandbox`) keeps QEMU from spawning programs, changing resource limits or using
// obsolete system calls; it must allow the uid change, which happens after the filter is in.
// vng runs with --force-9p: its other root filesystem, virtiofsd, would serve the guest as root.
import { randomInt } from 'node:crypto';
import { lchownSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { run } from '../exec.js';

export interface QemuUser {
  uid: number;
  gid: number;
}

/** A range of ids no distribution hands out (systemd's dynamic users end at 65519, containers'
 * subordinate ranges are far below); the id is still checked free. */
const FIRST_ID = 0x6000_0000;
const IDS = 0x1000_0000;

/** Whether QEMU will drop root: only a root capmatrix's QEMU is root to begin with. */
export function qemuDropsRoot(): boolean {
  return process.getuid?.() === 0;
}

function idTaken(id: number): boolean {
  // getent asks every name service (LDAP, sssd), not /etc/passwd alone; 2 is "not found"
  if (run('getent', ['passwd', String(id)]).status !== 2) return true;
  if (run('getent', ['group', String(id)]).status !== 2) return true;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (lstatSync(path.join('/proc', pid)).uid === id) return true;
    } catch {} // gone meanwhile
  }
  return false;
}

/** A fresh uid (and the same gid) for one boot's QEMU. */
export function bootQemuUser(): QemuUser {
  for (let tries = 0; tries < 20; tries++) {
    const id = FIRST_ID + randomInt(IDS);
    if (!idTaken(id)) return { uid: id, gid: id };
  }
  throw new Error('no free uid for QEMU in 20 tries (getent answers every id?)');
}

let qemuHelp: string | undefined;
function help(): string {
  if (qemuHelp === undefined) {
    const r = run('qemu-system-x86_64', ['-help']);
    if (!r.ok) throw new Error(`qemu-system-x86_64 -help failed (${r.why})`);
    qemuHelp = r.stdout;
  }
  return qemuHelp;
}

/** QEMU's own options that drop to `user` and confine it, for this QEMU's version. */
export function qemuConfinementArgs(user: QemuUser): string[] {
  const text = help();
  const id = `${user.uid}:${user.gid}`;
  let drop: string[];
  if (/^-run-with .*user=/m.test(text)) drop = ['-run-with', `user=${id}`];
  else if (/^-runas /m.test(text)) drop = ['-runas', id];
  else
    throw new Error(
      'this QEMU has neither -run-with user= nor -runas: it cannot drop root, and capmatrix runs no QEMU as root',
    );
  const sandbox = /^-sandbox /m.test(text)
    ? ['-sandbox', 'on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny']
    : [];
  return [...drop, ...sandbox];
}

/** Gives a directory tree to `user` (QEMU writes the guest's records there) or takes it back:
 * each entry by lchown, never following a link the guest made. */
export function chownTree(dir: string, to: QemuUser): void {
  const walk = (p: string): void => {
    const st = lstatSync(p);
    lchownSync(p, to.uid, to.gid);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
}

/** The user capmatrix runs as (to take a tree back). */
export function ownUser(): QemuUser {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
}
