// The state a cell may leave behind, reset and checked before the next cell: processes of the
// unprivileged uid anywhere (one that moved itself out of its cgroup included), an XDP program
// on lo, and after a user's program a clsact qdisc on lo (fingerprint.ts finds the rest). Pins and mounts are the scenario's teardown; links and programs die with their processes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { UNPRIVILEGED_UID } from '../dsl/expand.js';
import { run } from './commands.js';
import { PATH_ENV, procStatus } from './proc.js';
import { rootTools } from './tools.js';

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

/** A long-lived `tc` in batch mode answers questions about lo without an exec per cell (tc
 * starts in ~200 ms under TCG). A marker command that can never succeed
 * follows each question, and its error on stderr ends the answer (-force goes on after it). */
class BatchTool {
  private readonly proc;
  private answer = '';
  private errors = '';
  /** A question went unanswered: the batch is no longer trusted to pair answers with questions. */
  private broken = false;
  private waiter: ((text: string | null) => void) | null = null;

  constructor(
    argv: string[],
    private readonly marker: string,
  ) {
    this.proc = spawn(rootTools.resolve(argv[0] ?? ''), argv.slice(1), {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: PATH_ENV },
    });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stderr.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => {
      this.answer += d;
    });
    // the answer's stdout was written before the marker's stderr: read what poll saw first
    this.proc.stderr.on('data', (d: string) => {
      this.errors += d;
      if (this.errors.includes(MARKER)) setImmediate(() => this.settle(this.answer));
    });
    this.proc.on('error', () => this.settle(null));
    this.proc.on('exit', () => this.settle(null));
  }

  private settle(text: string | null): void {
    this.answer = '';
    this.errors = '';
    const w = this.waiter;
    this.waiter = null;
    w?.(text);
  }

  /** The output of `commands` (lines), or null when the batch cannot answer (the caller execs). */
  ask(commands: string): Promise<string | null> {
    if (this.broken || this.waiter || this.proc.exitCode !== null || !this.proc.stdin.writable)
      return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.broken = true;
        this.proc.kill('SIGKILL');
        this.settle(null);
      }, 5000);
      this.waiter = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
      this.proc.stdin.write(`${commands}\n${this.marker}\n`);
    });
  }

  close(): void {
    this.proc.stdin.end();
  }
}
const MARKER = 'capmatrix-marker';

/** One long-lived `ip -o -batch -` answers "lo's link line?" (its flags, an XDP program) after
 * every cell without an exec per cell (an exec costs tens of milliseconds under TCG); a question
 * that goes unanswered for 5 s ends the batch and the answer comes from an exec. */
export class LoLink {
  private readonly ip = spawn(rootTools.resolve('ip'), ['-o', '-force', '-batch', '-'], {
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { PATH: PATH_ENV },
  });
  private buffer = '';
  private broken = false;
  private waiter: ((link: string | null) => void) | null = null;

  constructor() {
    this.ip.stdout.setEncoding('utf8');
    this.ip.stdout.on('data', (d: string) => {
      this.buffer += d;
      for (let i = this.buffer.indexOf('\n'); i >= 0; i = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        this.settle(line);
      }
    });
    this.ip.on('error', () => this.settle(null));
    this.ip.on('exit', () => this.settle(null));
  }

  private settle(link: string | null): void {
    const w = this.waiter;
    this.waiter = null;
    w?.(link);
  }

  private query(): Promise<string | null> {
    if (this.broken || this.waiter || this.ip.exitCode !== null || !this.ip.stdin.writable)
      return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.broken = true;
        this.ip.kill('SIGKILL');
        this.settle(null);
      }, 5000);
      this.waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.ip.stdin.write('link show dev lo\n');
    });
  }

  /** `ip -o link show dev lo` */
  async show(): Promise<string> {
    return (await this.query()) ?? run('ip', ['-o', 'link', 'show', 'dev', 'lo']).out;
  }

  close(): void {
    this.ip.stdin.end();
  }
}

/** `tc -batch -`: the qdiscs on lo. */
export class LoQdiscs extends BatchTool {
  constructor() {
    super(['tc', '-force', '-batch', '-'], `qdisc show ${MARKER}`);
  }

  /** `tc qdisc show dev lo`; null when the batch cannot answer (the caller execs tc). */
  show(): Promise<string | null> {
    return this.ask('qdisc show dev lo');
  }
}

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
