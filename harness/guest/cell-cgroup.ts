// Every cell's processes live in a cgroup of their own (cgroup v2), so the agent can kill all of
// them at once, whatever they did (setsid, double fork), and check that none is left. The child
// is born inside it: the agent moves itself in, spawns, and moves itself back, so no process of
// the sample ever runs outside it, not even for the first instruction.
import fs from 'node:fs';
import path from 'node:path';
import { runAsRoot } from './commands.js';
import { readTrim } from './proc.js';

export const CGROUP_FS = '/sys/fs/cgroup';
/** A cell may fork this many tasks: a fork bomb ends its own cell, not the guest. */
const CELL_PIDS_MAX = 1024;

/** Half the guest's memory for a cell: an allocating program is killed inside its own cgroup
 * (memory.oom.group), and the agent keeps the other half. */
function cellMemoryMax(): number | null {
  const kb = /^MemTotal:\s+(\d+) kB/m.exec(readTrim('/proc/meminfo') ?? '')?.[1];
  return kb ? Math.floor((Number(kb) * 1024) / 2) : null;
}

/** The cells' cgroups get the memory and pids controllers (from the root's subtree_control);
 * returns what could not be enabled, or null. */
export function enableCellLimits(): string | null {
  try {
    fs.writeFileSync(path.join(CGROUP_FS, 'cgroup.subtree_control'), '+memory +pids');
    return null;
  } catch (e) {
    return `the memory and pids controllers could not be enabled for the cells: ${(e as Error).message}`;
  }
}

/** The OOM killer never picks the agent (-1000); a cell's processes are born with 0 (a child
 * inherits its parent's value at fork, and only CAP_SYS_RESOURCE can lower it again). */
const OOM_ADJ = '/proc/self/oom_score_adj';
export const protectAgentFromOom = () => fs.writeFileSync(OOM_ADJ, '-1000');

/** Runs `spawn` with the agent killable for a moment, so the child is born killable. */
export function spawnOomKillable<T>(spawn: () => T): T {
  fs.writeFileSync(OOM_ADJ, '0');
  try {
    return spawn();
  } finally {
    protectAgentFromOom();
  }
}

/** Where the agent itself lives; null when no cgroup v2 hierarchy can be had. */
export function agentCgroup(): { dir: string | null; detail: string } {
  if (!fs.existsSync(path.join(CGROUP_FS, 'cgroup.procs'))) {
    const r = runAsRoot('mount', ['-t', 'cgroup2', 'none', CGROUP_FS]);
    if (!r.ok) return { dir: null, detail: `no cgroup v2 (${r.out}): cells are contained by process group only` };
  }
  const own = (readTrim('/proc/self/cgroup') ?? '').split('\n').find((l) => l.startsWith('0::'));
  if (!own) return { dir: null, detail: 'the agent is in no cgroup v2 hierarchy' };
  return { dir: path.join(CGROUP_FS, own.slice(3)), detail: 'one cgroup v2 per cell' };
}

export class CellCgroup {
  readonly dir: string;
  /** Its cgroup id (the kernel's, as bpf_get_current_cgroup_id gives it: the directory's inode). */
  readonly id: bigint;

  constructor(
    private readonly agentDir: string,
    name: string,
  ) {
    this.dir = path.join(CGROUP_FS, name);
    fs.mkdirSync(this.dir);
    this.id = fs.statSync(this.dir, { bigint: true }).ino;
    const memoryMax = cellMemoryMax();
    this.limit('pids.max', String(CELL_PIDS_MAX));
    if (memoryMax) this.limit('memory.max', String(memoryMax));
    this.limit('memory.oom.group', '1');
  }

  /** A limit the guest may not offer (no controller): the cell runs without it. */
  private limit(file: string, value: string): void {
    try {
      fs.writeFileSync(path.join(this.dir, file), value);
    } catch {}
  }

  /** Runs `spawn` with the agent inside this cgroup and killable by the OOM killer, so the child
   * starts in it with an ordinary oom_score_adj. */
  spawnInside<T>(spawn: () => T): T {
    fs.writeFileSync(path.join(this.dir, 'cgroup.procs'), String(process.pid));
    try {
      return spawnOomKillable(spawn);
    } finally {
      fs.writeFileSync(path.join(this.agentDir, 'cgroup.procs'), String(process.pid));
    }
  }

  /** The limit the cell ran into, if any: an OOM kill inside it, or a fork refused at pids.max. */
  limitHit(): string | null {
    const count = (file: string, key: string) =>
      Number(new RegExp(`^${key} (\\d+)$`, 'm').exec(readTrim(path.join(this.dir, file)) ?? '')?.[1] ?? 0);
    if (count('memory.events', 'oom_kill') > 0)
      return `the cell's processes were killed at its memory.max (${readTrim(path.join(this.dir, 'memory.max'))} bytes)`;
    if (count('pids.events', 'max') > 0) return `the cell tried to run more than its pids.max (${CELL_PIDS_MAX}) tasks`;
    return null;
  }

  pids(): number[] {
    return (readTrim(path.join(this.dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean).map(Number);
  }

  /** SIGKILL to everything inside: cgroup.kill (5.14+), else freeze, kill each, thaw. */
  kill(): void {
    const killFile = path.join(this.dir, 'cgroup.kill');
    if (fs.existsSync(killFile)) {
      fs.writeFileSync(killFile, '1');
      return;
    }
    const freeze = path.join(this.dir, 'cgroup.freeze');
    fs.writeFileSync(freeze, '1');
    for (const pid of this.pids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    fs.writeFileSync(freeze, '0');
  }

  /** Waits until nothing is left inside (killed processes take a moment to go). */
  async emptied(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      if (/^populated 0$/m.test(readTrim(path.join(this.dir, 'cgroup.events')) ?? '')) return true;
      if (Date.now() > until) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  remove(): void {
    try {
      fs.rmdirSync(this.dir);
    } catch {}
  }
}
