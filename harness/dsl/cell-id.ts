// A cell's id, `<scenario>/<capability set>/<settings>`: made by the expander for a scenario's
// cells and by the guest agent for a search's, so it is a leaf the agent's bundle can import
// without the scenario's schema and checks.
import type { Grant, Lockdown, Memlock } from './choices.js';
import { SYSCTLS, type SysctlName } from './sysctls.js';

/** A cell's sysctl values as its id and reports show them: `ubd=2,paranoid=2`. */
export function sysctlLabel(sysctl: Partial<Record<SysctlName, number>>): string {
  return Object.entries(sysctl)
    .map(([k, v]) => `${SYSCTLS[k as SysctlName].short}=${v}`)
    .join(',');
}

/** A cell's settings as its id shows them: its sysctls, then its lockdown level and memlock
 * limit when it has them (`ubd=2,lockdown=integrity`, `ubd=2,memlock=64k`). */
export function settingsLabel(
  sysctl: Partial<Record<SysctlName, number>>,
  lockdown?: Lockdown,
  memlock?: Memlock,
): string {
  return [sysctlLabel(sysctl), lockdown ? `lockdown=${lockdown}` : '', memlock ? `memlock=${memlock}` : '']
    .filter(Boolean)
    .join(',');
}

/** A cell's id: `<scenario>/<capability set>/<settings>` (minimize puts its search label last). */
export function cellId(scenario: string, setName: string, settings: string): string {
  return `${scenario}/${setName}/${settings || 'default'}`;
}

/** A cell's capability set as its id and the grids name it: a grant other than file says so. */
export const grantedName = (setName: string, grant: Grant) => (grant === 'file' ? setName : `${grant}:${setName}`);

export { exactCells } from './cell-selector.js';
