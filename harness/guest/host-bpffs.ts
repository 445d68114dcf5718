// The bpffs a Debian or Ubuntu host has at /sys/fs/bpf (systemd mounts it: mode 0700, nosuid,
// nodev, noexec), so an object that pins by name meets what it would meet on a host; vng's guest
// has none. What a cell pins there goes before the next cell starts (named in its record); what
// was there when it started (a scenario's setup) must still be there, the same file.
import fs from 'node:fs';
import path from 'node:path';
import { runAsRoot } from './commands.js';

export const HOST_BPFFS = '/sys/fs/bpf';
const BPF_FS_MAGIC = 0xcafe4a11;

/** Mounts it unless the guest has one there; returns why it could not, or null. */
export function mountHostBpffs(): string | null {
  if (!fs.existsSync(HOST_BPFFS)) return `no ${HOST_BPFFS} directory (a kernel without bpffs)`;
  if (fs.statfsSync(HOST_BPFFS).type === BPF_FS_MAGIC) return null;
  const r = runAsRoot('mount', ['-t', 'bpf', '-o', 'mode=700,nosuid,nodev,noexec', 'bpf', HOST_BPFFS]);
  return r.ok ? null : `no bpffs at ${HOST_BPFFS}: ${r.out}`;
}

/** Every entry under the bpffs (path → inode), and what is not the bpffs's own: a filesystem
 * mounted inside it is not walked into (it is the fingerprint's mount check's). */
export interface Pins {
  entries: Map<string, { ino: number; dir: boolean }>;
  foreign: string[];
}

export function pinsNow(): Pins {
  const pins: Pins = { entries: new Map(), foreign: [] };
  const root = fs.lstatSync(HOST_BPFFS, { throwIfNoEntry: false });
  if (!root?.isDirectory()) return { entries: new Map(), foreign: [HOST_BPFFS] };
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const entry = path.join(dir, name);
      const st = fs.lstatSync(entry, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.dev !== root.dev) pins.foreign.push(entry);
      else {
        pins.entries.set(entry, { ino: st.ino, dir: st.isDirectory() });
        if (st.isDirectory()) walk(entry);
      }
    }
  };
  walk(HOST_BPFFS);
  return pins;
}

export interface PinsCleared {
  /** What the cell left there, removed. */
  removed: string[];
  /** What could not be removed, what the cell removed or replaced of what was there, and
   * filesystems mounted inside: the state the next cell starts from is not known. */
  problems: string[];
}

/** Removes what is new since `before` (deepest first), and says what of `before` is not as it
 * was, unless `tornDown` (the cell's own teardown ran: what its setup made may be gone). */
export function clearNewPins(before: Pins, tornDown: boolean): PinsCleared {
  const out: PinsCleared = { removed: [], problems: [] };
  let now: Pins;
  try {
    now = pinsNow();
  } catch (e) {
    return { removed: [], problems: [`${HOST_BPFFS}: ${(e as Error).message}`] };
  }
  for (const f of now.foreign)
    if (!before.foreign.includes(f)) out.problems.push(`${f}: another filesystem mounted in ${HOST_BPFFS}`);
  for (const [entry, was] of tornDown ? [] : before.entries)
    if (now.entries.get(entry)?.ino !== was.ino) out.problems.push(`${entry}: removed or replaced during the cell`);
  const fresh = [...now.entries].filter(([entry]) => !before.entries.has(entry)).map(([entry]) => entry);
  // the walk lists a directory before what it holds
  for (const entry of [...fresh].reverse()) {
    try {
      if (now.entries.get(entry)?.dir) fs.rmdirSync(entry);
      else fs.unlinkSync(entry);
    } catch (e) {
      out.problems.push(`${entry}: could not be removed (${(e as Error).message})`);
    }
  }
  out.removed = fresh;
  return out;
}
