// A user's finished loader → its observation. It prints no CAPMATRIX_RESULT line: ok is its exit
// status 0 (and the scenario's okWhen patterns); a failure's stage and errno come from the
// syscall trace. Its capabilities are checked as a sample's are, from the kernel's view while
// it was held at its execve.
import { ERRNOS, type ErrnoName, REFUSED, UNKNOWN_ERRNO } from '../dsl/vocabulary.js';
import { decisiveDenials } from './cap-askers.js';
import { wantedMask } from './cell-caps.js';
import type { ExecResult } from './exec-sample.js';
import { type Judged, statusMismatch } from './judge.js';
import { maskHex } from './proc.js';
import type { CapCheck, GuestCell, ObservedOutcome } from './protocol.js';
import { decisiveRefusal } from './syscall-trace.js';

const tail = (text: string, lines: number) => text.trim().split('\n').slice(-lines).join('\n');

/** The okWhen pattern the output does not match, or null. */
function unmatched(cell: GuestCell, r: ExecResult): string | null {
  for (const [stream, pattern] of Object.entries(cell.okWhen ?? {})) {
    const text = stream === 'stdout' ? r.stdout : r.stderr;
    if (pattern !== undefined && !new RegExp(pattern, 'm').test(text)) return `${stream} does not match /${pattern}/`;
  }
  return null;
}

/** A failure with no refused call to name its stage: the loader refused by itself when the
 * recorder saw its checks and none said no; otherwise it stays unexplained. */
function withoutRefusal(
  why: string,
  checks: CapCheck[] | null,
  stderrTail: string,
  data: Record<string, unknown>,
): ObservedOutcome {
  // a denial the kernel got past (CAP_BPF denied, then CAP_SYS_ADMIN granted) said no to nothing
  const decisive = checks ? decisiveDenials(checks) : new Map<string, string>();
  const denied = decisive.size ? [...decisive].map(([cap, by]) => `${cap} (${by})`).join(', ') : null;
  if (checks && !denied)
    return {
      outcome: REFUSED,
      stage: 'loader',
      errno: null,
      detail: `${why}: the loader refused by itself (no call refused for a privilege, no capability check said no) | ${stderrTail.slice(-500)}`,
      data,
    };
  const kernel = denied
    ? `the kernel denied ${denied} in a call the trace does not follow`
    : 'no BPF-relevant syscall was refused';
  return {
    outcome: UNKNOWN_ERRNO,
    stage: 'run',
    errno: null,
    detail: `${why}; ${kernel} | ${stderrTail.slice(-500)}`,
    data,
  };
}

/** `checks`: the capability checks the recorder saw from the loader's exec on (null: none
 * recorded). */
export function judgeExec(
  cell: GuestCell,
  r: ExecResult,
  trace: string,
  stderrTail: string,
  checks: CapCheck[] | null,
): Judged {
  if (r.timedOut) return { infraKind: 'cell-timeout', infraError: `killed after the ${cell.timeoutSec}s cell timeout` };
  const want = wantedMask(cell);
  if (!r.status)
    return {
      infraKind: 'caps-not-applied',
      infraError: `the loader was not seen at its exec, so its capabilities could not be checked (uid ${cell.uid}, CapEff ${maskHex(want)}); exit code ${r.code}, stderr: ${stderrTail.slice(-400)}`,
    };
  const wrong = statusMismatch(cell, r.status, want);
  if (wrong) return { infraKind: 'caps-not-applied', infraError: wrong };
  const data = { exit: { code: r.code, signal: r.signal }, stdoutTail: tail(r.stdout, 12) };
  const mismatch = r.code === 0 ? unmatched(cell, r) : null;
  if (r.code === 0 && !mismatch)
    return { observed: { outcome: 'ok', stage: 'run', errno: 0, detail: tail(r.stdout, 3), data } };
  const refused = decisiveRefusal(trace);
  const why = mismatch ?? `exit code ${r.code}${r.signal ? `, signal ${r.signal}` : ''}`;
  if (!refused) return { observed: withoutRefusal(why, checks, stderrTail, data) };
  const errno = refused.errno === UNKNOWN_ERRNO ? null : ERRNOS[refused.errno as ErrnoName];
  return {
    observed: {
      outcome: refused.errno,
      stage: refused.stage,
      errno,
      detail: `${refused.line} (${why}) | ${stderrTail.slice(-500)}`,
      data: { ...data, refused: refused.line },
    },
  };
}
