// Who is still alive in a process group? Read from /proc, ignoring zombies (a killed process
// whose parent died may stay a zombie under a PID 1 that does not reap; it runs nothing).
import { readdirSync, readFileSync } from 'node:fs';

export interface GroupMember {
  pid: number;
  comm: string;
  state: string;
}

export function liveGroupMembers(pgid: number): GroupMember[] {
  const out: GroupMember[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may contain spaces and parentheses.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const [state, , pgrp] = stat.slice(close + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X')
      out.push({ pid: Number(entry), comm, state: state ?? '?' });
  }
  return out;
}
