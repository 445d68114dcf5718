// The state a cell may leave behind, reset and checked before the next cell: processes of the
// unprivileged uid anywhere (one that moved itself out of its cgroup included), an XDP program
// on lo, and after a user's program a clsact qdisc on lo. Pins and mounts are the scenario's teardown; links and programs die with their processes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { UNPRIVILEGED_UID } from '../dsl/expand.js';
import { run } from './commands.js';
import { PATH_ENV, procStatus } from './proc.js';
import { rootTools } from './tools.js';

/** One long-lived `ip -batch -` answers "is an XDP program on lo?" after every cell without an
 * exec per cell (an exec costs tens of milliseconds under TCG). */
export class LoLink {
  private readonly ip = spawn(rootTools.resolve('ip'), ['-o', '-force', '-batch', '-'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { PATH: PATH_ENV },
  });
  private readonly waiters: ((line: string) => void)[] = [];
  private buffer = '';

  constructor() {
    this.ip.stdout.setEncoding('utf8');
    this.ip.stdout.on('data', (d: string) => {
      this.buffer += d;
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        this.waiters.shift()?.(line);
      }
    });
  }

  /** `ip -o link show dev lo` */
  show(): Promise<string> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.ip.stdin.write('link show dev lo\n');
    });
  }

  close(): void {
    this.ip.stdin.end();
  }
}

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

/** One long-lived `tc -force -batch -` answers "which qdiscs are on lo?" without an exec per cell
 * (tc starts in ~200 ms under TCG). tc flushes each qdisc it prints; a marker command that can
 * never succeed follows each question, and its error on stderr ends the answer. */
export class LoQdiscs {
  private readonly tc = spawn(rootTools.resolve('tc'), ['-force', '-batch', '-'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: PATH_ENV },
  });
  private answer = '';
  private errors = '';
  /** A question went unanswered: the batch is no longer trusted to pair answers with questions. */
  private broken = false;
  private waiter: ((text: string | null) => void) | null = null;

  constructor() {
    this.tc.stdout.setEncoding('utf8');
    this.tc.stderr.setEncoding('utf8');
    this.tc.stdout.on('data', (d: string) => {
      this.answer += d;
    });
    // the answer's stdout was written before the marker's stderr: read what poll saw first
    this.tc.stderr.on('data', (d: string) => {
      this.errors += d;
      if (this.errors.includes(QDISC_MARKER)) setImmediate(() => this.settle(this.answer));
    });
    this.tc.on('error', () => this.settle(null));
    this.tc.on('exit', () => this.settle(null));
  }

  private settle(text: string | null): void {
    this.answer = '';
    this.errors = '';
    const w = this.waiter;
    this.waiter = null;
    w?.(text);
  }

  /** `tc qdisc show dev lo`; null when the batch cannot answer (the caller execs tc). */
  show(): Promise<string | null> {
    if (this.broken || this.tc.exitCode !== null || !this.tc.stdin.writable) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.broken = true;
        this.tc.kill('SIGKILL');
        this.settle(null);
      }, 5000);
      this.waiter = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
      this.tc.stdin.write(`qdisc show dev lo\nqdisc show ${QDISC_MARKER}\n`);
    });
  }

  close(): void {
    this.tc.stdin.end();
  }
}
const QDISC_MARKER = 'capmatrix-marker';

/** A clsact qdisc (tc programs) on lo outlives the process that attached it. Checked only after
 * cells that can attach tc (a user's object or loader). */
async function resetTc(qdiscs: LoQdiscs, problems: string[]): Promise<void> {
  const shown = (await qdiscs.show()) ?? run('tc', ['qdisc', 'show', 'dev', 'lo']).out;
  if (!/\b(clsact|ingress)\b/.test(shown)) return;
  const gone = run('tc', ['qdisc', 'del', 'dev', 'lo', 'clsact']).ok;
  problems.push(`a clsact qdisc (tc programs) was left on lo (${gone ? 'removed' : 'and it could NOT be removed'})`);
}

/** Resets what a cell left; returns what had to be cleaned (empty: it was clean). */
export async function resetState(lo: LoLink, processes: UidProcesses, qdiscs: LoQdiscs | null): Promise<string[]> {
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
  if (/\sxdp/.test(await lo.show())) {
    run('ip', ['link', 'set', 'dev', 'lo', 'xdpgeneric', 'off']);
    const still = /\sxdp/.test(await lo.show());
    problems.push(`an XDP program was left on lo (detached${still ? ', and it is STILL there' : ''})`);
  }
  if (qdiscs) await resetTc(qdiscs, problems);
  return problems;
}
