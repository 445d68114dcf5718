// A finished sample → its observation, or the infra error that says why it has none. The
// process must really have run as the cell's uid with exactly the cell's capabilities: first
// what the kernel showed while it ran (the handshake), then what it saw itself when it reported.
import { type Capability, capNumber } from '../dsl/capabilities.js';
import type { InfraKind } from '../dsl/vocabulary.js';
import { ambientMask, boundingMask, noNewPrivs, underRuntimeSeccomp, wantedMask } from './cell-caps.js';
import type { ExecResult } from './exec-sample.js';
import { capMask, hexMask, maskHex } from './proc.js';
import { type GuestCell, type ObservedOutcome, sampleResult } from './protocol.js';

export type Judged = { observed: ObservedOutcome } | { infraKind: InfraKind; infraError: string };

/** A cell without an observation, and why. */
export const infra = (infraKind: InfraKind, infraError: string): Judged => ({ infraKind, infraError });

/** The locks of the cell's grant as the kernel shows them: the bounding set (when the grant cuts
 * it), no_new_privs and a seccomp filter (exactly when the grant sets them). */
function lockMismatch(cell: GuestCell, st: Record<string, string>): string | null {
  const bounding = boundingMask(cell);
  const nnp = noNewPrivs(cell) ? '1' : '0';
  const seccomp = underRuntimeSeccomp(cell) ? '2' : '0';
  // a field the kernel does not show cannot say a lock is there
  const shows = (field: string | undefined, want: string) => field === want || (field === undefined && want === '0');
  if ((bounding === null || hexMask(st.CapBnd) === bounding) && shows(st.NoNewPrivs, nnp) && shows(st.Seccomp, seccomp))
    return null;
  return `/proc/<pid>/status of the running sample: CapBnd ${st.CapBnd}, NoNewPrivs ${st.NoNewPrivs}, Seccomp ${st.Seccomp}; the cell (grant ${cell.grant ?? 'file'}) asks for ${bounding === null ? 'the whole bounding set' : `CapBnd ${maskHex(bounding)}`}, NoNewPrivs ${nnp}, Seccomp ${seccomp}`;
}

/** The kernel's view of the running sample against the cell; an error message or null. */
export function statusMismatch(cell: GuestCell, st: Record<string, string>, want: bigint): string | null {
  const uids = (st.Uid ?? '').split(/\s+/).map(Number);
  if (uids.length !== 4 || uids.some((u) => u !== cell.uid) || hexMask(st.CapEff) !== want)
    return `/proc/<pid>/status of the running sample: Uid ${st.Uid}, CapEff ${st.CapEff}; the cell asks for uid ${cell.uid}, CapEff ${maskHex(want)}`;
  const locks = lockMismatch(cell, st);
  if (locks) return locks;
  // a root cell holds the agent's own sets; a rootful container's uid 0 exactly its set
  if (cell.caps === 'root') return null;
  const ambient = ambientMask(cell);
  if (hexMask(st.CapInh) !== ambient || hexMask(st.CapAmb) !== ambient || hexMask(st.CapPrm) !== want)
    return `/proc/<pid>/status of the running sample: CapPrm ${st.CapPrm}, CapInh ${st.CapInh}, CapAmb ${st.CapAmb}; the cell (grant ${cell.grant ?? 'file'}) asks for permitted ${maskHex(want)}, inheritable and ambient ${maskHex(ambient)}`;
  if (cell.uid === 0) return null;
  // the uid's own group and no supplementary ones (as setpriv --regid --clear-groups gave)
  const gids = (st.Gid ?? '').split(/\s+/).map(Number);
  if (gids.length !== 4 || gids.some((g) => g !== cell.uid) || (st.Groups ?? '') !== '')
    return `/proc/<pid>/status of the running sample: Gid ${st.Gid}, Groups [${st.Groups}]; the cell asks for gid ${cell.uid} and no supplementary groups`;
  return null;
}

/** A container cell: the container must hold exactly its capabilities once it exists (a sample
 * that failed before its container was made reports no `inside`; one that never says is wrong). */
function containerMismatch(cell: GuestCell, inside: string | undefined): string | null {
  if (!cell.inside || inside === '') return null;
  const want = capMask(cell.inside.map((c: Capability) => capNumber(c)));
  if (inside !== undefined && hexMask(inside) === want) return null;
  return `the container held CapEff ${inside ?? '(not reported)'}; the cell asks for ${maskHex(want)} (the runtime's default set and --cap-add)`;
}

export function judge(cell: GuestCell, r: ExecResult, stderrTail: string): Judged {
  if (r.timedOut) return infra('cell-timeout', `killed after the ${cell.timeoutSec}s cell timeout`);
  const parsed = sampleResult(r.stdout);
  if (parsed === null)
    return infra(
      'no-result',
      `exited without a CAPMATRIX_RESULT line (exit code ${r.code}, signal ${r.signal}); stderr: ${stderrTail.slice(-600)}`,
    );
  if ('problem' in parsed) return infra('no-result', parsed.problem);
  const want = wantedMask(cell);
  if (!r.status)
    return infra(
      'caps-not-applied',
      `the sample never stopped for the capability check (uid ${cell.uid}, CapEff ${maskHex(want)})`,
    );
  const wrong = statusMismatch(cell, r.status, want);
  if (wrong) return infra('caps-not-applied', wrong);
  const res = parsed.res;
  if (res.uid !== cell.uid || hexMask(res.capEff) !== want)
    return infra(
      'caps-not-applied',
      `the sample reported uid ${res.uid} with CapEff ${res.capEff} when it finished; the cell asks for uid ${cell.uid}, CapEff ${maskHex(want)}`,
    );
  const inside = containerMismatch(cell, res.inside);
  if (inside) return infra('caps-not-applied', inside);
  const { outcome, stage, errno, detail, uid: _uid, capEff: _capEff, firstBpfNs: _t, ...extra } = res;
  return { observed: { outcome, stage, errno, detail, ...(Object.keys(extra).length ? { data: extra } : {}) } };
}
