// Every leftover found, whoever left it: the guest's fingerprint (fingerprint.ts) is taken at
// the boot's start and after each cell's reset, and diffed against the one before. What a cell
// changed is undone where the agent can (a sysctl written back, a mount detached, a process
// killed, lo brought up, a qdisc removed) and checked by a second fingerprint; what will not go
// back ends the boot after that cell's record. The agent's own sysctl writes are compared against
// what it set, and a scenario's setup and teardown (trusted, root) move the baseline instead of
// counting as the cell's changes.
import fs from 'node:fs';
import path from 'node:path';
import { CGROUP_FS } from './cell-cgroup.js';
import { runAsRoot } from './commands.js';
import {
  type Change,
  diffFingerprints,
  type Fingerprint,
  privateProcfs,
  takeFingerprint,
  VOLATILE_SYSCTLS,
} from './fingerprint.js';
import { readTrim, sysctlPath, useSysctlRoot } from './proc.js';
import { StateReader } from './state-reader.js';

export interface WatchResult {
  /** What the cell changed, each line saying whether it was undone. */
  problems: string[];
  /** Why the boot must end after this cell (what could not be undone), or null. */
  fatal: string | null;
  ms: number;
  parts: Fingerprint['ms'];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How long BPF objects of a finished cell may take to go: the kernel frees a program's maps
 * after an RCU grace period and a work item (slow under TCG). */
const BPF_SETTLE_MS = 2000;

export class StateWatch {
  private readonly proc: string;
  readonly reader: StateReader;
  private baseline: Fingerprint | null = null;
  /** A scenario's setup or teardown ran: the next cell's baseline is taken again. */
  dirty = false;

  private constructor(proc: string, reader: StateReader) {
    this.proc = proc;
    this.reader = reader;
  }

  /** Mounts the agent's own procfs and reads sysctls through it from then on. `cgroups`: the
   * cells' ancestors (the root cgroup) and the agent's own, whose attached programs are watched.
   * The helper's FIFOs go beside that procfs, in the directory only root can enter. */
  static async start(agentCgroup: string | null): Promise<StateWatch | { error: string }> {
    const p = privateProcfs();
    if ('error' in p) return p;
    useSysctlRoot(`${p.dir}/sys`);
    const dirs = [CGROUP_FS, ...(agentCgroup ? [agentCgroup] : [])].map((d) => path.resolve(d));
    const cgroups = [...new Set(dirs)].filter((d) => fs.existsSync(d));
    const reader = await StateReader.start(p.dir, Object.keys(VOLATILE_SYSCTLS), cgroups, path.dirname(p.dir));
    return reader.broken
      ? { error: `no fingerprint of the guest's state: ${reader.broken}` }
      : new StateWatch(p.dir, reader);
  }

  /** The fingerprint now; the helper's failure is the boot's end (thrown, caught by check). */
  private async take(detach?: string): Promise<Fingerprint> {
    const fp = await takeFingerprint(this.reader, detach);
    if (!fp) throw new Error(`no fingerprint of the guest's state: ${this.reader.broken}`);
    return fp;
  }

  close(): void {
    this.reader.close();
  }

  async rebase(): Promise<void> {
    this.baseline = await this.take();
    this.dirty = false;
  }

  async rebaseIfDirty(): Promise<void> {
    if (this.dirty || !this.baseline) await this.rebase();
  }

  /** Diffs the state now against the baseline; `want` holds the sysctls the agent set for the
   * cell. The state after it (undone where it could be) is the next cell's baseline. Without an
   * answer from the helper (a cell killed it, or it hung) the cell is blamed and the boot ends. */
  async check(want: Record<string, string>, ignorePids: Set<number>): Promise<WatchResult> {
    const t0 = performance.now();
    try {
      return await this.checkOrThrow(want, ignorePids, t0);
    } catch (e) {
      return {
        problems: [(e as Error).message],
        fatal: (e as Error).message,
        ms: performance.now() - t0,
        parts: {},
      };
    }
  }

