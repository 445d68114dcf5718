// One attempt = one run of a cell in one boot. A boot's guest records become attempts: a record
// per run that finished; the run that was going when the VM died gets the VM's fault; a run whose
// window held lines the agent did not write is a protocol violation. Infra errors are retried on
// a fresh boot (runSettled). Never a guessed kernel result.

import { z } from 'zod';
import { formatOutcome, INFRA_KINDS, type InfraKind } from '../dsl/vocabulary.js';
import { FiguresSchema, ObservedSchema } from '../guest/protocol.js';
import type { PlannedRun } from '../plan/plan.js';
import type { VmRun } from '../vm/run-vm.js';
import type { CellRecord, GuestRecords, Violation } from './guest-records.js';

/** What one run of a cell measured and left behind (an attempt's, and a cell result's, figures). */
export const RunFiguresSchema = z.object({
  ...FiguresSchema.shape,
  infraError: z.string().optional(),
  /** The sysctls the guest read right after the cell ran (its effective settings). */
  effectiveSysctl: z.record(z.string(), z.number().nullable()).optional(),
});
export type RunFigures = z.infer<typeof RunFiguresSchema>;

export const AttemptSchema = RunFiguresSchema.extend({
  /** `<kernel>/<cell id>#<rep>`: one of the N runs `--repeat N` asks for. */
  key: z.string(),
  kernel: z.string(),
  cellId: z.string(),
  rep: z.number().int().positive(),
  boot: z.string(),
  /** false when the boot failed before the cell could start: the attempt counts against the
   * retries but says nothing about the cell. */
  ran: z.boolean(),
  observed: z.nullable(ObservedSchema),
  infraKind: z.enum(INFRA_KINDS).optional(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

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

/** Kernel panic / oops lines from the console log, for the cell that was running. */
export function panicExcerpt(consoleText: string): string | undefined {
  const lines = consoleText.split('\n');
  const i = lines.findIndex((l) => /Kernel panic|Oops:|BUG:|KVM internal error/.test(l));
  return i < 0 ? undefined : lines.slice(i, i + 8).join('\n');
}

/** The infra error a finished record carries, if any: its own, lines it did not write in its
 * window, a failed teardown, or state it left behind (which may have spoiled the cells after it). */
function recordInfra(rec: CellRecord, violations: Violation[], bootId: string) {
  if (violations.length) {
    const lines = violations.map((v) => `line ${v.line}: ${v.why}`).join('; ');
    return { infraKind: 'protocol-violation' as const, infraError: `boot ${bootId}, guest-results.jsonl ${lines}` };
  }
  if (rec.infraError) return { infraKind: rec.infraKind ?? ('agent-crash' as const), infraError: rec.infraError };
  if (rec.teardownError) return { infraKind: 'teardown-failed' as const, infraError: `teardown: ${rec.teardownError}` };
  if (rec.resetProblems?.length)
    return {
      infraKind: 'state-not-reset' as const,
      infraError: `state not reset after the cell: ${rec.resetProblems.join('; ')}`,
    };
  return null;
}

function figuresOf(rec: CellRecord): RunFigures {
  const {
    type: _t,
    id: _i,
    key: _k,
    caps: _c,
    delegation: _d,
    observed: _o,
    infraKind: _ik,
    infraError: _ie,
    ...rest
  } = rec;
  const { sysctlNow, resetProblems: _rp, teardownError: _te, ...figures } = rest;
  return { ...figures, effectiveSysctl: sysctlNow };
}

/** What charges a run the guest never finished: the boot that never came up, or the cell that
 * was running when the VM died. Runs after it get nothing (they go into the next boot). */
function unfinishedInfra(
  run: PlannedRun,
  records: GuestRecords,
  vm: Pick<VmRun, 'ended' | 'exitCode' | 'signal' | 'accelDeath'>,
  panic: string | undefined,
): Pick<Attempt, 'ran' | 'infraKind' | 'infraError'> | null {
  const how = `VM ${vm.ended}${vm.accelDeath ? ` (${vm.accelDeath})` : ''}, vng exit ${vm.exitCode ?? vm.signal}`;
  if (!records.provenance) {
    const infraKind: InfraKind = vm.ended === 'boot-timeout' ? 'boot-timeout' : panic ? 'kernel-panic' : 'vm-failed';
    const why = records.stopped ? `; ${records.stopped}` : '';
    return {
      ran: false,
      infraKind,
      infraError: `the guest agent never started (${how})${why}${panic ? `; console: ${panic}` : ''}`,
    };
  }
  const running = records.started.filter((k) => !records.cells.has(k)).at(-1);
  if (run.key !== running) return null;
  if (records.stopped) return { ran: true, infraKind: 'protocol-violation', infraError: records.stopped };
  return {
    ran: true,
    infraKind: panic ? 'kernel-panic' : 'agent-crash',
    infraError: panic
      ? `the kernel panicked while this cell ran: ${panic}`
      : vm.ended === 'agent-stalled'
        ? `the guest agent stopped beating while this cell ran (stopped or stuck; ${how})`
        : `the guest agent died while this cell ran (${how}${vm.ended === 'run-timeout' ? ': it stopped making progress' : ''})`,
  };
}

/**
 * One boot's attempts. A boot whose agent never started charges every run (boot-timeout,
 * kernel-panic or vm-failed), so a kernel that never boots ends. An interrupted boot (Ctrl-C)
 * charges nobody.
 */
export function bootAttempts(
  runs: PlannedRun[],
  records: GuestRecords,
  vm: Pick<VmRun, 'ended' | 'exitCode' | 'signal' | 'accelDeath'>,
  bootId: string,
  consoleText: string,
): Attempt[] {
  const panic = panicExcerpt(consoleText);
  const attempts: Attempt[] = [];
  for (const run of runs) {
    const base = { key: run.key, kernel: run.cell.kernel, cellId: run.cell.id, rep: run.rep, boot: bootId };
    const rec = records.cells.get(run.key);
    if (rec) {
      const infra = recordInfra(
        rec,
        records.violations.filter((v) => v.key === run.key),
        bootId,
      );
      attempts.push({ ...base, ran: true, ...figuresOf(rec), observed: infra ? null : rec.observed, ...infra });
      continue;
    }
    if (vm.ended === 'interrupted') continue;
    const infra = unfinishedInfra(run, records, vm, panic);
    if (infra) attempts.push({ ...base, observed: null, durationMs: 0, ...infra });
  }
  return attempts;
}
