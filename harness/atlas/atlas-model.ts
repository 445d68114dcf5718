// The privilege atlas as data: one row per feature (a scenario under one setting), one column
// per kernel in version order, each holding the least privilege that was ok there, where it
// changed (the kernel report's findings), every cell with its outcome and reason, and each
// kernel's provenance. Pure: a merged run in, the model out; atlas-html.ts renders it.
import { capAddOf } from '../dsl/container.js';
import { formatOutcome } from '../dsl/vocabulary.js';
import type { CellResult } from '../outcome/verdict.js';
import { crossKernelDiffs, kernelOrder } from '../report/cross-kernel.js';
import { type Finding, groupFindings } from '../report/findings.js';
import { kernelChecksLine } from '../report/kernel-checks.js';
import type { RunResults } from '../report/results-json.js';
import { type FeatureKind, featureOf } from './features.js';
import { type AtlasKernel, type KernelSource, kernelProvenance } from './kernel-provenance.js';

export type { AtlasKernel } from './kernel-provenance.js';

export interface AtlasCell {
  kernel: string;
  id: string;
  set: string;
  outcome: string;
  verdict: string;
  /** the scenario rule's evidence for what it expected (it matched: the outcome's reason) */
  reason: string;
  /** what the program or the kernel said (untrusted text) */
  detail: string;
  /** which capability checks the kernel denied, as the reports say it */
  checks: string;
}

/** One column of a row: the least privilege that was ok on that kernel. */
export interface AtlasSummary {
  kernel: string;
  text: string;
  /** some set was ok (root included) */
  ok: boolean;
  /** the text of the nearest kernel to the left that ran the row, when this one differs */
  changedFrom?: string;
  /** findings (1-based, as numbered) whose first change is this kernel in this row */
  findings: number[];
  /** cells here whose verdict is not a match (a mismatch, flaky, an infra error): the text
   * rests on outcomes no rule vouched for */
  unsure: number;
}

export interface AtlasRow extends FeatureKind {
  key: string;
  scenario: string;
  settings: string;
  sample: string;
  context: string;
  description: string;
  summaries: AtlasSummary[];
  /** the capability sets of the row, in the order the scenario has them */
  sets: string[];
  cells: AtlasCell[];
}

export interface AtlasFinding extends Finding {
  n: number;
}

export interface AtlasModel {
  kernels: AtlasKernel[];
  rows: AtlasRow[];
  findings: AtlasFinding[];
}

const NOT_RUN = 'not run';
const outcomeOf = (c: CellResult) => (c.observed ? formatOutcome(c.observed) : 'INFRA');
const settingsOf = (c: CellResult) => c.id.split('/').at(-1) ?? '';
const isStrictSubset = (a: string[], b: string[]) => a.length < b.length && a.every((x) => b.includes(x));
/** A flaky cell or an infra error is no measurement to rank privileges on. */
const measured = (c: CellResult) => c.verdict === 'match' || c.verdict === 'mismatch';

/** What a cell was given, to rank by inclusion: a container cell's --cap-add set (its process
 * is uid 0 in a user namespace, so `caps` says root), else the uid's set under its grant. */
interface Privilege {
  cell: CellResult;
  /** sets compare only within one way of granting */
  way: string;
  set: string[];
  label: string;
}

function privilegeOf(c: CellResult): Privilege | undefined {
  if (c.context === 'container') {
    const added = capAddOf(c.capsName);
    if (!added) return undefined;
    return {
      cell: c,
      way: 'container',
      set: added,
      label: added.length ? `--cap-add ${added.join('+')}` : 'default container',
    };
  }
  if (c.caps === 'root') return undefined;
  const label = c.caps.length ? c.capsName : 'unprivileged';
  return { cell: c, way: c.grant ?? 'file', set: c.caps, label };
}

/** The ok privileges no other ok one of the same way undercuts; file capabilities first. */
function minimalOk(cells: CellResult[]): Privilege[] {
  const ok = cells
    .filter((c) => measured(c) && outcomeOf(c) === 'ok')
    .map(privilegeOf)
    .filter((p): p is Privilege => !!p);
  const minimal = ok.filter((a) => !ok.some((b) => b !== a && b.way === a.way && isStrictSubset(b.set, a.set)));
  const file = minimal.filter((p) => p.way === 'file');
  return file.length ? file : minimal;
}

