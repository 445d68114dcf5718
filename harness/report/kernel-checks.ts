// What the kernel itself asked in a cell (its capChecks, recorded by bpf-src/cap_watch), as the
// reports say it: which capability checks said no, and who asked for each.
import type { CapCheck } from '../guest/protocol.js';

/** The capability plumbing between the function that asked and cap_capable: it says nothing of
 * who asked. */
const PLUMBING = new Set([
  'security_capable',
  'ns_capable',
  'ns_capable_noaudit',
  'ns_capable_setid',
  'capable',
  'has_ns_capability',
  'has_ns_capability_noaudit',
  'has_capability',
  'has_capability_noaudit',
  'file_ns_capable',
]);

/** Who asked: the first function past the plumbing, after the helper it asked through when that
 * is a capability helper of its own ("bpf_check ← bpf_token_capable"). */
export function askedBy(c: CapCheck): string {
  const [first, second] = c.stack.filter((f) => !PLUMBING.has(f));
  if (!first) return '?';
  return /capable/.test(first) && second ? `${second} ← ${first}` : first;
}

/** The checks that said no, in the order first made, by who asked: "CAP_BPF, CAP_SYS_ADMIN
 * (bpf_prog_load ← bpf_token_capable); CAP_PERFMON (bpf_check ← bpf_token_capable)"; null when
 * none did. */
export function deniedChecks(checks: CapCheck[]): string | null {
  const byAsker = new Map<string, string[]>();
  for (const c of checks) {
    if (c.granted) continue;
    const caps = byAsker.get(askedBy(c)) ?? [];
    if (!caps.includes(c.cap)) caps.push(c.cap);
    byAsker.set(askedBy(c), caps);
  }
  if (!byAsker.size) return null;
  return [...byAsker].map(([by, caps]) => `${caps.join(', ')} (${by})`).join('; ');
}

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
