// The state a cell may leave behind, reset and checked before the next cell: processes of the
// unprivileged uid anywhere (one that moved itself out of its cgroup included), an XDP program
// on lo, and after a user's program a clsact qdisc on lo. Pins and mounts are the scenario's teardown; links and programs die with their processes.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { UNPRIVILEGED_UID } from '../dsl/expand.js';
import { run } from './commands.js';
import { PATH_ENV, procStatus } from './proc.js';

/** One long-lived `ip -batch -` answers "is an XDP program on lo?" after every cell without an
 * exec per cell (an exec costs tens of milliseconds under TCG). */
export class LoLink {
  private readonly ip = spawn('ip', ['-o', '-force', '-batch', '-'], {
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

/** Processes whose real, effective or saved uid is the cells' unprivileged uid. */
function unprivilegedProcesses(): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const uids = (procStatus(Number(name))?.Uid ?? '').split(/\s+/).slice(0, 3).map(Number);
    if (uids.includes(UNPRIVILEGED_UID)) pids.push(Number(name));
  }
  return pids;
}

/** A clsact qdisc (tc programs) on lo outlives the process that attached it. Checked only after
 * cells that can attach tc (a user's object or loader): `tc` is an exec, tens of ms under TCG. */
function resetTc(problems: string[]): void {
  if (!/\b(clsact|ingress)\b/.test(run('tc', ['qdisc', 'show', 'dev', 'lo']).out)) return;
  const gone = run('tc', ['qdisc', 'del', 'dev', 'lo', 'clsact']).ok;
  problems.push(`a clsact qdisc (tc programs) was left on lo (${gone ? 'removed' : 'and it could NOT be removed'})`);
}

/** Resets what a cell left; returns what had to be cleaned (empty: it was clean). */
export async function resetState(lo: LoLink, checkTc = false): Promise<string[]> {
  const problems: string[] = [];
  const stray = unprivilegedProcesses();
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
  if (checkTc) resetTc(problems);
  return problems;
}
