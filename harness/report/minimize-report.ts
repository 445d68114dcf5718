// `capmatrix minimize` in the terminal: the minimal sets as setcap lines, why each smaller set
// fails, the alternatives, and how many runs it took against brute force.
import { delegationMountOptions } from '../dsl/delegation.js';
import { formRuns } from '../run/minimize.js';
import type { MinimalSet, MinimizeResult, SearchResult } from '../run/minimize-result.js';
import { type EmittedForm, emittedForms, nearMissLine } from './deploy-forms.js';
import { terminalLine } from './untrusted-text.js';

export const setcap = (caps: string[], sample: string) =>
  `setcap ${caps.map((c) => c.toLowerCase()).join(',')}+ep ./${sample}`;
export const delegation = (items: string[]) => `bpffs delegation: ${delegationMountOptions(items) || '(nothing)'}`;
const pairs = (o: Record<string, number | null | undefined>) =>
  Object.entries(o)
    .map(([k, v]) => `${k}=${v ?? '?'}`)
    .join(', ');
/** The settings asked for; where none were, the boot's own values as the guest had them. */
export const settings = (s: Pick<SearchResult, 'sysctl'>, boot: Record<string, number | null> = {}) =>
  pairs(s.sysctl) || `boot defaults${Object.keys(boot).length ? ` (${pairs(boot)})` : ''}`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
/** The locks the runs were under, as the command line gave them. */
export const locksText = (r: Pick<MinimizeResult, 'lockdown' | 'memlock'>) =>
  `${r.lockdown ? `, lockdown=${r.lockdown}` : ''}${r.memlock ? `, memlock=${r.memlock}` : ''}`;
export const short = (caps: string[]) => `{${caps.map((c) => c.replace(/^CAP_/, '')).join(', ') || '∅'}}`;

/** What the kernel asked of each capability of a minimal set in its own run; one it never asked
 * for is said apart (the set works, but nothing in the kernel checked that capability). */
function askedLines(m: MinimalSet): string[] {
  if (!m.askedFor) return [];
  const asked = Object.entries(m.askedFor).filter(([, by]) => by.length);
  const never = Object.entries(m.askedFor).filter(([, by]) => !by.length);
  return [
    ...(asked.length
      ? [`       the kernel asked: ${terminalLine(asked.map(([cap, by]) => `${cap} (${by.join(', ')})`).join('; '))}`]
      : []),
    ...never.map(
      ([cap]) =>
        `       ! the kernel never asked for ${terminalLine(cap)} in this set's run: a finding, look at what needs it`,
    ),
  ];
}

/** `--emit`: each form of a minimal set, what to paste only when its run was ok (with what was
 * run and its cell), else its outcome and cell; then the near misses' runs. The setcap form is
 * the set's own line. */
export function formLines(forms: EmittedForm[]): string[] {
  const out: string[] = [];
  for (const f of forms) {
    if (f.form === 'setcap') continue;
    const [decides, ...nearMisses] = f.checks;
    if (!decides) continue;
    const cell = terminalLine(decides.check.cell);
    if (f.ok && f.text)
      out.push(
        `     ${f.form}, checked (ok as ${f.checkedAs}; cell ${cell}):`,
        ...f.text.split('\n').map((l) => `       ${terminalLine(l)}`),
      );
    else
      out.push(
        `     ${f.form}: fails as ${f.checkedAs}: ${decides.check.outcome} ${terminalLine(decides.check.detail)} (cell ${cell}): nothing to paste`,
      );
    for (const n of nearMisses) {
      const line = nearMissLine(n.grant, n.check);
      if (line) out.push(`       ${terminalLine(line)}`);
    }
  }
  return out;
}

// the sets, outcomes and details come from the guest's search record
function searchLines(s: SearchResult, r: MinimizeResult, full: boolean): string[] {
  const line = (set: string[]) => terminalLine(r.dimension === 'delegation' ? delegation(set) : setcap(set, r.sample));
  const out: string[] = [];
  for (const n of s.notes ?? []) out.push(`  note: ${terminalLine(n)}`);
  if (s.minimal.length === 0) {
    out.push(
      `  no subset of the candidates works; with all of them: ${s.withAll?.outcome} ${terminalLine(s.withAll?.detail ?? '')}`,
    );
    if (s.root)
      out.push(
        s.root.outcome === 'ok'
          ? '  as root (uid 0, every capability) it works: it needs a capability outside the candidates, or uid 0 itself'
          : `  even root fails (uid 0, every capability): ${s.root.outcome} ${terminalLine(s.root.detail)}`,
      );
    return out;
  }
  s.minimal.forEach((m, i) => {
    out.push(`  ${i + 1}. ${line(m.caps)}`);
    out.push(...formLines(emittedForms(r, m)));
    if (!full) return;
    out.push(...askedLines(m));
    for (const f of m.shortfalls) {
      out.push(
        `       without ${terminalLine(f.without)}: ${f.outcome}${f.detail ? `  ${terminalLine(f.detail)}` : ''}`,
      );
      if (f.denied) out.push(`         the kernel denied ${terminalLine(f.denied)}`);
    }
  });
  for (const v of s.violations) {
    out.push(`  ! not monotone: ${terminalLine(short(v.caps))} fails although ${terminalLine(short(v.within))} is ok`);
  }
  if (s.teardownError)
    out.push(`  ! the scenario's teardown failed after this search: ${terminalLine(s.teardownError)}`);
  return out;
}

