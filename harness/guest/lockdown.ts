// The kernel's lockdown level as securityfs says it ("none integrity [confidentiality]"), and
// whether a cell may run: a cell that asks for a level (axes.lockdown: its boot's `lockdown=`)
// runs only when the kernel is at exactly that level.
import type { Lockdown } from '../dsl/choices.js';
import { readTrim } from './proc.js';
import type { GuestCell } from './protocol.js';

const LOCKDOWN_FILE = '/sys/kernel/security/lockdown';

/** The bracketed level of the file's text, or null (no lockdown LSM, no securityfs). */
export function lockdownOf(text: string | null): string | null {
  return /\[([a-z]+)\]/.exec(text ?? '')?.[1] ?? null;
}

/** Why the cell may not run under the kernel's lockdown now, or null. */
export function lockdownMismatch(
  cell: Pick<GuestCell, 'lockdown'>,
  read = () => readTrim(LOCKDOWN_FILE),
): string | null {
  const want: Lockdown | undefined = cell.lockdown;
  if (!want) return null;
  const text = read();
  const now = lockdownOf(text);
  if (now === want) return null;
  return `the kernel's lockdown is ${now ?? `unknown (${LOCKDOWN_FILE}: ${text ?? 'missing'})`}; the cell asks for ${want} (lockdown=${want} on its boot's command line)`;
}
