// The cell's own uid, reset before anything else is checked: processes of the unprivileged uid
// anywhere (one that moved itself out of its cgroup included) are killed. The rest of what a cell
// may leave (lo, XDP and tc programs, BPF objects, sysctls, mounts, root processes, modules) is
// the fingerprint's (fingerprint.ts, state-watch.ts): found, named, undone or the boot's end.
import fs from 'node:fs';
import { UNPRIVILEGED_UID } from '../dsl/capabilities.js';
import { procStatus } from './proc.js';

/** Finds the processes whose real, effective or saved uid is the cells' unprivileged uid. The
 * owner of /proc/<pid> is the process's euid only while it is dumpable (file capabilities make it
 * not), so a directory owned by the uid is always read, one owned by root unless it is cleared. */
export class UidProcesses {
  /** Processes already read and found not of the uid: pid → the inode of its /proc directory. A
   * new process, even on a reused pid, gets a new inode (procfs inode numbers are never reused),
   * so only processes new since the last check are read again (~1 ms a status file under TCG). */
  private readonly cleared = new Map<string, number>();

  find(): number[] {
    const pids: number[] = [];
    const names = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
    for (const name of this.cleared.keys()) if (!names.includes(name)) this.cleared.delete(name);
    for (const name of names) {
      const dir = fs.statSync(`/proc/${name}`, { throwIfNoEntry: false });
      if (!dir || (dir.uid !== UNPRIVILEGED_UID && this.cleared.get(name) === dir.ino)) continue;
      const uids = (procStatus(Number(name))?.Uid ?? '').split(/\s+/).slice(0, 3).map(Number);
      if (uids.includes(UNPRIVILEGED_UID)) pids.push(Number(name));
      else this.cleared.set(name, dir.ino);
    }
    return pids;
  }
}

/** Kills what a cell left running as the unprivileged uid; returns what had to be cleaned (empty:
 * it was clean). */
export function resetState(processes: UidProcesses): string[] {
  const problems: string[] = [];
  const stray = processes.find();
  if (stray.length) {
    for (const pid of stray) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    problems.push(`processes of uid ${UNPRIVILEGED_UID} outside the cell's cgroup: ${stray.join(', ')} (killed)`);
  }
  return problems;
}
