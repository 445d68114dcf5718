// One attempt = one run of a cell in one boot. Infra errors are retried on a fresh boot,
// `--repeat N` runs every cell N times, and a cell's verdict comes from all its attempts:
// an outcome that changes between attempts is `flaky`, never a silent `match`.
import { formatOutcome } from '../dsl/vocabulary.js';
import type { ObservedOutcome } from './guest-records.js';

/** Why a cell has no trustworthy outcome. The first six are the ones a user meets most. */
export const INFRA_KINDS = [
  'boot-timeout',
  'kernel-panic',
  'agent-crash',
  'cell-timeout',
  'caps-not-applied',
  'no-result',
  /** a sysctl, setcap or the scenario's setup command failed */
  'setup-failed',
  /** the cell left processes or an XDP program behind */
  'state-not-reset',
  /** vng/QEMU ended before the guest agent started, without a boot timeout or panic */
  'vm-failed',
] as const;
export type InfraKind = (typeof INFRA_KINDS)[number];

/** What one run of a cell measured and left behind (an attempt's, and a cell result's, figures). */
export interface RunFigures {
  durationMs: number;
  overheadMs?: number;
  execMs?: number;
  /** Checking and resetting state after the cell. */
  resetMs?: number;
  /** The scenario's own root setup and teardown commands (not harness overhead). */
  setupMs?: number;
  teardownMs?: number;
  infraError?: string;
  stderrTail?: string;
  /** The sysctls the guest read right after the cell ran (its effective settings). */
  effectiveSysctl?: Record<string, number | null>;
  /** CapEff of the running sample, read by the agent from /proc/<pid>/status. */
  capEff?: string;
}

export interface Attempt extends RunFigures {
  /** `<kernel>/<cell id>#<rep>`: one of the N runs `--repeat N` asks for. */
  key: string;
  kernel: string;
  cellId: string;
  rep: number;
  boot: string;
  /** false when the boot failed before the cell could start: the attempt counts against the
   * retries but says nothing about the cell. */
  ran: boolean;
  observed: ObservedOutcome | null;
  infraKind?: InfraKind;
}

export function runKey(kernel: string, cellId: string, rep: number): string {
  return `${kernel}/${cellId}#${rep}`;
}

/** What an attempt showed: "ok", "EPERM@probe" or "infra:<kind>". */
export function attemptOutcome(a: Pick<Attempt, 'observed' | 'infraKind'>): string {
  return a.observed ? formatOutcome(a.observed) : `infra:${a.infraKind ?? 'vm-failed'}`;
}

/** A run is settled when it has an outcome, or when its infra errors used up the retries. */
export function runSettled(attempts: Attempt[], retries: number): boolean {
  const last = attempts.at(-1);
  if (!last) return false;
  return last.observed !== null || attempts.filter((a) => !a.observed).length > retries;
}

/** The verdict over every attempt of a cell (all its reps). */
export function verdictOver(
  attempts: Attempt[],
  expected: { outcome: string; stage: string },
): { verdict: 'match' | 'mismatch' | 'flaky' | 'infra-error'; infraKind?: InfraKind } {
  const ran = attempts.filter((a) => a.ran);
  const counted = ran.length ? ran : attempts;
  const outcomes = new Set(counted.map(attemptOutcome));
  if (outcomes.size > 1) return { verdict: 'flaky' };
  const last = counted.at(-1);
  if (!last?.observed) return { verdict: 'infra-error', infraKind: last?.infraKind ?? 'vm-failed' };
  return { verdict: formatOutcome(last.observed) === formatOutcome(expected) ? 'match' : 'mismatch' };
}
