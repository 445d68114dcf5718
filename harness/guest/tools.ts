// The programs the agent runs as root (strace, setpriv, setcap, tc, ip, mount…, and a scenario's
// setup commands) by absolute path, from the system directories only: /usr/local comes first on
// PATH and a cell with root or CAP_DAC_OVERRIDE could put a program of its own there. Each is
// checked at its first use (a regular file owned by root that only root can write, in
// directories only root can write) and after every cell (unchanged since: inode, size, times,
// mode, owner), so a tool a cell replaced is found before the agent runs it again.
import fs from 'node:fs';
import path from 'node:path';
import { SYSTEM_DIRS, toolCandidates } from './protocol.js';

/** A tool's identity: what a replaced or rewritten file cannot keep, nor a link to it redirected. */
function identity(file: string): string | null {
  const link = fs.lstatSync(file, { throwIfNoEntry: false });
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!link || !st) return null;
  return [link, st].map((x) => [x.ino, x.size, x.mtimeMs, x.ctimeMs, x.mode, x.uid].join(':')).join(' ');
}

/** Why someone other than root could change what `file` is, or null. Every component must be
 * root's; a directory above it that others can write is allowed only when sticky (as /tmp is,
 * where the boot's sample copies live): then only root can rename or remove root's entries. */
function unsafeFile(file: string): string | null {
  for (let p = file; ; p = path.dirname(p)) {
    const st = fs.statSync(p);
    const othersWrite = (st.mode & 0o022) !== 0 && (p === file || !(st.mode & 0o1000));
    if (st.uid !== 0 || othersWrite)
      return `${p} is not root's alone (owner ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`;
    if (p === path.dirname(p)) return null;
  }
}

export class ToolError extends Error {}

export class RootTools {
  /** name → absolute path and identity at first use. */
  private readonly known = new Map<string, { file: string; id: string }>();
  /** Tools a cell changed: never run again in this boot. */
  private readonly poisoned = new Set<string>();

  /** The absolute path to run `name` by; a path given is taken as it is, checked the same way.
   * The path found is run, not the file it links to: a multi-call program (kmod as rmmod) knows
   * what to do by its name. Both the link and its target must be root's alone. */
  resolve(name: string): string {
    const seen = this.known.get(name);
    if (seen) return seen.file;
    if (this.poisoned.has(name)) throw new ToolError(`${name}: a cell of this boot changed it`);
    const found = toolCandidates(name).find((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile());
    if (!found) throw new ToolError(`${name}: not found in ${SYSTEM_DIRS.join(', ')}`);
    const unsafe = unsafeFile(path.dirname(found)) ?? unsafeFile(fs.realpathSync(found));
    if (unsafe) throw new ToolError(`${name}: refused to run it as root: ${unsafe}`);
    this.known.set(name, { file: found, id: identity(found) ?? '' });
    return found;
  }

  /** Tools that changed since their first use (each a line for the cell that changed them). */
  changed(): string[] {
    const problems: string[] = [];
    for (const [name, { file, id }] of this.known) {
      if (identity(file) !== id) {
        problems.push(`the root tool ${file} (${name}) was changed or replaced: the agent no longer runs it`);
        this.known.delete(name);
        this.poisoned.add(name);
      }
    }
    return problems;
  }
}

/** One per agent process: every root command of the boot goes through it. */
export const rootTools = new RootTools();
