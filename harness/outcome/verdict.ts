// Observed vs expected → verdict. A boot's guest records become attempts (a cell the guest never
// finished is an infra error that says why: boot timeout, kernel panic, agent crash), and a
// cell's attempts become its result. Never a guessed kernel result.
import type { PlannedCell, PlannedRun } from '../plan/plan.js';
import type { VmRun } from '../vm/run-vm.js';
import { type Attempt, attemptOutcome, type InfraKind, type RunFigures, verdictOver } from './attempts.js';
import type { GuestRecords, ObservedOutcome } from './guest-records.js';

export type Verdict = 'match' | 'mismatch' | 'flaky' | 'infra-error';

export interface CellResult extends RunFigures {
  id: string;
  kernel: string;
  scenario: string;
  sample: string;
  caps: string[] | 'root';
  capsName: string;
  uid: number;
  sysctl: Record<string, number>;
  context: 'host' | 'userns';
  /** The last attempt's observation (null: it ended in an infra error). */
  observed: ObservedOutcome | null;
  expected: { outcome: string; stage: string; reason: string };
  verdict: Verdict;
  infraKind?: InfraKind;
  /** Every attempt, when there was more than one (retries, --repeat). */
  attempts?: { boot: string; rep: number; outcome: string; detail?: string }[];
  /** The boot of the last attempt. */
  boot: string;
}

/** Kernel panic / oops lines from the console log, for the cell that was running. */
export function panicExcerpt(consoleText: string): string | undefined {
  const lines = consoleText.split('\n');
  const i = lines.findIndex((l) => /Kernel panic|Oops:|BUG:|KVM internal error/.test(l));
  return i < 0 ? undefined : lines.slice(i, i + 8).join('\n');
}

/**
 * One boot's attempts: a finished record per run that finished; the run that was going when the
 * VM died gets the VM's fault (kernel-panic, agent-crash); runs after it get nothing (they were
 * not reached and simply go into the next boot). A boot whose agent never started charges
 * every run (boot-timeout, kernel-panic or vm-failed), so a kernel that never boots ends.
 * An interrupted boot (Ctrl-C) charges nobody.
 */
export function bootAttempts(
  runs: PlannedRun[],
  records: GuestRecords,
  vm: Pick<VmRun, 'ended' | 'exitCode' | 'signal'>,
  bootId: string,
  consoleText: string,
): Attempt[] {
  const panic = panicExcerpt(consoleText);
  const running = records.started.filter((k) => !records.cells.has(k)).at(-1);
  const attempts: Attempt[] = [];
  const base = (run: PlannedRun) => ({
    key: run.key,
    kernel: run.cell.kernel,
    cellId: run.cell.id,
    rep: run.rep,
    boot: bootId,
  });
  for (const run of runs) {
    const rec = records.cells.get(run.key);
    if (rec) {
      let infraKind = rec.infraKind;
      let infraError = rec.infraError;
      // A cell that left state behind may have spoiled the ones after it: never a clean result.
      if (!infraError && rec.resetProblems?.length) {
        infraKind = 'state-not-reset';
        infraError = `state not reset after the cell: ${rec.resetProblems.join('; ')}`;
      }
      if (infraError && !infraKind) infraKind = 'agent-crash';
      attempts.push({
        ...base(run),
        ran: true,
        observed: infraError ? null : rec.observed,
        ...(infraKind ? { infraKind, infraError } : {}),
        durationMs: rec.durationMs ?? 0,
        ...(rec.overheadMs !== undefined ? { overheadMs: rec.overheadMs } : {}),
        ...(rec.execMs !== undefined ? { execMs: rec.execMs } : {}),
        ...(rec.resetMs !== undefined ? { resetMs: rec.resetMs } : {}),
        ...(rec.setupMs ? { setupMs: rec.setupMs } : {}),
        ...(rec.teardownMs ? { teardownMs: rec.teardownMs } : {}),
        ...(rec.stderrTail ? { stderrTail: rec.stderrTail } : {}),
        ...(rec.sysctlNow ? { effectiveSysctl: rec.sysctlNow } : {}),
        ...(rec.capEff ? { capEff: rec.capEff } : {}),
      });
      continue;
    }
    if (vm.ended === 'interrupted') continue;
    const how = `VM ${vm.ended}, vng exit ${vm.exitCode ?? vm.signal}`;
    if (!records.provenance) {
      const infraKind: InfraKind = vm.ended === 'boot-timeout' ? 'boot-timeout' : panic ? 'kernel-panic' : 'vm-failed';
      attempts.push({
        ...base(run),
        ran: false,
        observed: null,
        infraKind,
        infraError: `the guest agent never started (${how})${panic ? `; console: ${panic}` : ''}`,
        durationMs: 0,
      });
    } else if (run.key === running) {
      attempts.push({
        ...base(run),
        ran: true,
        observed: null,
        infraKind: panic ? 'kernel-panic' : 'agent-crash',
        infraError: panic
          ? `the kernel panicked while this cell ran: ${panic}`
          : `the guest agent died while this cell ran (${how}${vm.ended === 'run-timeout' ? ': it stopped making progress' : ''})`,
        durationMs: 0,
      });
    }
  }
  return attempts;
}

/** A cell's result from all its attempts (the last one gives the figures). */
export function finalizeCell(cell: PlannedCell, attempts: Attempt[]): CellResult {
  const last = attempts.at(-1);
  if (!last) throw new Error(`finalizeCell: ${cell.kernel}/${cell.id} has no attempt`);
  const { verdict, infraKind } = verdictOver(attempts, cell.expected);
  const { key: _k, kernel: _kn, cellId: _c, rep: _r, ran: _ran, infraKind: _ik, ...figures } = last;
  return {
    id: cell.id,
    kernel: cell.kernel,
    scenario: cell.scenario,
    sample: cell.sample,
    caps: cell.caps === 'root' ? 'root' : [...cell.caps],
    capsName: cell.capsName,
    uid: cell.uid,
    sysctl: cell.sysctl as Record<string, number>,
    context: cell.context,
    expected: cell.expected,
    verdict,
    ...(infraKind ? { infraKind } : {}),
    ...(attempts.length > 1
      ? {
          attempts: attempts.map((a) => ({
            boot: a.boot,
            rep: a.rep,
            outcome: attemptOutcome(a),
            ...(a.infraError ? { detail: a.infraError.slice(0, 300) } : {}),
          })),
        }
      : {}),
    ...figures,
  };
}
