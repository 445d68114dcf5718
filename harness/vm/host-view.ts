// The guest's view of the host: only what a run needs, read-only.
//
// vng shares a root directory with the guest over 9p, read with the rights of whoever runs QEMU;
// by default that root is the host's `/` (a cell with CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN or root
// read /root and any other host file; vng's masks, such as its tmpfs /etc/shadow, are guest
// mounts a cell with CAP_SYS_ADMIN takes off, or sees past with a bind of `/`).
//
// How, and why this way (read in virtme-ng 1.41's source and measured, 2026-12-04):
// - `vng --root <skeleton>` with `--rodir` exports alone cannot work: virtme's initramfs
//   switches to the root and runs `/bin/sh` from it before virtme-init mounts any --rodir, so
//   /usr must already be inside the exported root, and a symlink out of it resolves in the guest.
// - So each boot gets a mount namespace of its own (`unshare --mount`) in which a skeleton
//   directory gets read-only bind mounts of exactly the allowed paths, at their host paths, and
//   vng exports the skeleton (`--root`). QEMU's 9p server walks the binds; nothing else of the host is under the export,
//   and no share, mounted again in the guest, reaches past it. The namespace dies with the VM;
//   the host's mount table never sees the binds.
// - With `--root`, vng makes the guest use the root's /lib/modules: /usr is an overlay of the
//   kernel's own tree on the host's /usr (read-only), so the guest's modprobe finds this
//   kernel's modules. vng also shares `$HOME/.cache/virtme-ng` read-write with such a guest: HOME
//   is a 16 MiB tmpfs of the namespace, so what a cell writes there is bounded and gone at exit.
// - Only when capmatrix runs as root (as in CI). A normal user would need a user namespace to
//   mount in (`unshare --user --map-root-user`), and no user namespace of a normal user can map
//   the host's root: QEMU's 9p server then reports every root-owned file as owned by nobody, the
//   guest's setuid-root tools (mount) drop root to nobody, and virtme's init fails (measured: the
//   guest panics at "must be superuser to use mount"). Run by a normal user, vng still shares
//   `/`, read with that user's rights (`hostViewWanted`).
// - QEMU reads all of it as a uid of its own, not root (qemu-user.ts): what the guest needs must
//   be readable by others; a path that is not is refused here, by name, before any VM.
// - /etc is a filtered copy made for the boot: only what every local user may read (a file not
//   world-readable is a secret of its owner: shadow, sudoers, host keys, keytabs…), never a
//   private key by name, with empty shadow/gshadow for virtme-init's masks to cover.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ENTER_VIEW = path.join(path.dirname(fileURLToPath(import.meta.url)), 'enter-view.sh');

/** Top-level links of a merged-/usr system, made in the skeleton as the host has them. */
const USR_LINKS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
/** Empty directories the guest mounts its own filesystems on (or vng its overlays). */
const SKELETON_DIRS = [
  'proc',
  'sys',
  'dev',
  'run',
  'tmp',
  'home',
  'opt',
  'srv',
  'mnt',
  'var/tmp',
  'var/log',
  'var/cache',
  'var/lib',
];
/** Names never copied into the guest's /etc, whatever their mode. */
const SECRET_NAME = /^g?shadow-?$|^sudoers$|^sudoers\.d$|_key$|\.key$|^private$|keytab|secret|^opasswd$/i;

export interface ViewMount {
  kind: 'bind' | 'overlay';
  /** bind: the host path; overlay: lowerdirs, first wins. */
  source: string;
  /** The path in the skeleton (the guest sees it at the host path). */
  target: string;
}

export interface HostView {
  /** The per-boot directory on the host: skeleton, /etc copy, vng's HOME. */
  dir: string;
  /** What vng exports as the guest's root (`--root`). */
  root: string;
  /** vng's HOME (a tmpfs in the namespace). */
  home: string;
  mounts: ViewMount[];
  /** The host paths the guest sees (besides /usr, its links and the /etc copy). */
  shared: string[];
}

export interface HostViewInput {
  /** Host paths a run needs (project, package root, boot dir, users' programs …), read-only. */
  paths: string[];
  /** The kernel's modules directory on the host (`<tree>/lib/modules/<release>`), if any. */
  modules?: string;
}