export function renderMinimize(r: MinimizeResult): string {
  const [asked, ...others] = r.searches;
  if (!asked) return 'nothing searched';
  const out = [
    `${asked.scenario} on ${r.kernel.id} (${r.kernel.release}), ${settings(asked, r.bootSysctls)}${locksText(r)}`,
    `candidates: ${r.universe.join(' ')}`,
    ...(r.object
      ? [`object: ${r.object} (capmatrix's generic loader: every program loaded and attached = ok)`]
      : r.exec
        ? [`loader: ${r.exec.join(' ')} (exit status 0 = ok; a failure's stage from a syscall trace)`]
        : []),
    ...(r.exec && (r.emit ?? []).some((f) => f !== 'setcap')
      ? [
          `note: --emit ${terminalLine((r.emit ?? []).join(','))}: no form is run for a loader under strace (--exec), so none is given`,
        ]
      : []),
    ...(r.recorderOff
      ? [
          `note: the capability recorder did not run in this boot (${terminalLine(r.recorderOff.split('\n').find(Boolean) ?? '')}): no "the kernel asked/denied" lines, and no run spared by the kernel's checks`,
        ]
      : []),
    '',
    r.dimension === 'delegation'
      ? 'minimal delegations that let the child load, smallest first:'
      : 'minimal capability sets, smallest first:',
    ...searchLines(asked, r, true),
  ];
  const best = Math.min(...asked.minimal.map((m) => m.caps.length));
  const items = r.dimension === 'delegation' ? 'delegation item(s)' : 'capability(ies)';
  if (others.length) {
    out.push(
      '',
      `other settings, and alternatives that are not ${r.dimension === 'delegation' ? 'delegations' : 'capabilities'}:`,
    );
    for (const s of others) {
      const what = s.kind === 'scenario' ? `scenario ${s.scenario}: ${s.description ?? ''}` : `with ${settings(s)}`;
      const fewest = Math.min(...s.minimal.map((m) => m.caps.length));
      const saves =
        s.minimal.length && fewest < best
          ? `  (saves ${best - fewest} ${items})`
          : s.minimal.length && fewest > best
            ? `  (needs ${fewest - best} more)`
            : '';
      out.push(`- ${what}${saves}`, ...searchLines(s, r, false));
    }
  }
  const runs = r.searches.reduce((n, s) => n + s.runs + (s.root ? 1 : 0), 0);
  const brute = r.searches.reduce((n, s) => n + s.bruteForce, 0);
  const spared = r.searches.reduce((n, s) => n + s.skippedByChecks, 0);
  const checks = r.searches.reduce((n, s) => n + formRuns(s), 0);
  const violations = r.searches.reduce((n, s) => n + s.violations.length, 0);
  out.push(
    '',
    `${plural(runs, 'cell')} run in one boot (${(r.wallMs / 1000).toFixed(0)} s), against ${brute} for brute force ` +
      `(${r.searches.map((s) => s.runs + (s.root ? ' + root' : '')).join(' + ')} over ${plural(r.searches.length, 'search')} of 2^${r.universe.length}).`,
    ...(spared
      ? [
          `the kernel's checks spared ${plural(spared, 'run')}: sets that add only capabilities a failing run's kernel never denied (${runs + spared} without them).`,
        ]
      : []),
    ...(checks
      ? [
          `${plural(checks, 'cell')} more in the same boot to check the forms (${(r.emit ?? []).join(', ')}) of each minimal set.`,
        ]
      : []),
    violations
      ? `monotonicity: ${violations} violation(s) above: a capability more turned ok into a failure.`
      : r.searches.some((s) => s.minimal.length)
        ? 'monotonicity: held on every immediate superset of each minimal set (all run).'
        : 'monotonicity: not checked (no minimal set).',
    `details: ${r.runDir}/minimize.json`,
  );
  return out.join('\n');
}