/** The least privilege of one row on one kernel, as the grid shows it. Cells that are no
 * measurement (flaky, infra errors) are left out and marked with a '?'. */
export function summaryText(cells: CellResult[]): { text: string; ok: boolean } {
  if (!cells.length) return { text: NOT_RUN, ok: false };
  const unsure = cells.some((c) => !measured(c)) ? ' ?' : '';
  const minimal = minimalOk(cells);
  if (minimal.length) return { text: minimal.map((p) => p.label).join(' or ') + unsure, ok: true };
  const root = cells.find((c) => c.caps === 'root' && c.context !== 'container');
  const only = cells.length === 1 && root ? ' (the only set tried)' : '';
  if (root && measured(root) && outcomeOf(root) === 'ok') return { text: `root${only || ' only'}${unsure}`, ok: true };
  const most =
    root ?? [...cells].sort((a, b) => (privilegeOf(b)?.set.length ?? 0) - (privilegeOf(a)?.set.length ?? 0))[0];
  return { text: `none ok: ${most ? outcomeOf(most) : '?'}${unsure}`, ok: false };
}

function atlasCell(c: CellResult): AtlasCell {
  return {
    kernel: c.kernel,
    id: c.id,
    set: c.capsName,
    outcome: outcomeOf(c),
    verdict: c.verdict,
    reason: c.expected.reason,
    detail: c.observed?.detail ?? '',
    checks: kernelChecksLine(c) ?? '',
  };
}

/** cell id → the numbers of the findings that cover it, by the kernel where it changed. */
function findingIndex(findings: AtlasFinding[]): Map<string, number[]> {
  const index = new Map<string, number[]>();
  for (const f of findings)
    for (const id of f.cells) {
      const key = `${f.firstChange} ${id}`;
      index.set(key, [...(index.get(key) ?? []), f.n]);
    }
  return index;
}

function summaries(cells: CellResult[], kernels: AtlasKernel[], index: Map<string, number[]>): AtlasSummary[] {
  const out: AtlasSummary[] = [];
  for (const k of kernels) {
    const here = cells.filter((c) => c.kernel === k.id);
    const { text, ok } = summaryText(here);
    // the nearest kernel to the left that ran the row: a kernel that did not is no change
    const left = out.filter((x) => x.text !== NOT_RUN).at(-1);
    const changedFrom = left && text !== NOT_RUN && left.text !== text ? left.text : undefined;
    const findings = [...new Set(here.flatMap((c) => index.get(`${k.id} ${c.id}`) ?? []))].sort((a, b) => a - b);
    const unsure = here.filter((c) => c.verdict !== 'match').length;
    out.push({ kernel: k.id, text, ok, ...(changedFrom ? { changedFrom } : {}), findings, unsure });
  }
  return out;
}

/** The atlas of a run over many kernels: `sources` says which run each kernel's cells came from,
 * `descriptions` (scenario → text) come from the scenarios. */
export function buildAtlas(
  run: RunResults,
  sources: Record<string, KernelSource>,
  descriptions: Record<string, string> = {},
): AtlasModel {
  const kernels = kernelOrder(run).map((k) => kernelProvenance(run, k.id, sources[k.id]));
  const findings = groupFindings(crossKernelDiffs(run)).findings.map((f, i) => ({ ...f, n: i + 1 }));
  const index = findingIndex(findings);
  const byRow = new Map<string, CellResult[]>();
  for (const c of run.cells) {
    const key = `${c.scenario} ${settingsOf(c)}`;
    byRow.set(key, [...(byRow.get(key) ?? []), c]);
  }
  const rows = [...byRow.entries()].map(([key, cells]): AtlasRow => {
    const first = cells[0] as CellResult;
    return {
      key,
      scenario: first.scenario,
      settings: settingsOf(first),
      sample: first.sample,
      context: first.context,
      description: descriptions[first.scenario] ?? '',
      ...featureOf(first.scenario),
      summaries: summaries(cells, kernels, index),
      sets: [...new Set(cells.map((c) => c.capsName))],
      cells: cells.map(atlasCell),
    };
  });
  return { kernels, rows, findings };
}
