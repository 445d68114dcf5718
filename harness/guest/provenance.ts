// What the agent records once per boot, before any sample runs: the kernel, every relevant
// setting, how cells are contained, and the key that signs every later line.
import os from 'node:os';
import { modeOf, procStatus, readSysctl, readTrim } from './proc.js';
import type { Plan, ProvenanceRecord } from './protocol.js';

/** Who /etc/sudoers lets in: virtme-init replaces it with its own (root, plus the host user when
 * vng runs the command as that user); a sample's uid must never be among them. */
export function sudoersUsers(): string[] {
  return (readTrim('/etc/sudoers') ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('Defaults'))
    .map((l) => l.split(/\s+/)[0] ?? '');
}

/** Checked once per boot: the agent must be root, and nothing may give a sample's uid a way back
 * to root; otherwise every cell is refused. */
export function unsafeGuest(): string | null {
  if (process.getuid?.() !== 0) return `the guest agent runs as uid ${process.getuid?.()}, not root`;
  const users = sudoersUsers();
  if (users.some((u) => u !== 'root'))
    return `/etc/sudoers in the guest lets in ${users.join(', ')}: a sample could reach root`;
  return null;
}

/** The kernel's clock since boot, from /proc/uptime (ms). */
function uptimeMs(): number | null {
  const seconds = Number(readTrim('/proc/uptime')?.split(' ')[0]);
  return Number.isFinite(seconds) ? Math.round(seconds * 1000) : null;
}

/** The mount the agent's `/` is (the last one mountinfo lists there is on top). */
function rootMount(): string | null {
  const root = (readTrim('/proc/self/mountinfo') ?? '')
    .split('\n')
    .filter((l) => l.split(' ')[4] === '/')
    .at(-1);
  const [fsType, source, options] = root?.split(' - ')[1]?.split(' ') ?? [];
  return fsType && source ? `${source} ${fsType} ${options ?? ''}`.trim() : null;
}

function fsAt(mounts: string, p: string): string | null {
  return (
    mounts
      .split('\n')
      .find((l) => l.split(' ')[1] === p)
      ?.split(' ')[2] ?? null
  );
}

export function provenance(
  plan: Plan,
  publicKey: string,
  containment: ProvenanceRecord['containment'],
): ProvenanceRecord {
  const mounts = readTrim('/proc/mounts') ?? '';
  const clocksource = readTrim('/sys/devices/system/clocksource/clocksource0/current_clocksource');
  return {
    type: 'provenance',
    bootId: plan.bootId,
    publicKey,
    release: os.release(),
    version: readTrim('/proc/version'),
    cmdline: readTrim('/proc/cmdline'),
    cpus: os.cpus().length,
    memMiB: Math.round(os.totalmem() / 1048576),
    clocksource,
    guestAccel: clocksource === 'kvm-clock' ? 'kvm' : 'tcg-or-other',
    sysctls: Object.fromEntries(plan.recordSysctls.map((n) => [n, readSysctl(n)])),
    tracefs: {
      path: '/sys/kernel/tracing',
      fs: fsAt(mounts, '/sys/kernel/tracing'),
      mode: modeOf('/sys/kernel/tracing'),
    },
    bpffs: { path: '/sys/fs/bpf', fs: fsAt(mounts, '/sys/fs/bpf'), mode: modeOf('/sys/fs/bpf') },
    lockdown: readTrim('/sys/kernel/security/lockdown'),
    agentCapEff: procStatus('self')?.CapEff ?? null,
    agentUid: process.getuid?.() ?? null,
    sudoers: sudoersUsers(),
    init: readTrim('/proc/1/comm'),
    rootMount: rootMount(),
    uptimeMs: uptimeMs(),
    containment,
    node: process.version,
    t: Date.now(),
  };
}
