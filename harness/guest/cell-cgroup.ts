// Every cell's processes live in a cgroup of their own (cgroup v2), so the agent can kill all of
// them at once, whatever they did (setsid, double fork), and check that none is left. The child
// is born inside it: the agent moves itself in, spawns, and moves itself back, so no process of
// the sample ever runs outside it, not even for the first instruction.
import fs from 'node:fs';
import path from 'node:path';
import { run } from './commands.js';
import { readTrim } from './proc.js';

const CGROUP_FS = '/sys/fs/cgroup';

/** Where the agent itself lives; null when no cgroup v2 hierarchy can be had. */
export function agentCgroup(): { dir: string | null; detail: string } {
  if (!fs.existsSync(path.join(CGROUP_FS, 'cgroup.procs'))) {
    const r = run('mount', ['-t', 'cgroup2', 'none', CGROUP_FS]);
    if (!r.ok) return { dir: null, detail: `no cgroup v2 (${r.out}): cells are contained by process group only` };
  }
  const own = (readTrim('/proc/self/cgroup') ?? '').split('\n').find((l) => l.startsWith('0::'));
  if (!own) return { dir: null, detail: 'the agent is in no cgroup v2 hierarchy' };
  return { dir: path.join(CGROUP_FS, own.slice(3)), detail: 'one cgroup v2 per cell' };
}

export class CellCgroup {
  readonly dir: string;

  constructor(
    private readonly agentDir: string,
    name: string,
  ) {
    this.dir = path.join(CGROUP_FS, name);
    fs.mkdirSync(this.dir);
  }

  /** Runs `spawn` with the agent inside this cgroup, so the child starts in it. */
  spawnInside<T>(spawn: () => T): T {
    fs.writeFileSync(path.join(this.dir, 'cgroup.procs'), String(process.pid));
    try {
      return spawn();
    } finally {
      fs.writeFileSync(path.join(this.agentDir, 'cgroup.procs'), String(process.pid));
    }
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
