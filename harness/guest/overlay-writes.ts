// What a cell wrote into the guest's writable overlays (vng mounts /etc, /usr, /var, /tmp, /home…
// as overlays on the host's read-only tree, their upper directories in a tmpfs): every write
// lands in an upper directory, so a listing of those, compared with the one before the cell,
// names each file a cell made, changed or deleted, wherever it did it. A file it made is removed
// (through the overlay) and checked gone; a file of the host it changed or deleted cannot be
// put back while the overlay is mounted, so that is reported as not undone.
import fs from 'node:fs';
import path from 'node:path';
import { runAsRoot } from './commands.js';
import { readTrim } from './proc.js';
import { SCRATCH_DIR } from './scratch.js';

interface Overlay {
  /** Where the overlay is mounted (the path cells see). */
  mountPoint: string;
  upper: string;
  /** The lower directory as seen through a bind of the root alone (the host's tree, read-only). */
  lower: string | null;
}

/** Where the root file system is bound alone (no overlays on it): the lower layers' view. */
const ROOT_ALONE = path.join(SCRATCH_DIR, 'root');

/** A file's identity in an upper directory: a copy-up, a rewrite or a whiteout changes it. */
const identity = (st: fs.Stats) => [st.mode, st.ino, st.size, st.mtimeMs, st.ctimeMs].join(':');

function overlaysNow(): Overlay[] {
  const overlays: Overlay[] = [];
  for (const line of (readTrim('/proc/self/mountinfo') ?? '').split('\n')) {
    const [pre = '', post = ''] = line.split(' - ');
    const [fstype = '', , options = ''] = post.split(' ');
    if (fstype !== 'overlay') continue;
    const opt = (name: string) => new RegExp(`(?:^|,)${name}=([^,]+)`).exec(options)?.[1];
    const upper = opt('upperdir');
    const lowerdir = opt('lowerdir');
    if (!upper) continue;
    overlays.push({
      mountPoint: pre.split(' ')[4] ?? '',
      upper,
      lower: lowerdir && !lowerdir.includes(':') ? path.join(ROOT_ALONE, lowerdir) : null,
    });
  }
  return overlays;
}

/** Every entry below `dir` (relative path → identity), `skip` subtrees left out. */
function listing(dir: string, skip: (rel: string) => boolean): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(dir, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const r = path.join(rel, name);
      if (skip(r)) continue;
      const st = fs.lstatSync(path.join(dir, r), { throwIfNoEntry: false });
      if (!st) continue;
      out.set(r, identity(st));
      if (st.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}

export class OverlayWrites {
  private readonly overlays = overlaysNow();
  /** The upper directories as they stood right before the cell's program ran (after its setup);
   * null once checked, until the next cell's program runs. */
  private before: Map<Overlay, Map<string, string>> | null = null;
  /** The listing the last check() took: still true for a cell with no setup to run. */
  private lastTaken: Map<Overlay, Map<string, string>> | null = null;
  /** Why the check cannot see everything (no bind of the root: changed host files look new). */
  readonly detail: string;

  /** `agentOwned`: merged paths the agent itself writes between cells (the sample copies). */
  constructor(private readonly agentOwned: string[]) {
    fs.mkdirSync(ROOT_ALONE, { recursive: true });
    const bound = runAsRoot('mount', ['--bind', '-o', 'ro', '/', ROOT_ALONE]);
    this.detail = bound.ok
      ? `${this.overlays.length} overlays watched through their upper directories`
      : `the root could not be bound alone (${bound.out}): a changed host file reads as a new one`;
  }

  /** Right before a cell's program runs: what the scenario's setup wrote is not the cell's.
   * `setupRan` false: nothing was written since the last check, whose listing is taken again. */
  mark(setupRan: boolean): void {
    this.before = (!setupRan && this.lastTaken) || this.take();
  }

  private take(): Map<Overlay, Map<string, string>> {
    return new Map(
      this.overlays.map((o) => {
        const skip = (rel: string) => this.agentOwned.some((p) => path.join(o.mountPoint, rel).startsWith(p));
        return [o, listing(o.upper, skip)];
      }),
    );
  }

  /** What the cell wrote since mark(), undone where it can be; the lines name each. Files it
   * removed are not counted: what a teardown removes looks the same. */
  check(): { problems: string[]; undoable: boolean } {
    const problems: string[] = [];
    let undoable = true;
    const marked = this.before;
    this.before = null;
    if (!marked) return { problems, undoable }; // the cell's program never ran
    const taken = this.take();
    for (const [o, after] of taken) {
      const before = marked.get(o) ?? new Map<string, string>();
      const added = [...after.keys()].filter((rel) => !before.has(rel));
      const changed = [...after.keys()].filter((rel) => before.has(rel) && before.get(rel) !== after.get(rel));
      for (const rel of topmost(added)) {
        const merged = path.join(o.mountPoint, rel);
        const ofHost =
          o.lower !== null && fs.lstatSync(path.join(o.lower, rel), { throwIfNoEntry: false }) !== undefined;
        const up = fs.lstatSync(path.join(o.upper, rel), { throwIfNoEntry: false });
        const whiteout = up?.isCharacterDevice() === true && up.rdev === 0; // overlayfs's mark of a deletion
        if (ofHost || whiteout) {
          undoable = false;
          problems.push(
            `${merged}, a file of the host's tree, was ${whiteout ? 'deleted' : 'changed'} (could NOT be undone)`,
          );
          continue;
        }
        fs.rmSync(merged, { recursive: true, force: true });
        const gone = !fs.existsSync(merged);
        if (!gone) undoable = false;
        problems.push(
          `${merged} was left in the guest's writable overlay (${gone ? 'removed' : 'could NOT be removed'})`,
        );
      }
      // a directory's times change with what is added to it, which is named above
      const isDir = (rel: string) => fs.lstatSync(path.join(o.upper, rel), { throwIfNoEntry: false })?.isDirectory();
      for (const rel of changed.filter((r) => !isDir(r))) {
        undoable = false;
        problems.push(`${path.join(o.mountPoint, rel)} was changed (could NOT be undone)`);
      }
    }
    // what was removed again is gone from the listing; what could not be stays named next time
    this.lastTaken = problems.length ? null : taken;
    return { problems, undoable };
  }
}

/** Only the topmost of nested paths: removing a directory removes what is in it. */
function topmost(rels: string[]): string[] {
  const sorted = [...rels].sort();
  return sorted.filter((r, i) => !sorted.slice(0, i).some((p) => r.startsWith(`${p}${path.sep}`)));
}
