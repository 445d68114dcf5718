// What a cell's process must hold, as masks: its effective set, and what its uid is given as
// ambient (and inheritable) capabilities before the exec. The launcher's request (exec-sample.ts)
// and the judge of the kernel's view (judge.ts) take them from here.
import { type Capability, capNumber } from '../dsl/capabilities.js';
import { capMask, hexMask, procStatus } from './proc.js';
import type { GuestCell } from './protocol.js';

/** The effective set the cell's process must hold (a root cell: the agent's own). */
export function wantedMask(cell: GuestCell): bigint {
  if (cell.caps === 'root') return hexMask(procStatus('self')?.CapEff);
  return capMask(cell.caps.map((c: Capability) => capNumber(c)));
}

/** What the cell's uid is given as ambient (and inheritable) capabilities before the exec: its
 * set under an ambient grant, else nothing. */
export function ambientMask(cell: GuestCell): bigint {
  if (cell.grant !== 'ambient' || cell.caps === 'root') return 0n;
  return capMask(cell.caps.map((c: Capability) => capNumber(c)));
}
