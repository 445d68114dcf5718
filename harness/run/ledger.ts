// Every attempt of a run, by run key, and the results.json they make: a cell is written once all
// its runs settled (an outcome, or infra errors that used up the retries), in plan order.
import { type Attempt, runSettled } from '../outcome/attempts.js';
import { type CellResult, finalizeCell } from '../outcome/verdict.js';
import type { Boot, PlannedRun } from '../plan/plan.js';
import { type RunResults, writeResults } from '../report/results-json.js';

export class Ledger {
  readonly attempts: Attempt[] = [];
  private readonly byKey = new Map<string, Attempt[]>();

  constructor(
    readonly boots: Boot[],
    /** Each planned boot's runs, by its id: its cells `repeat` times. */
    readonly runsByBoot: Map<string, PlannedRun[]>,
    private readonly retries: number,
  ) {}

  add(list: Attempt[]): void {
    for (const a of list) {
      this.attempts.push(a);
      this.byKey.set(a.key, [...(this.byKey.get(a.key) ?? []), a]);
    }
  }

  settled = (r: PlannedRun): boolean => runSettled(this.byKey.get(r.key) ?? [], this.retries);

  allRuns(): PlannedRun[] {
    return [...this.runsByBoot.values()].flat();
  }

  pending(bootId: string): PlannedRun[] {
    return (this.runsByBoot.get(bootId) ?? []).filter((r) => !this.settled(r));
  }

  /** results.json from the attempts: every cell whose runs all settled, in plan order. */
  save(runDir: string, results: RunResults): void {
    const done: CellResult[] = [];
    const pending: { kernel: string; id: string }[] = [];
    for (const boot of this.boots) {
      for (const cell of boot.cells) {
        const runs = (this.runsByBoot.get(boot.id) ?? []).filter((r) => r.cell === cell);
        if (runs.every(this.settled))
          done.push(
            finalizeCell(
              cell,
              runs.flatMap((r) => this.byKey.get(r.key) ?? []),
            ),
          );
        else pending.push({ kernel: cell.kernel, id: cell.id });
      }
    }
    results.cells = done;
    results.attempts = this.attempts;
    results.pendingCells = pending.length;
    results.pending = pending;
    writeResults(runDir, results);
  }
}
