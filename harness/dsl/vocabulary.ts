// The words an outcome may use, defined once for the host, the guest agent and the samples:
// errno names (with their Linux numbers, which bpf-src/common/capmatrix_result.h maps back to
// the same names: test/vocabulary.test.ts checks the two agree), the stages a loader passes
// through (docs/kernel-permissions.md §8 plus the samples' own steps), and the infra-error kinds.

/** errno name → number (asm-generic/errno-base.h and errno.h; the same on x86_64 and arm64). */
export const ERRNOS = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
  ENODATA: 61,
  EOPNOTSUPP: 95,
  ETIMEDOUT: 110,
} as const;
export type ErrnoName = keyof typeof ERRNOS;
export const ERRNO_NAMES = Object.keys(ERRNOS) as ErrnoName[];

/** What a sample says when its errno is not in the table: observable, never expectable. */
export const UNKNOWN_ERRNO = 'EUNKNOWN';

/** A user's loader that exited non-zero with no call refused for a privilege and no capability
 * check denied (the recorder saw its checks): it refused by itself, at stage `loader`. */
export const REFUSED = 'refused' as const;

export const OUTCOMES = ['ok', REFUSED, ...ERRNO_NAMES] as const;
export type Outcome = (typeof OUTCOMES)[number];
/** What a sample may report: an outcome, or an errno the table does not name. */
export const OBSERVABLE_OUTCOMES = [...OUTCOMES, UNKNOWN_ERRNO] as const;

export const STAGES = [
  'open',
  'probe',
  'map_create',
  'map_freeze',
  'btf_load',
  'prog_load',
  'verifier',
  'raw_socket',
  'attach',
  'xdp_attach',
  'tracefs_id',
  /** another tracefs file (kprobe_events, uprobe_events…), seen in a user loader's syscall trace */
  'tracefs',
  'perf_open',
  'perf_buf',
  'unshare',
  /** connecting to the parent's unix socket (the token demo in a container, talk l.1365) */
  'uds_connect',
  'bpffs_create',
  'bpffs_delegate',
  'token_create',
  'obj_get',
  /** pinning an object in a bpffs (BPF_OBJ_PIN; libbpf's pinning by name in /sys/fs/bpf) */
  'obj_pin',
  'get_fd_by_id',
  /** walking the kernel's BPF objects by id (BPF_*_GET_NEXT_ID: CAP_SYS_ADMIN), e.g. libbpf
   * looking for module BTF */
  'get_next_id',
  'map_lookup',
  'map_update',
  /** writing a /proc/sys file (sysctl_write) */
  'sysctl',
  'traffic',
  'run',
  // the fault sample's privilege-escalation and forging attempts (test/fixtures/scenarios)
  'escape',
  /** the user's loader itself: it gave up with no refusal of the kernel's to blame (`refused`) */
  'loader',
] as const;
export type Stage = (typeof STAGES)[number];

/** Why a cell has no trustworthy outcome. The first six are the ones a user meets most. */
export const INFRA_KINDS = [
  'boot-timeout',
  'kernel-panic',
  'agent-crash',
  'cell-timeout',
  'caps-not-applied',
  'no-result',
  /** a sysctl, setcap or the scenario's setup command failed */
  'setup-failed',
  /** the scenario's teardown command failed: the cells after it would run on state nobody reset */
  'teardown-failed',
  /** the cell left processes or an XDP program behind */
  'state-not-reset',
  /** the cell's processes ran into their cgroup's memory.max or pids.max */
  'cell-limit',
  /** a line of the guest's results file that the agent did not write, or out of the protocol */
  'protocol-violation',
  /** vng/QEMU ended before the guest agent started, without a boot timeout or panic */
  'vm-failed',
] as const;
export type InfraKind = (typeof INFRA_KINDS)[number];

export interface Expected {
  outcome: Outcome;
  /** Where it fails; `run` for ok (the program ran and did its job). */
  stage: Stage;
  reason: string;
}

/** Parses "ok" or "EPERM@probe"; returns an error message naming the allowed values. */
export function parseExpectation(text: string): { outcome: Outcome; stage: Stage } | string {
  if (text === 'ok') return { outcome: 'ok', stage: 'run' };
  if (text === `${REFUSED}@loader`) return { outcome: REFUSED, stage: 'loader' };
  const [outcome, stage, ...rest] = text.split('@');
  if (rest.length > 0 || stage === undefined || outcome === undefined) {
    return `"${text}" is not an expectation: write "ok", "<ERRNO>@<stage>" (e.g. "EPERM@probe") or "${REFUSED}@loader"`;
  }
  if (!(ERRNO_NAMES as readonly string[]).includes(outcome)) {
    return `unknown errno "${outcome}" in "${text}" (allowed: ${ERRNO_NAMES.join(', ')})`;
  }
  if (!(STAGES as readonly string[]).includes(stage)) {
    return `unknown stage "${stage}" in "${text}" (allowed: ${STAGES.join(', ')})`;
  }
  return { outcome: outcome as Outcome, stage: stage as Stage };
}

export function formatOutcome(o: { outcome: string; stage: string }): string {
  return o.outcome === 'ok' ? 'ok' : `${o.outcome}@${o.stage}`;
}
