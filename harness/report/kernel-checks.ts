// What the kernel itself asked in a cell (its capChecks, recorded by bpf-src/cap_watch), as the
// reports say it: which capability checks said no, and who asked for each.
import { askedBy, deniedChecks } from '../guest/cap-askers.js';
import type { CapCheck } from '../guest/protocol.js';

/** A cell's line: what said no, or that nothing did; null when the checks were not recorded. A
 * refusal with no denied check came from something else (a sysctl, a file mode, seccomp, an LSM,
 * the program itself). */
export function kernelChecksLine(c: { capChecks?: CapCheck[] | undefined }): string | null {
  if (!c.capChecks) return null;
  const denied = deniedChecks(c.capChecks);
  if (denied) return `the kernel denied ${denied}`;
  return c.capChecks.length
    ? 'every capability check the kernel made was granted'
    : 'the kernel made no capability check';
}

/** Every check, one a line, for a cell's details. */
export function checkLines(checks: CapCheck[]): string {
  return checks
    .map(
      (c) =>
        `${c.granted ? 'granted' : 'DENIED '} ${c.cap} ×${c.count} ${askedBy(c)}${c.ns === 'other' ? ' [another user namespace]' : ''}${c.audit ? '' : ' [noaudit]'}`,
    )
    .join('\n');
}
