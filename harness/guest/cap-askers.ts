// Who asked for a capability check, and which checks said no: read from the recorder's stacks
// (bpf-src/cap_watch), by the guest's exec judge and by the host's reports alike.
import type { CapCheck } from './protocol.js';

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

/** The denials that may have decided something: capability → who asked, leaving out a denial
 * its asker got past (bpf_capable(), perfmon_capable(), bpf_net_capable() fall back to
 * CAP_SYS_ADMIN: CAP_BPF denied then CAP_SYS_ADMIN granted decided nothing) or granted itself. */
export function decisiveDenials(checks: CapCheck[]): Map<string, string> {
  const granted = new Set(checks.filter((c) => c.granted).map((c) => `${askedBy(c)} ${c.cap}`));
  const gotPast = (c: CapCheck) => granted.has(`${askedBy(c)} ${c.cap}`) || granted.has(`${askedBy(c)} CAP_SYS_ADMIN`);
  const out = new Map<string, string>();
  for (const c of checks) if (!c.granted && !gotPast(c) && !out.has(c.cap)) out.set(c.cap, askedBy(c));
  return out;
}
