// A cell's attempts → its result and verdict: `match`, `mismatch`, `flaky` (the outcome changed
// between attempts, never a silent match) or `infra-error` with its kind.
import { z } from 'zod';
import { CONTEXTS, GRANTS, LOCKDOWNS, MEMLOCKS } from '../dsl/choices.js';
import { formatOutcome, INFRA_KINDS, type InfraKind } from '../dsl/vocabulary.js';
import { ObservedSchema } from '../guest/protocol.js';
import type { PlannedCell } from '../plan/plan.js';
import { type Attempt, attemptOutcome, RunFiguresSchema } from './attempts.js';

export const VERDICTS = ['match', 'mismatch', 'flaky', 'infra-error'] as const;
export type Verdict = (typeof VERDICTS)[number];

export const CellResultSchema = RunFiguresSchema.extend({
  id: z.string(),
  kernel: z.string(),
  scenario: z.string(),
  sample: z.string(),
  caps: z.union([z.literal('root'), z.array(z.string())]),
  capsName: z.string(),
  /** How the set was given (dsl/grants.ts: ambient, a unit's, a container's, a pod's; absent: file capabilities). */
  grant: z.enum(GRANTS).optional(),
  /** The kernel lockdown level it ran under (axes.lockdown; absent: the boot's default). */
  lockdown: z.enum(LOCKDOWNS).optional(),
  /** The RLIMIT_MEMLOCK it started with (axes.memlock; absent: the guest's). */
  memlock: z.enum(MEMLOCKS).optional(),
  uid: z.number().int(),
  sysctl: z.record(z.string(), z.number()),
  context: z.enum(CONTEXTS),
  /** The last attempt's observation (null: it ended in an infra error). */
  observed: z.nullable(ObservedSchema),
  expected: z.object({ outcome: z.string(), stage: z.string(), reason: z.string() }),
  verdict: z.enum(VERDICTS),
  infraKind: z.enum(INFRA_KINDS).optional(),
  /** Every attempt, when there was more than one (retries, --repeat). */
  attempts: z
    .array(z.object({ boot: z.string(), rep: z.number(), outcome: z.string(), detail: z.string().optional() }))
    .optional(),
  /** The boot of the last attempt. */
  boot: z.string(),
});
export type CellResult = z.infer<typeof CellResultSchema>;

/** The verdict over every attempt of a cell (all its reps). */
export function verdictOver(
  attempts: Attempt[],
  expected: { outcome: string; stage: string },
): { verdict: Verdict; infraKind?: InfraKind } {
  const ran = attempts.filter((a) => a.ran);
  const counted = ran.length ? ran : attempts;
  const outcomes = new Set(counted.map(attemptOutcome));
  if (outcomes.size > 1) return { verdict: 'flaky' };
  const last = counted.at(-1);
  if (!last?.observed) return { verdict: 'infra-error', infraKind: last?.infraKind ?? 'vm-failed' };
  return { verdict: observedVerdict(last.observed, expected) };
}

/** A finished cell judged against another expectation (report --rediff): a flaky cell and an
 * infra error stay what they were, whatever was expected; otherwise as verdictOver judges. */
export function verdictAgainst(
  cell: Pick<CellResult, 'verdict' | 'observed'>,
  expected: { outcome: string; stage: string },
): Verdict {
  if (cell.verdict === 'flaky' || cell.verdict === 'infra-error' || !cell.observed) return cell.verdict;
  return observedVerdict(cell.observed, expected);
}

/** The comparison behind every verdict: what was observed is what was expected, or not. */
function observedVerdict(
  observed: { outcome: string; stage: string },
  expected: { outcome: string; stage: string },
): 'match' | 'mismatch' {
  return formatOutcome(observed) === formatOutcome(expected) ? 'match' : 'mismatch';
}

/** How many cells have each verdict. */
export function countVerdicts(cells: readonly Pick<CellResult, 'verdict'>[]): Record<Verdict, number> {
  const n = { match: 0, mismatch: 0, flaky: 0, 'infra-error': 0 };
  for (const c of cells) n[c.verdict]++;
  return n;
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
    ...(cell.grant && cell.grant !== 'file' ? { grant: cell.grant } : {}),
    ...(cell.lockdown ? { lockdown: cell.lockdown } : {}),
    ...(cell.memlock ? { memlock: cell.memlock } : {}),
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
