// The privilege atlas as data: one row per feature (a scenario under one setting), one column
// per kernel in version order, each holding the least privilege that was ok there, where it
// changed (the kernel report's findings), every cell with its outcome and reason, and each
// kernel's provenance. Pure: a merged run in, the model out; atlas-html.ts renders it.
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
  /** the text differs from the kernel to the left (both ran it) */
  changed: boolean;
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
const grantOf = (c: CellResult) => c.grant ?? 'file';
const capsOf = (c: CellResult) => (c.caps === 'root' ? [] : c.caps);
const isStrictSubset = (a: string[], b: string[]) => a.length < b.length && a.every((x) => b.includes(x));

/** The ok cells no other ok cell of the same grant undercuts; file capabilities first. */
function minimalOk(cells: CellResult[]): CellResult[] {
  const ok = cells.filter((c) => c.caps !== 'root' && outcomeOf(c) === 'ok');
  const minimal = ok.filter(
    (a) => !ok.some((b) => b !== a && grantOf(b) === grantOf(a) && isStrictSubset(capsOf(b), capsOf(a))),
  );
  const file = minimal.filter((c) => grantOf(c) === 'file');
  return file.length ? file : minimal;
}

/** The least privilege of one row on one kernel, as the grid shows it. */
export function summaryText(cells: CellResult[]): { text: string; ok: boolean } {
  if (!cells.length) return { text: NOT_RUN, ok: false };
  const minimal = minimalOk(cells);
  if (minimal.length) {
    const names = minimal.map((c) => (capsOf(c).length ? c.capsName : 'unprivileged'));
    return { text: names.join(' or '), ok: true };
  }
  const root = cells.find((c) => c.caps === 'root');
  if (root && outcomeOf(root) === 'ok') return { text: 'root only', ok: true };
  const most = root ?? [...cells].sort((a, b) => capsOf(b).length - capsOf(a).length)[0];
  return { text: `none ok: ${most ? outcomeOf(most) : '?'}`, ok: false };
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
    const left = out.at(-1);
    const changed = !!left && left.text !== NOT_RUN && text !== NOT_RUN && left.text !== text;
    const findings = [...new Set(here.flatMap((c) => index.get(`${k.id} ${c.id}`) ?? []))].sort((a, b) => a - b);
    const unsure = here.filter((c) => c.verdict !== 'match').length;
    out.push({ kernel: k.id, text, ok, changed, findings, unsure });
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
