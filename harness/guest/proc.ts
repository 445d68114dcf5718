// Reading the guest kernel's own view: /proc and /sys files, sysctls, a process's status.
import fs from 'node:fs';
import path from 'node:path';

export const PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function readTrim(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Where sysctls are read and written: /proc/sys until the agent mounts a procfs of its own
 * (fingerprint.ts), so a mount a cell puts over /proc/sys/... cannot answer for the kernel. */
let sysRoot = '/proc/sys';

export function useSysctlRoot(dir: string): void {
  sysRoot = dir;
}

export function sysctlPath(name: string): string {
  return path.join(sysRoot, ...name.split('.'));
}

export function readSysctl(name: string): number | null {
  const v = readTrim(sysctlPath(name));
  return v === null ? null : Number(v);
}

/** Fields of /proc/<pid>/status ('self' for the agent), or null when the process is gone. */
export function procStatus(pid: number | 'self'): Record<string, string> | null {
  const text = readTrim(`/proc/${pid}/status`);
  return text === null ? null : parseStatus(text);
}

/** The fields of a /proc/<pid>/status text. */
export function parseStatus(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return fields;
}

/** /proc/<pid>/stat's state letter ('T' = stopped), or null when gone. */
export function procState(pid: number): string | null {
  const stat = readTrim(`/proc/${pid}/stat`);
  return stat === null ? null : (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null);
}

/** A capability mask from /proc/<pid>/status ("000000c000000000"), or -1n when unreadable. */
export function hexMask(v: string | undefined): bigint {
  return /^[0-9a-f]+$/i.test(v ?? '') ? BigInt(`0x${v}`) : -1n;
}

export function capMask(numbers: number[]): bigint {
  return numbers.reduce((m, n) => m | (1n << BigInt(n)), 0n);
}

export function maskHex(mask: bigint): string {
  return mask.toString(16).padStart(16, '0');
}

export function modeOf(p: string): string | null {
  try {
    return (fs.statSync(p).mode & 0o7777).toString(8).padStart(4, '0');
  } catch {
    return null;
  }
}
