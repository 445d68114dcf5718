// The sysctls a scenario may vary, with the values the kernel accepts.
export const SYSCTLS = {
  // 0 allow, 2 admin-only but changeable, 1 admin-only until reboot (kernel/bpf/syscall.c).
  'kernel.unprivileged_bpf_disabled': { values: [0, 1, 2], short: 'ubd' },
  // 3 exists only with Debian's CONFIG_SECURITY_PERF_EVENTS_RESTRICT patch; 4 is Ubuntu's default
  // (its own patch). The kernel takes any int: Debian's perf_paranoid_any() is `> 2`, so there
  // 4 acts as 3, and on a kernel with neither patch anything above 2 acts as 2.
  'kernel.perf_event_paranoid': { values: [-1, 0, 1, 2, 3, 4], short: 'paranoid' },
  // Debian's patch (kernel/fork.c): 0 refuses CLONE_NEWUSER to anyone without CAP_SYS_ADMIN,
  // so a rootless runtime cannot make its container. Upstream and Ubuntu kernels lack it.
  'kernel.unprivileged_userns_clone': { values: [0, 1], short: 'userns' },
} as const satisfies Record<string, { values: readonly number[]; short: string }>;

export type SysctlName = keyof typeof SYSCTLS;
export const UBD = 'kernel.unprivileged_bpf_disabled' satisfies SysctlName;
export const SYSCTL_NAMES = Object.keys(SYSCTLS) as SysctlName[];

/** Settings recorded in every boot's provenance, whether or not a cell changes them (a kernel
 * without one records null). */
export const RECORDED_SYSCTLS = [
  'kernel.unprivileged_bpf_disabled',
  'kernel.perf_event_paranoid',
  'kernel.unprivileged_userns_clone',
  // Ubuntu's AppArmor patch (23.10 on): 1 confines an unprivileged CLONE_NEWUSER to a profile
  // that allows it, what a rootless runtime's token cells meet on an Ubuntu kernel
  'kernel.apparmor_restrict_unprivileged_userns',
  'kernel.kptr_restrict',
  'net.core.bpf_jit_enable',
  'net.core.bpf_jit_harden',
];

/** Order of unprivileged_bpf_disabled phases within one boot: 1 cannot be undone. */
export function ubdPhaseRank(value: number | undefined): number {
  return value === undefined ? 0 : (({ 0: 0, 2: 1, 1: 2 } as Record<number, number>)[value] ?? 3);
}
