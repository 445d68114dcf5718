// Linux capability names and numbers (include/uapi/linux/capability.h), so scenarios are
// checked against the real list and the guest agent can compute the CapEff mask to expect.
export const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

/** The uid every cell without root runs as (nobody), its capabilities file capabilities. */
export const UNPRIVILEGED_UID = 65534;

/** A cell's capabilities: a list of file capabilities for uid 65534, or real root. */
export type CapSet = readonly Capability[] | 'root';

export function isCapability(name: string): name is Capability {
  return (CAPABILITIES as readonly string[]).includes(name);
}

export function capNumber(cap: Capability): number {
  return CAPABILITIES.indexOf(cap);
}

/** Readable, stable name of a capability set, as it appears in cell ids and reports. */
export function capSetName(caps: CapSet): string {
  if (caps === 'root') return 'root';
  if (caps.length === 0) return 'none';
  return [...caps]
    .sort((a, b) => capNumber(a) - capNumber(b))
    .map((c) => c.slice(4))
    .join('+');
}
