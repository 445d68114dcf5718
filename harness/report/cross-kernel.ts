// Cross-kernel and run-to-run differences. A cell differs when its observed outcome is not the
// same on two kernels (or in two runs); each difference names the first kernel where it changed
// and says when provenance (default sysctls, tracefs/bpffs modes, lockdown, accel) differs too,
// so a distribution setting does not pass for a kernel change.
import { formatOutcome } from '../dsl/vocabulary.js';
import type { CellResult } from '../outcome/verdict.js';
import { compareVersions, kernelVersionOf } from '../version.js';
import type { RunResults } from './results-json.js';

export interface KernelDiff {
  id: string;
  /** kernel id → observed outcome, in kernel version order */
  outcomes: { kernel: string; release: string; outcome: string; changed: boolean }[];
  /** the first kernel whose outcome differs from the one before it */
  firstChange: string;
  provenanceNotes: string[];
}

/** The build flavour a Debian or Ubuntu release names (amd64, cloud-amd64, rt-amd64, generic):
 * another flavour is another kernel config, so a change there is a config difference. */
export function flavourOf(release: string): string {
  return release.replace(/^\d+\.\d+(\.\d+)?(-\d+)?(\+deb\d+(\.\d+)?)?-?/, '') || '?';
}

const obs = (c: CellResult | undefined) => (c?.observed ? formatOutcome(c.observed) : c ? 'INFRA' : '-');

/** Provenance facts of a boot that can change an outcome without the kernel changing. */
function facts(run: RunResults, kernel: string, cell?: CellResult): Record<string, string> {
  const g = run.provenance.boots.find((b) => b.kernel === kernel)?.guest ?? {};
  const out: Record<string, string> = {
    'tracefs mode': String(g.tracefs?.mode ?? '?'),
    bpffs: String(g.bpffs?.fs ?? 'not mounted'),
    lockdown: String(g.lockdown ?? '?'),
    accel: String(run.kernels.find((k) => k.id === kernel)?.accel ?? '?'),
    'config (flavour)': flavourOf(run.kernels.find((k) => k.id === kernel)?.release ?? ''),
  };
  for (const [k, v] of Object.entries(run.kernels.find((x) => x.id === kernel)?.config ?? {})) out[k] = v;
  for (const [k, v] of Object.entries(g.sysctls ?? {})) out[`boot ${k}`] = String(v);
  for (const [k, v] of Object.entries(cell?.effectiveSysctl ?? {})) out[k] = String(v);
  return out;
}

function provenanceNotes(a: Record<string, string>, b: Record<string, string>, ka: string, kb: string): string[] {
  return Object.keys({ ...a, ...b })
    .filter((k) => a[k] !== b[k] && a[k] !== undefined && b[k] !== undefined)
    .map((k) => `${k}: ${a[k]} on ${ka}, ${b[k]} on ${kb}`);
}

/** What differs in provenance between a cell on one kernel of one run and on another (bisect
 * compares two builds that ran in separate runs). */
export function provenanceBetween(
  a: { run: RunResults; kernel: string },
  b: { run: RunResults; kernel: string },
  cellId: string,
): string[] {
  const cell = (x: typeof a) => x.run.cells.find((c) => c.id === cellId && c.kernel === x.kernel);
  return provenanceNotes(facts(a.run, a.kernel, cell(a)), facts(b.run, b.kernel, cell(b)), a.kernel, b.kernel);
}

/** An outcome in a Markdown table: bold where it changed from the kernel to its left. */
export const markedOutcome = (o: KernelDiff['outcomes'][number]) => (o.changed ? `**${o.outcome}**` : o.outcome);

export function kernelOrder(run: RunResults): RunResults['kernels'] {
  return [...run.kernels].sort((a, b) => compareVersions(kernelVersionOf(a.release), kernelVersionOf(b.release)));
}

export function crossKernelDiffs(run: RunResults): KernelDiff[] {
  const kernels = kernelOrder(run);
  if (kernels.length < 2) return [];
  const ids = [...new Set(run.cells.map((c) => c.id))];
  const diffs: KernelDiff[] = [];
  for (const id of ids) {
    const per = kernels.map((k) => ({ k, cell: run.cells.find((c) => c.id === id && c.kernel === k.id) }));
    const outcomes = per.map(({ k, cell }, i) => ({
      kernel: k.id,
      release: k.release,
      outcome: obs(cell),
      changed: i > 0 && obs(cell) !== obs(per[i - 1]?.cell),
    }));
    const firstIdx = outcomes.findIndex((o) => o.changed);
    if (firstIdx < 0) continue;
    const before = per[firstIdx - 1];
    const at = per[firstIdx];
    const notes =
      before && at
        ? provenanceNotes(facts(run, before.k.id, before.cell), facts(run, at.k.id, at.cell), before.k.id, at.k.id)
        : [];
    diffs.push({ id, outcomes, firstChange: outcomes[firstIdx]?.kernel ?? '?', provenanceNotes: notes });
  }
  return diffs;
}

export interface RunDiff {
  kernel: string;
  id: string;
  baseline: string;
  current: string;
  provenanceNotes: string[];
}

/** What a cell of the baseline is now when the run does not have it. */
export const VANISHED = 'absent from this run';

/** Cells whose observed outcome differs between a baseline run and the current one, per kernel;
 * a baseline cell the run does not have (a cell, or a whole kernel, that vanished) is a
 * difference too. */
export function compareRuns(baseline: RunResults, current: RunResults): RunDiff[] {
  const out: RunDiff[] = [];
  for (const c of current.cells) {
    const b = baseline.cells.find((x) => x.kernel === c.kernel && x.id === c.id);
    if (!b || obs(b) === obs(c)) continue;
    const notes = provenanceNotes(facts(baseline, c.kernel, b), facts(current, c.kernel, c), 'baseline', 'now');
    const relB = baseline.kernels.find((k) => k.id === c.kernel)?.release;
    const relC = current.kernels.find((k) => k.id === c.kernel)?.release;
    if (relB && relC && relB !== relC) notes.unshift(`kernel release: ${relB} in the baseline, ${relC} now`);
    out.push({ kernel: c.kernel, id: c.id, baseline: obs(b), current: obs(c), provenanceNotes: notes });
  }
  const have = new Set(current.cells.map((c) => `${c.kernel} ${c.id}`));
  const kernels = new Set(current.kernels.map((k) => k.id));
  for (const b of baseline.cells.filter((x) => !have.has(`${x.kernel} ${x.id}`))) {
    const why = kernels.has(b.kernel) ? [] : [`kernel ${b.kernel} is not in this run`];
    out.push({ kernel: b.kernel, id: b.id, baseline: obs(b), current: VANISHED, provenanceNotes: why });
  }
  return out;
}

/** The part of a run that is one kernel's baseline (baselines/<kernel>.json), without
 * the bulky diagnostics (stderr tails) that comparisons do not use. */
export function baselineOf(run: RunResults, kernel: string): RunResults {
  return {
    ...run,
    kernels: run.kernels.filter((k) => k.id === kernel),
    cells: run.cells.filter((c) => c.kernel === kernel).map(({ stderrTail: _drop, ...c }) => c),
    provenance: { boots: run.provenance.boots.filter((b) => b.kernel === kernel) },
    // every run of every cell of that kernel, and of no other (a run of 8 kernels has 8× as many);
    // the kernel's checks stay with the cell (its last run's): each run's copy doubled the file
    ...(run.attempts
      ? {
          attempts: run.attempts
            .filter((a) => a.kernel === kernel)
            .map(({ stderrTail: _drop, capChecks: _kept, ...a }) => a),
        }
      : {}),
  };
}
