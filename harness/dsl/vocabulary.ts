// The words an expectation may use: outcomes are errno names, stages are the loader steps
// of ../shared/reference/kernel-permissions.md §8 plus the samples' own steps.
export const OUTCOMES = [
  'ok',
  'EPERM',
  'ENOENT',
  'E2BIG',
  'EBADF',
  'EACCES',
  'EFAULT',
  'EBUSY',
  'EINVAL',
  'ENOSPC',
  'ENOSYS',
  'EOPNOTSUPP',
  'ENODATA',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const STAGES = [
  'open',
  'probe',
  'map_create',
  'map_freeze',
  'prog_load',
  'verifier',
  'raw_socket',
  'attach',
  'xdp_attach',
  'tracefs_id',
  'perf_open',
  'perf_buf',
  'unshare',
  'bpffs_create',
  'bpffs_delegate',
  'token_create',
  'obj_get',
  'get_fd_by_id',
  'map_lookup',
  'map_update',
  'traffic',
  'run',
  // the fault sample's privilege-escalation attempts (test/fixtures/scenarios)
  'escape',
] as const;
export type Stage = (typeof STAGES)[number];

export interface Expected {
  outcome: Outcome;
  /** Where it fails; `run` for ok (the program ran and did its job). */
  stage: Stage;
  reason: string;
}

/** Parses "ok" or "EPERM@probe"; returns an error message naming the allowed values. */
export function parseExpectation(text: string): { outcome: Outcome; stage: Stage } | string {
  if (text === 'ok') return { outcome: 'ok', stage: 'run' };
  const [outcome, stage, ...rest] = text.split('@');
  if (rest.length > 0 || stage === undefined || outcome === undefined) {
    return `"${text}" is not an expectation: write "ok" or "<ERRNO>@<stage>", e.g. "EPERM@probe"`;
  }
  if (!(OUTCOMES as readonly string[]).includes(outcome) || outcome === 'ok') {
    return `unknown errno "${outcome}" in "${text}" (allowed: ${OUTCOMES.filter((o) => o !== 'ok').join(', ')})`;
  }
  if (!(STAGES as readonly string[]).includes(stage)) {
    return `unknown stage "${stage}" in "${text}" (allowed: ${STAGES.join(', ')})`;
  }
  return { outcome: outcome as Outcome, stage: stage as Stage };
}

export function formatOutcome(o: { outcome: string; stage: string }): string {
  return o.outcome === 'ok' ? 'ok' : `${o.outcome}@${o.stage}`;
}
