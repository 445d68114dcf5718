// Every leftover found, whoever left it: the guest's fingerprint (fingerprint.ts) is taken at
// the boot's start and after each cell's reset, and diffed against the one before. What a cell
// changed is undone where the agent can (a sysctl written back, a mount detached, a process
// killed, lo brought up, a qdisc removed) and checked by a second fingerprint; what will not go
// back ends the boot after that cell's record. The agent's own sysctl writes are compared against
// what it set, and a scenario's setup and teardown (trusted, root) move the baseline instead of
// counting as the cell's changes.
import fs from 'node:fs';
import { run } from './commands.js';
import {
  type Change,
  diffFingerprints,
  type Fingerprint,
  privateProcfs,
  takeFingerprint,
  VOLATILE_SYSCTLS,
} from './fingerprint.js';
import { readTrim, sysctlPath, useSysctlRoot } from './proc.js';
import type { LoLink, LoQdiscs } from './reset.js';
import { SysctlReader } from './sysctl-reader.js';

export interface WatchResult {
  /** What the cell changed, each line saying whether it was undone. */
  problems: string[];
  /** Why the boot must end after this cell (what could not be undone), or null. */
  fatal: string | null;
  ms: number;
  parts: Fingerprint['ms'];
}

export class StateWatch {
  private readonly proc: string;
  readonly sysctls: SysctlReader;
  private baseline: Fingerprint | null = null;
  /** A scenario's setup or teardown ran: the next cell's baseline is taken again. */
  dirty = false;

  private constructor(
    proc: string,
    private readonly lo: LoLink,
    private readonly qdiscs: LoQdiscs,
  ) {
    this.proc = proc;
    this.sysctls = new SysctlReader(proc, Object.keys(VOLATILE_SYSCTLS));
  }

  /** Mounts the agent's own procfs and reads sysctls through it from then on. */
  static start(lo: LoLink, qdiscs: LoQdiscs): StateWatch | { error: string } {
    const p = privateProcfs();
    if ('error' in p) return p;
    useSysctlRoot(`${p.dir}/sys`);
    return new StateWatch(p.dir, lo, qdiscs);
  }

  private take(knownQdiscs?: string[]): Promise<Fingerprint> {
    return takeFingerprint(this.proc, this.sysctls, this.lo, this.qdiscs, knownQdiscs);
  }

  close(): void {
    this.sysctls.close();
  }

  async rebase(): Promise<void> {
    this.baseline = await this.take();
    this.dirty = false;
  }

  async rebaseIfDirty(): Promise<void> {
    if (this.dirty || !this.baseline) await this.rebase();
  }

  /** Diffs the state now against the baseline; `want` holds the sysctls the agent set for the
   * cell. The state after it (undone where it could be) is the next cell's baseline.
   * `unprivileged`: the cell held no capability, so lo's qdiscs (CAP_NET_ADMIN) are not asked. */
  async check(want: Record<string, string>, ignorePids: Set<number>, unprivileged = false): Promise<WatchResult> {
    const t0 = performance.now();
    const before = this.baseline ?? (await this.take());
    const after = await this.take(unprivileged ? before.lo.qdiscs : undefined);
    const parts = after.ms;
    const found = diffFingerprints(before, after, want, this.proc, ignorePids);
    // modules the kernel loaded on demand for what the cell did (sch_ingress, cls_bpf for tc;
    // af_alg for any user): unloaded again quietly, so the next cell starts as this one did (a
    // module already there could let a later cell skip the privilege its autoload needs). One
    // that will not go is a change like any other.
    const loaded = found.filter((c) => c.kind === 'module' && typeof c.undo === 'string');
    const stuck = await this.unloadModules(loaded.map((c) => String(c.undo)));
    const changes = found.filter((c) => !loaded.includes(c) || stuck.has(String(c.undo)));
    const ms = performance.now() - t0;
    if (!changes.length) {
      this.baseline = loaded.length ? await this.take() : after;
      return { problems: [], fatal: null, ms, parts };
    }
    for (const c of changes) undo(c);
    await new Promise((r) => setTimeout(r, 50)); // a killed process leaves, a detached mount goes
    let still = await this.again(before, want, ignorePids);
    for (let i = 0; i < 10 && still.some((c) => c.kind === 'process'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      still = await this.again(before, want, ignorePids);
    }
    const left = new Set(still.map((c) => c.line));
    const problems = changes.map((c) => `${c.line} (${left.has(c.line) ? 'could NOT be undone' : 'undone'})`);
    // what the undo could not restore stays as it is for the next cells: the boot ends here
    const fatal = still.length ? `state the agent could not undo: ${still.map((c) => c.line).join('; ')}` : null;
    this.baseline = await this.take();
    return { problems, fatal, ms, parts };
  }

  /** rmmod each, again while one is still busy (a qdisc's module is freed after an RCU grace
   * period), for up to ~2 s; returns the names still loaded. */
  private async unloadModules(names: string[]): Promise<Set<string>> {
    let left = new Set(names);
    for (let i = 0; left.size && i < 20; i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      for (const name of left) run('rmmod', [name]);
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
  } else if (c.kind === 'mount' && typeof c.undo === 'string') run('umount', ['-l', c.undo]);
  else if (c.kind === 'process' && typeof c.undo === 'number') {
    try {
      process.kill(c.undo, 'SIGKILL');
    } catch {}
  } else if (c.kind === 'module' && typeof c.undo === 'string') run('rmmod', [c.undo]);
  else if (c.kind === 'lo' && Array.isArray(c.undo)) {
    const [first, ...rest] = c.undo;
    if (first === 'tc:qdisc') run('tc', ['qdisc', ...rest]);
    else if (first) run('ip', [first, ...rest]);
  }
}