  private async checkOrThrow(want: Record<string, string>, ignorePids: Set<number>, t0: number) {
    const before = this.baseline ?? (await this.take());
    let after = await this.take();
    const tDiff = performance.now();
    let found = diffFingerprints(before, after, want, this.proc, ignorePids);
    const parts = { ...after.ms, diff: performance.now() - tDiff };
    // modules the kernel loaded on demand for what the cell did (sch_ingress, cls_bpf for tc;
    // af_alg for any user): unloaded again quietly, so the next cell starts as this one did (a
    // module already there could let a later cell skip the privilege its autoload needs). One
    // that will not go is a change like any other.
    const loaded = found.filter((c) => c.kind === 'module' && typeof c.undo === 'string').map((c) => String(c.undo));
    const stuck = await this.unloadModules(loaded);
    if (loaded.length) {
      after = await this.take();
      found = diffFingerprints(before, after, want, this.proc, ignorePids);
    }
    // the cell's programs and maps go a moment after its last process (RCU, a work item)
    ({ after, found } = await this.settleBpf(before, after, found, want, ignorePids));
    const changes = found.filter(
      (c) => c.kind !== 'module' || !loaded.includes(String(c.undo)) || stuck.has(String(c.undo)),
    );
    const ms = performance.now() - t0;
    if (!changes.length) {
      this.baseline = after;
      return { problems: [], fatal: null, ms, parts };
    }
    for (const c of changes) if (c.kind !== 'cgroup') undo(c);
    for (const c of changes) if (c.kind === 'cgroup' && typeof c.undo === 'string') await this.take(c.undo);
    await sleep(50); // a killed process leaves, a detached mount goes
    let still = await this.again(before, want, ignorePids);
    for (let i = 0; i < 20 && still.some((c) => c.kind === 'process' || c.kind === 'bpf'); i++) {
      await sleep(100);
      still = await this.again(before, want, ignorePids);
    }
    const left = new Set(still.map((c) => c.line));
    const problems = changes.map((c) => `${c.line} (${left.has(c.line) ? 'could NOT be undone' : 'undone'})`);
    // what the undo could not restore stays as it is for the next cells: the boot ends here
    const fatal = still.length ? `state the agent could not undo: ${still.map((c) => c.line).join('; ')}` : null;
    this.baseline = await this.take();
    return { problems, fatal, ms, parts };
  }

  /** While the only BPF changes are objects that outlived the cell (nothing attached them to a
   * watched cgroup), asks again for up to BPF_SETTLE_MS. */
  private async settleBpf(
    before: Fingerprint,
    after: Fingerprint,
    found: Change[],
    want: Record<string, string>,
    ignorePids: Set<number>,
  ) {
    const waitFor = (f: Change[]) => f.some((c) => c.kind === 'bpf') && !f.some((c) => c.kind === 'cgroup');
    for (let waited = 0; waited < BPF_SETTLE_MS && waitFor(found); waited += 20) {
      await sleep(20);
      after = await this.take();
      found = diffFingerprints(before, after, want, this.proc, ignorePids);
    }
    return { after, found };
  }
  /** rmmod each, again while one is still busy (a qdisc's module is freed after an RCU grace
   * period), for up to ~2 s; returns the names still loaded. */
  private async unloadModules(names: string[]): Promise<Set<string>> {
    let left = new Set(names);
    for (let i = 0; left.size && i < 20; i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      for (const name of left) runAsRoot('rmmod', [name]);
      const now = new Set((readTrim(`${this.proc}/modules`) ?? '').split('\n').map((l) => l.split(' ')[0]));
      left = new Set([...left].filter((n) => now.has(n)));
    }
    return left;
  }

  private async again(before: Fingerprint, want: Record<string, string>, ignorePids: Set<number>) {
    const still = diffFingerprints(before, await this.take(), want, this.proc, ignorePids);
    return still;
  }
}

function undo(c: Change): void {
  if (c.undo === null) return;
  if (c.kind === 'sysctl' && typeof c.undo === 'string') {
    const name = c.line.split(' ')[0] ?? '';
    try {
      // written through the agent's own procfs (useSysctlRoot), never a path a cell mounted over
      fs.writeFileSync(sysctlPath(name), c.undo);
    } catch {}
  } else if (c.kind === 'mount' && typeof c.undo === 'string') runAsRoot('umount', ['-l', c.undo]);
  else if (c.kind === 'process' && typeof c.undo === 'number') {
    try {
      process.kill(c.undo, 'SIGKILL');
    } catch {}
  } else if (c.kind === 'module' && typeof c.undo === 'string') runAsRoot('rmmod', [c.undo]);
  else if (c.kind === 'lo' && Array.isArray(c.undo)) {
    const [first, ...rest] = c.undo;
    if (first === 'tc:qdisc') runAsRoot('tc', ['qdisc', ...rest]);
    else if (first) runAsRoot('ip', [first, ...rest]);
  }
}
