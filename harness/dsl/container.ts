// A rootless container as the talk runs one (l.1363-1392): the runtime, an unprivileged uid,
// makes user + mount + pid namespaces (uid 0 inside mapped to it), gives the container its
// default capabilities plus --cap-add, and installs a seccomp profile. One definition for the
// expander (the loader's arguments, rule matching on the capabilities inside) and the guest
// judge (the capabilities the container must really hold).
import { type Capability, capNumber, capSetName } from './capabilities.js';

/** containerd's (nerdctl's) and moby's default capability set (oci/spec_opts defaults). */
export const RUNTIME_DEFAULT_CAPS: readonly Capability[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** One rule of a profile: these syscalls are refused (EPERM) unless the container holds one of
 * `unlessCaps` (none: always refused). */
interface DenyRule {
  syscalls: readonly string[];
  unlessCaps?: readonly Capability[];
}

/** Seccomp profiles as data. Only the syscalls the token demo makes are modelled: the rest of a
 * runtime's allowlist is the same whatever the capabilities and never decides a cell here. */
export const SECCOMP_PROFILES = {
  /** --security-opt seccomp=unconfined (the talk's variant 1, l.1370-1373) */
  unconfined: [],
  /** the four-instruction filter of token-seccomp: unshare only */
  'talk-deny-unshare': [{ syscalls: ['unshare'] }],
  /** shaped like moby's profiles/seccomp/default.json (which containerd's default follows): its
   * CAP_SYS_ADMIN group, and bpf / perf_event_open allowed by CAP_BPF / CAP_PERFMON as well */
  'runtime-default': [
    {
      syscalls: ['fsconfig', 'fsmount', 'fsopen', 'fspick', 'mount', 'mount_setattr', 'move_mount', 'open_tree'],
      unlessCaps: ['CAP_SYS_ADMIN'],
    },
    { syscalls: ['setns', 'umount2', 'unshare'], unlessCaps: ['CAP_SYS_ADMIN'] },
    { syscalls: ['bpf'], unlessCaps: ['CAP_SYS_ADMIN', 'CAP_BPF'] },
    { syscalls: ['perf_event_open'], unlessCaps: ['CAP_SYS_ADMIN', 'CAP_PERFMON'] },
  ],
} as const satisfies Record<string, readonly DenyRule[]>;
export type SeccompProfile = keyof typeof SECCOMP_PROFILES;
export const SECCOMP_PROFILE_NAMES = Object.keys(SECCOMP_PROFILES) as SeccompProfile[];

/** The syscalls token_container and cell_spawn can refuse (bpf-src/common/seccomp_deny.h: its table). */
export const DENIABLE_SYSCALLS = [
  ...new Set(Object.values(SECCOMP_PROFILES).flatMap((rules) => rules.flatMap((r) => [...r.syscalls]))),
];

export interface ContainerSpec {
  seccomp: SeccompProfile;
  /** The parent's socket: 'shared' (0666, the talk's working setup) or 'private' (0600 root). */
  uds?: 'shared' | 'private';
}

/** What the container holds: the runtime's default set and what --cap-add adds. */
export function insideCaps(capAdd: readonly Capability[]): Capability[] {
  return [...new Set([...RUNTIME_DEFAULT_CAPS, ...capAdd])].sort((a, b) => capNumber(a) - capNumber(b));
}

export function deniedSyscalls(profile: SeccompProfile, inside: readonly Capability[]): string[] {
  const rules: readonly DenyRule[] = SECCOMP_PROFILES[profile];
  return rules.filter((r) => !(r.unlessCaps ?? []).some((c) => inside.includes(c))).flatMap((r) => [...r.syscalls]);
}

/** token_container's arguments for one cell: the capability mask, the refused syscalls, the socket. */
export function containerArgs(spec: ContainerSpec, inside: readonly Capability[]): string[] {
  const mask = inside.reduce((m, c) => m | (1n << BigInt(capNumber(c))), 0n);
  const deny = deniedSyscalls(spec.seccomp, inside);
  return [`caps=0x${mask.toString(16)}`, `deny=${deny.join(',') || '-'}`, `uds=${spec.uds ?? 'shared'}`];
}

/** A container cell's id segment: what --cap-add added ("default" for nothing). */
export function capAddName(capAdd: readonly Capability[]): string {
  return capAdd.length === 0 ? 'default' : `add-${capSetName(capAdd)}`;
}

/** The capabilities a container cell's set name says --cap-add added (capAddName read back, in
 * its short names); undefined for a name capAddName does not make. */
export function capAddOf(setName: string): string[] | undefined {
  if (setName === 'default') return [];
  return setName.startsWith('add-') ? setName.slice(4).split('+') : undefined;
}
