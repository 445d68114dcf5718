// What each grant (axes.grant) makes of the cell's process before its program's first
// instruction, defined once: the launcher's request (guest/exec-sample.ts), the copy's file
// capabilities (guest/prepare.ts) and the judge of the kernel's view (guest/judge.ts) take it
// from here, and `minimize --emit` prints each form from the grant it checked.
import type { Grant } from './choices.js';

export interface GrantShape {
  /** The cell's unprivileged uid, or uid 0 (a rootful container's default user). */
  uid: 'cell' | 0;
  /** The binary carries the set as file capabilities (`setcap …+ep`). */
  fileCaps: boolean;
  /** The uid is given the set as ambient (and inheritable) capabilities before the exec. */
  ambient: boolean;
  /** The bounding set is cut to the set (else left whole, as a login or a plain unit has it). */
  boundToSet: boolean;
  /** no_new_privs before the exec (file capabilities are then not gained). */
  noNewPrivs: boolean;
  /** The runtime's default seccomp rules (container.ts 'runtime-default'), for the set held. */
  runtimeSeccomp: boolean;
  /** RLIMIT_MEMLOCK unlimited (docker's `--ulimit memlock=-1:-1`): before 5.11 a uid-0
   * program's BPF memory counts against root's one per-uid total, whatever else root locked. */
  memlockUnlimited: boolean;
  /** The set is effective in the program (false: the shape gives it nothing, by design). */
  holdsSet: boolean;
}

const base = {
  uid: 'cell',
  fileCaps: false,
  ambient: false,
  boundToSet: false,
  noNewPrivs: false,
  runtimeSeccomp: false,
  memlockUnlimited: false,
  holdsSet: true,
} as const;

export const GRANT_SHAPES: Record<Grant, GrantShape> = {
  file: { ...base, fileCaps: true },
  ambient: { ...base, ambient: true },
  unit: { ...base, ambient: true, boundToSet: true, noNewPrivs: true },
  rootful: { ...base, uid: 0, boundToSet: true, runtimeSeccomp: true, memlockUnlimited: true },
  pod: { ...base, fileCaps: true, boundToSet: true },
  'pod-no-setcap': { ...base, boundToSet: true, holdsSet: false },
  'pod-no-escalation': { ...base, fileCaps: true, boundToSet: true, noNewPrivs: true, holdsSet: false },
};

/** A cell's grant, file capabilities when none is said. */
export const shapeOf = (grant: Grant | undefined): GrantShape => GRANT_SHAPES[grant ?? 'file'];

/** The grants that run as uid 0 whatever the cell's uid. */
export const runsAsRoot = (grant: Grant | undefined) => shapeOf(grant).uid === 0;
