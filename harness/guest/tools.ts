// The programs the agent runs as root (strace, setpriv, setcap, tc, ip, mount…, and a scenario's
// setup commands) by absolute path, from the system directories only: /usr/local comes first on
// PATH and a cell with root or CAP_DAC_OVERRIDE could put a program of its own there. Each is
// checked at its first use (a regular file owned by root that only root can write, in
// directories only root can write, whose content is the file the host vouched for in the plan:
// the guest's /usr is a writable overlay, and a root cell could have replaced the tool before)
// and after every cell (unchanged since: inode, size, times, mode, owner), so a tool a cell
// replaced is found before the agent runs it again.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SYSTEM_DIRS, type ToolDigest, toolCandidates } from './protocol.js';
import type { FileWatcher } from './state-reader.js';

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

const sha256Of = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** What the tools must be: the plan's digests by the name each is run by; 'unchecked' (unit tests
 * of the other checks only) compares no content. The agent always has the plan's. */
export type Vouched = Record<string, ToolDigest> | 'unchecked';

export class RootTools {
  /** name → absolute path and identity at first use; `watched`: the state helper checks it. */
  private readonly known = new Map<string, { file: string; id: string; watched: boolean }>();
  private watcher: FileWatcher | null = null;
  /** Tools a cell changed: never run again in this boot. */
  private readonly poisoned = new Set<string>();

  /** From now on the state helper checks the tools (those known already too): one round trip
   * after each cell where node's stats cost ~2 ms under TCG. */
  watchWith(watcher: FileWatcher): void {
    this.watcher = watcher;
    const known = [...this.known.values()];
    const watched = known.length > 0 && watcher.watchFiles(known.map((k) => k.file));
    for (const k of known) k.watched = watched;
  }

  /** `{}` until the plan's digests are given: no tool is vouched for, every one is refused. */
  constructor(private vouched: Vouched = {}) {}

  /** The plan's digests, once, at the agent's start. */
  vouchedBy(vouched: Record<string, ToolDigest>): void {
    this.vouched = vouched;
  }

  /** The absolute path to run `name` by; a path given is taken as it is, checked the same way.
   * The path found is run, not the file it links to: a multi-call program (kmod as rmmod) knows
   * what to do by its name. Both the link and its target must be root's alone, and the target's
   * content the host's (hashed once per tool and boot; after that, its identity stands for it). */
  resolve(name: string): string {
    return this.check(name, (file) => this.compare(name, file));
  }

  /** The agent's own copy of a sample (prepare.ts), run by a scenario's `{sample}` command: not a
   * host file, so no digest; SampleCopies checks it unchanged after every cell. */
  resolveSampleCopy(file: string): string {
    return this.check(file, () => {});
  }

  private check(name: string, compare: (file: string) => void): string {
    const seen = this.known.get(name);
    if (seen) return seen.file;
    if (this.poisoned.has(name)) throw new ToolError(`${name}: a cell of this boot changed it`);
    const found = toolCandidates(name).find((f) => fs.statSync(f, { throwIfNoEntry: false })?.isFile());
    if (!found) throw new ToolError(`${name}: not found in ${SYSTEM_DIRS.join(', ')}`);
    const unsafe = unsafeFile(path.dirname(found)) ?? unsafeFile(fs.realpathSync(found));
    if (unsafe) throw new ToolError(`${name}: refused to run it as root: ${unsafe}`);
    // taken before the content is read: a change while it is hashed shows in changed()
    const id = identity(found) ?? '';
    const watched = this.watcher?.watchFiles([found]) ?? false;
    compare(found);
    this.known.set(name, { file: found, id, watched });
    return found;
  }

  /** The content of what `file` leads to must be what the plan says the host's is. */
  private compare(name: string, file: string): void {
    if (this.vouched === 'unchecked') return;
    const want = this.vouched[name];
    if (!want) throw new ToolError(`${name}: the plan does not vouch for it (the host named no such root tool)`);
    const real = fs.realpathSync(file);
    const got = sha256Of(real);
    if (got === want.sha256) return;
    const whose = want.package ? `the file the package ${want.package} installed on the host` : "the host's file";
    throw new ToolError(
      `${name}: refused to run it as root: ${real} is not ${whose} (sha256 ${got}, the plan's ${want.sha256})`,
    );
  }

  /** Tools that changed since their first use (each a line for the cell that changed them).
   * `helperSaw`: what the state helper found changed of what it watches (null: no answer). */
  changed(helperSaw: Set<string> | null = null): string[] {
    const problems: string[] = [];
    for (const [name, { file, id, watched }] of this.known) {
      const moved = watched && helperSaw ? helperSaw.has(file) : identity(file) !== id;
      if (moved) {
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