/** A path covered by another one in the list (an ancestor or itself) is dropped. */
function topmost(paths: string[]): string[] {
  const sorted = [...new Set(paths.map((p) => path.resolve(p)))].sort();
  const out: string[] = [];
  for (const p of sorted) if (!out.some((o) => p === o || p.startsWith(`${o}/`))) out.push(p);
  return out;
}

/** Paths the view must never contain, whatever a scenario names: a whole top directory of
 * secrets or of other users' files, the temp dir, the home directory itself, kernel interfaces. */
function refused(p: string): string | null {
  const whole = ['/', '/root', '/home', '/tmp', '/var', '/var/tmp', '/etc', os.tmpdir(), os.homedir()];
  if (whole.includes(p)) return 'a whole directory of other files';
  for (const top of ['/proc', '/sys', '/dev', '/run', '/boot', '/etc'])
    if (p.startsWith(`${top}/`)) return `under ${top}`;
  return null;
}

/** The filtered /etc: world-readable entries only, never a secret by name. */
function copyEtc(from: string, to: string): void {
  mkdirSync(to, { mode: 0o755 });
  for (const name of readdirSync(from)) {
    if (SECRET_NAME.test(name)) continue;
    const src = path.join(from, name);
    const dst = path.join(to, name);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(src);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else if (st.isDirectory()) {
      if ((st.mode & 0o005) === 0o005) copyEtc(src, dst);
    } else if (st.isFile() && st.mode & 0o004) {
      try {
        copyFileSync(src, dst);
        chmodSync(dst, st.mode & 0o755);
      } catch {} // vanished or unreadable meanwhile: not in the view
    }
  }
}

/** Makes an empty mount point at `target` for `source` (a directory, or a file); QEMU's uid can
 * walk to it (the skeleton's /root is 0700 otherwise). */
function mountPoint(root: string, source: string, target: string): void {
  mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
  if (statSync(source).isDirectory()) mkdirSync(target, { recursive: true, mode: 0o755 });
  else closeSync(openSync(target, 'a', 0o644));
  for (let dir = path.dirname(target); dir.startsWith(`${root}/`); dir = path.dirname(dir))
    chmodSync(dir, statSync(dir).mode | 0o005);
}

/** Why QEMU, reading as neither owner nor group, cannot read `p` (reached from `top`, a path
 * the view shares): each directory from `top` down must let others in, `p` let them read. */
export function othersCannotRead(p: string, top: string): string | null {
  const chain: string[] = [];
  for (let dir = path.dirname(p); dir.startsWith(top) && dir !== path.dirname(top); dir = path.dirname(dir))
    chain.unshift(dir);
  for (const dir of chain) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) return `${dir} (mode ${(mode & 0o7777).toString(8)}) lets others not in`;
  }
  const st = statSync(p);
  const need = st.isDirectory() ? 0o005 : 0o004;
  if ((st.mode & need) !== need) return `${p} (mode ${(st.mode & 0o7777).toString(8)}) is not readable by others`;
  return null;
}

/** The lowerdir to lay over /usr so that the guest's /lib/modules/<release> is the kernel's. */
function modulesLayer(modules: string): string | null {
  const real = realpathSync(modules);
  // <layer>/lib/modules/<release>: <layer> is the tree (lib/ a directory) or its usr/
  const layer = path.resolve(real, '../../..');
  return path.basename(path.dirname(real)) === 'modules' && path.basename(path.resolve(real, '../..')) === 'lib'
    ? layer
    : null;
}

/** Overlay options cannot carry these in a path; a bind can. */
const UNSAFE_FOR_OVERLAY = /[,:=\\]/;

