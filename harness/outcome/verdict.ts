// Observed vs expected → verdict. A cell the guest never finished is an infra error that
// says why (VM died, boot timeout, kernel panic), never a guessed kernel result.
import { formatOutcome } from '../dsl/vocabulary.js';
import type { PlannedCell } from '../plan/plan.js';
import type { VmRun } from '../vm/run-vm.js';
import type { CellRecord, GuestRecords, ObservedOutcome } from './guest-records.js';

export type Verdict = 'match' | 'mismatch' | 'infra-error';

export interface CellResult {
  id: string;
  kernel: string;
  scenario: string;
  sample: string;
  caps: string[] | 'root';
  capsName: string;
  uid: number;
  sysctl: Record<string, number>;
  context: 'host' | 'userns';
  observed: ObservedOutcome | null;
  expected: { outcome: string; stage: string; reason: string };
  verdict: Verdict;
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
  boot: string;
}

export function verdictOf(observed: ObservedOutcome | null, expected: { outcome: string; stage: string }): Verdict {
  if (!observed) return 'infra-error';
  return formatOutcome(observed) === formatOutcome(expected) ? 'match' : 'mismatch';
}

/** Kernel panic / oops lines from the console log, for the cell that was running. */
export function panicExcerpt(consoleText: string): string | undefined {
  const lines = consoleText.split('\n');
  const i = lines.findIndex((l) => /Kernel panic|Oops:|BUG:|KVM internal error/.test(l));
  return i < 0 ? undefined : lines.slice(i, i + 8).join('\n');
}

export function cellResults(
  cells: PlannedCell[],
  records: GuestRecords,
  vm: VmRun,
  bootId: string,
  consoleText: string,
): CellResult[] {
  const panic = panicExcerpt(consoleText);
  const lastStarted = records.started.at(-1);
  return cells.map((cell) => {
    const rec: CellRecord | undefined = records.cells.get(cell.id);
    let infraError = rec?.infraError;
    // A cell that left state behind may have spoiled the ones after it: never a clean result.
    if (!infraError && rec?.resetProblems?.length)
      infraError = `state not reset after the cell: ${rec.resetProblems.join('; ')}`;
    if (!rec) {
      const why = !records.provenance
        ? `the guest agent never started (VM ${vm.ended}, vng exit ${vm.exitCode ?? vm.signal})`
        : cell.id === lastStarted
          ? `the VM ended while this cell ran (${vm.ended}${panic ? `; console: ${panic}` : ''})`
          : `not run: the VM ended before this cell (${vm.ended}${panic ? '; kernel panic earlier' : ''})`;
      infraError = why;
    }
    const observed = infraError ? null : (rec?.observed ?? null);
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
      observed,
      expected: cell.expected,
      verdict: infraError ? 'infra-error' : verdictOf(observed, cell.expected),
      durationMs: rec?.durationMs ?? 0,
      ...(rec?.overheadMs !== undefined ? { overheadMs: rec.overheadMs } : {}),
      ...(rec?.execMs !== undefined ? { execMs: rec.execMs } : {}),
      ...(rec?.resetMs !== undefined ? { resetMs: rec.resetMs } : {}),
      ...(rec?.setupMs ? { setupMs: rec.setupMs } : {}),
      ...(rec?.teardownMs ? { teardownMs: rec.teardownMs } : {}),
      ...(infraError ? { infraError } : {}),
      ...(rec?.stderrTail ? { stderrTail: rec.stderrTail } : {}),
      ...(rec?.sysctlNow ? { effectiveSysctl: rec.sysctlNow } : {}),
      boot: bootId,
    };
  });
}
