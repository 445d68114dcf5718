// What a cell's process must hold, as masks, from its grant's shape (dsl/grants.ts): its
// effective set, what its uid is given as ambient (and inheritable) capabilities before the exec,
// its bounding set, no_new_privs and the seccomp rules. The launcher's request (exec-sample.ts)
// and the judge of the kernel's view (judge.ts) take them from here.
import { type Capability, capNumber } from '../dsl/capabilities.js';
import { MEMLOCK_BYTES } from '../dsl/choices.js';
import { deniedSyscalls } from '../dsl/container.js';
import { shapeOf } from '../dsl/grants.js';
import { capMask, hexMask, procStatus } from './proc.js';
import type { GuestCell } from './protocol.js';

const setMask = (cell: GuestCell) =>
  cell.caps === 'root' ? 0n : capMask(cell.caps.map((c: Capability) => capNumber(c)));

/** The effective set the cell's process must hold (a root cell: the agent's own; a grant that
 * gives its set nothing, by design: none). */
export function wantedMask(cell: GuestCell): bigint {
  if (cell.caps === 'root') return hexMask(procStatus('self')?.CapEff);
  return shapeOf(cell.grant).holdsSet ? setMask(cell) : 0n;
}

/** What the cell's uid is given as ambient (and inheritable) capabilities before the exec: its
 * set under a grant that gives it so, else nothing. */
export function ambientMask(cell: GuestCell): bigint {
  return shapeOf(cell.grant).ambient ? setMask(cell) : 0n;
}

/** The bounding set the launcher cuts the process's to: the set, or null (left whole). */
export function boundingMask(cell: GuestCell): bigint | null {
  return cell.caps !== 'root' && shapeOf(cell.grant).boundToSet ? setMask(cell) : null;
}

/** Whether the launcher sets no_new_privs before the exec. */
export const noNewPrivs = (cell: GuestCell) => shapeOf(cell.grant).noNewPrivs;

/** Whether the cell runs under the runtime's default seccomp rules (its grant's shape). */
export const underRuntimeSeccomp = (cell: GuestCell) => cell.caps !== 'root' && shapeOf(cell.grant).runtimeSeccomp;

/** The syscalls the runtime's default seccomp rules refuse a process holding the cell's set
 * (container.ts), for a grant that runs under them; [] for none. */
export function deniedByRuntime(cell: GuestCell): string[] {
  return cell.caps !== 'root' && underRuntimeSeccomp(cell) ? deniedSyscalls('runtime-default', cell.caps) : [];
}

/** The RLIMIT_MEMLOCK the cell starts with: its axis value, else unlimited where its grant's
 * shape says so (a rootful container's `--ulimit memlock=-1:-1`), else the launcher's own. */
function memlockOf(cell: GuestCell): { memlock?: number | null } {
  if (cell.memlock) return { memlock: MEMLOCK_BYTES[cell.memlock] };
  return shapeOf(cell.grant).memlockUnlimited ? { memlock: null } : {};
}

/** The launcher's request fields for the cell's grant (cell-spawner.ts's SpawnRequest). */
export function launcherShape(cell: GuestCell) {
  const bounding = boundingMask(cell);
  return {
    ambient: ambientMask(cell),
    ...(bounding === null ? {} : { bounding }),
    ...(noNewPrivs(cell) ? { noNewPrivs: true } : {}),
    ...(underRuntimeSeccomp(cell) ? { deny: deniedByRuntime(cell) } : {}),
    ...memlockOf(cell),
  };
}