export function prepareHostView(input: HostViewInput): HostView {
  const present = input.paths.filter((p) => existsSync(p)).map((p) => path.resolve(p));
  const wanted = topmost(present);
  for (const p of wanted) {
    const why = refused(p);
    if (why) throw new Error(`the guest's view of the host: ${p} is ${why}, which a guest never sees`);
  }
  const closed = present.flatMap((p) => {
    const top = wanted.find((t) => p === t || p.startsWith(`${t}/`)) ?? p;
    return othersCannotRead(p, top) ?? [];
  });
  if (closed.length)
    throw new Error(
      `the guest reads the host as a uid of its own, never root: ${[...new Set(closed)].join('; ')}; ` +
        'make what a run needs readable by others (chmod o+rX), or run capmatrix from a directory they can read',
    );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-view-'));
  chmodSync(dir, 0o755);
  const root = path.join(dir, 'root');
  const home = path.join(dir, 'home');
  mkdirSync(root, { mode: 0o755 });
  mkdirSync(home, { mode: 0o755 });
  const mounts: ViewMount[] = [];

  for (const d of SKELETON_DIRS) mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
  mkdirSync(path.join(root, 'root'), { mode: 0o700 });
  chmodSync(path.join(root, 'tmp'), 0o1777);
  chmodSync(path.join(root, 'var/tmp'), 0o1777);
  symlinkSync('../run', path.join(root, 'var/run'));
  symlinkSync('../run/lock', path.join(root, 'var/lock'));

  // /usr, with the kernel's modules over it
  mkdirSync(path.join(root, 'usr'), { mode: 0o755 });
  const layer = input.modules && existsSync(input.modules) ? modulesLayer(input.modules) : null;
  if (layer && !UNSAFE_FOR_OVERLAY.test(layer))
    mounts.push({ kind: 'overlay', source: `${layer}:/usr`, target: path.join(root, 'usr') });
  else mounts.push({ kind: 'bind', source: '/usr', target: path.join(root, 'usr') });
  for (const name of USR_LINKS) {
    const host = path.join('/', name);
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(host);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(host), path.join(root, name));
    else if (st.isDirectory()) {
      // a system without merged /usr: the directory itself, read-only
      mkdirSync(path.join(root, name), { mode: 0o755 });
      mounts.push({ kind: 'bind', source: host, target: path.join(root, name) });
    }
  }

  // /etc, filtered
  const etc = path.join(dir, 'etc');
  copyEtc('/etc', etc);
  // what virtme-init mounts its own files on (its masks need something to cover)
  for (const name of ['shadow', 'gshadow']) writeFileSync(path.join(etc, name), '', { mode: 0o640 });
  mkdirSync(path.join(etc, 'lvm'), { recursive: true, mode: 0o755 });
  mkdirSync(path.join(root, 'etc'), { mode: 0o755 });
  mounts.push({ kind: 'bind', source: etc, target: path.join(root, 'etc') });

  const shared: string[] = [];
  for (const p of wanted) {
    const real = realpathSync(p);
    const target = path.join(root, p);
    mountPoint(root, real, target);
    mounts.push({ kind: 'bind', source: real, target });
    shared.push(p);
  }
  return { dir, root, home, mounts, shared };
}

/** Whether boots get a view: only a root capmatrix can make one that the guest can use (above). */
export function hostViewWanted(): boolean {
  return process.getuid?.() === 0;
}

/** The command that runs `command` (vng) inside the boot's mount namespace over the view. */
export function viewArgv(view: HostView, command: string[]): string[] {
  const ns = ['unshare', '--mount', '--propagation', 'private'];
  const mounts = view.mounts.flatMap((m) => [m.kind === 'bind' ? '--bind' : '--overlay', m.source, m.target]);
  return [...ns, '--', 'sh', ENTER_VIEW, view.home, ...mounts, '--', 'env', `HOME=${view.home}`, ...command];
}

/** Removes the boot's view directory: only what lies on its own filesystem (a bind that somehow
 * outlived the namespace is left alone and reported, never walked into). */
export function removeHostView(view: HostView): void {
  const dev = lstatSync(view.dir).dev;
  const left: string[] = [];
  const remove = (p: string): void => {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p);
    } catch {
      return;
    }
    if (st.dev !== dev) {
      left.push(p);
      return;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p)) remove(path.join(p, name));
      try {
        rmdirSync(p);
      } catch {
        left.push(p);
      }
    } else unlinkSync(p);
  };
  remove(view.dir);
  if (left.length) process.stderr.write(`capmatrix: left in place (still mounted?): ${left.slice(0, 5).join(', ')}\n`);
}

/** For tests and diagnostics: what the host's mount table says about the view (should be nothing). */
export function hostMountsUnder(dir: string): string[] {
  const out = execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' });
  return out.split('\n').filter((t) => t === dir || t.startsWith(`${dir}/`));
}
