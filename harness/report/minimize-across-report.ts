// `capmatrix minimize --kernel a,b` (or `merge` of per-kernel minimize results) in the terminal
// and as JSON: the answer by kernel range, each minimal set with the ranges it holds on, its
// checked forms with theirs, then each kernel's own details.
import { EXIT } from '../exit-codes.js';
import { minimizeJson } from '../run/minimize.js';
import {
  askedOf,
  type MinimizeAcross,
  type RangeAnswer,
  type SearchAcross,
  type SetAcross,
  searchKey,
} from '../run/minimize-across.js';
import type { MinimizeResult } from '../run/minimize-result.js';
import { nearMissLine } from './deploy-forms.js';
import { delegation, locksText, setcap, settings, short } from './minimize-report.js';
import { terminalLine } from './untrusted-text.js';

const rangesText = (ranges: { range: string }[]) => ranges.map((r) => r.range).join(', ') || 'no kernel';

/** "5.10–6.1: {BPF, NET_ADMIN}, {SYS_ADMIN}"; where no subset works, what all the candidates got. */
function answerLine(a: RangeAnswer, s: SearchAcross, perKernel: MinimizeResult[]): string {
  if (a.minimalSets.length) return `${a.range}: ${a.minimalSets.map(short).join(', ')}`;
  const withAll = a.kernels.map((k) => {
    const mine = perKernel.find((r) => r.kernel.id === k)?.searches.find((x) => searchKey(x) === s.key);
    return mine?.withAll?.outcome ?? '?';
  });
  return `${a.range}: no subset of the candidates works (with all of them: ${[...new Set(withAll)].join(', ')})`;
}

/** `--emit` over kernels: each form's text once, with the ranges where its run was ok; each
 * kernel where it failed with its outcome and cell. */
function formLines(set: SetAcross): string[] {
  const out: string[] = [];
  for (const f of set.forms) {
    if (f.form === 'setcap') continue;
    if (f.text)
      out.push(
        `     ${f.form}, checked on ${rangesText(f.ok)} (ok as ${f.checkedAs}):`,
        ...f.text.split('\n').map((l) => `       ${terminalLine(l)}`),
      );
    else out.push(`     ${f.form}: fails on every kernel, as ${f.checkedAs}: nothing to paste`);
    for (const m of f.nearMisses) {
      const line = nearMissLine(m.grant, { ok: false, outcome: m.outcome, detail: m.detail, cell: m.cells[0] ?? '' });
      if (line) out.push(`       ${terminalLine(line)} on ${rangesText(m.ranges)}`);
    }
    for (const x of f.failing)
      out.push(
        `     ${f.form} fails on ${terminalLine(x.kernel)}: ${x.outcome}${x.detail ? ` ${terminalLine(x.detail)}` : ''} (cell ${terminalLine(x.cell)})`,
      );
  }
  return out;
}

function searchLines(s: SearchAcross, a: MinimizeAcross, full: boolean): string[] {
  const first = a.perKernel[0];
  const line = (caps: string[]) =>
    terminalLine(first?.dimension === 'delegation' ? delegation(caps) : setcap(caps, first?.sample ?? ''));
  const out = s.answers.map((x) => `  ${terminalLine(answerLine(x, s, a.perKernel))}`);
  if (s.missing.length) out.push(`  not searched on: ${s.missing.join(', ')}`);
  if (!full) return out;
  out.push('', 'each minimal set, with the kernels it is minimal on:');
  s.sets.forEach((set, i) => {
    out.push(`  ${i + 1}. ${line(set.caps)}    on ${rangesText(set.ranges)}`, ...formLines(set));
  });
  return out;
}

export function renderMinimizeAcross(a: MinimizeAcross): string {
  const [asked, ...others] = a.searches;
  const first = a.perKernel[0];
  const out: string[] = [];
  if (asked && first) {
    out.push(
      `${terminalLine(asked.scenario)} on ${a.perKernel.length} kernel(s): ${a.perKernel.map((r) => `${r.kernel.id} (${r.kernel.release})`).join(', ')}; ${settings(asked)}${locksText(first)}`,
      `candidates: ${first.universe.join(' ')}`,
      ...(first.object ? [`object: ${terminalLine(first.object)}`] : []),
      ...(first.exec ? [`loader: ${terminalLine(first.exec.join(' '))}`] : []),
      'a range is over the kernels measured, oldest first; it says nothing of a kernel between two of them',
      '',
      `${first.dimension === 'delegation' ? 'minimal delegations' : 'minimal capability sets'} by kernel range:`,
      ...searchLines(asked, a, true),
    );
  }
  if (others.length) {
    out.push('', 'other settings, and alternatives:');
    for (const s of others)
      out.push(
        `- ${s.kind === 'scenario' ? `scenario ${terminalLine(s.scenario)}` : `with ${settings(s)}`}:`,
        ...searchLines(s, a, false),
      );
  }
  for (const f of a.failed) out.push(`! ${terminalLine(f.kernel)}: no answer (${terminalLine(f.error)})`);
  const cells = a.perKernel.map((r) => minimizeJson(r).cells);
  out.push(
    '',
    `${cells.reduce((n, c) => n + c, 0)} cells in ${a.perKernel.length} boot(s) (${a.perKernel.map((r, i) => `${r.kernel.id} ${cells[i]} in ${(r.wallMs / 1000).toFixed(0)} s`).join(', ')}).`,
    `details: ${a.runDir}/minimize.json; each kernel's: ${a.perKernel.map((r) => r.runDir).join(', ')}`,
  );
  return out.join('\n');
}

/** `--json`: the answer by range first, each set with its ranges, then each kernel's own JSON. */
export function minimizeAcrossJson(a: MinimizeAcross) {
  const [asked] = a.searches;
  return {
    kernels: a.order,
    answers: asked?.answers ?? [],
    sets: asked?.sets ?? [],
    failed: a.failed,
    searches: a.searches,
    perKernel: a.perKernel.map(minimizeJson),
    runDir: a.runDir,
  };
}

/** An answer from every kernel: 0; a kernel where no subset works: 1 (a finding); a kernel that
 * gave no answer: 3 (infra). */
export function minimizeAcrossExit(a: MinimizeAcross): number {
  if (a.failed.length) return EXIT.infra;
  const none = a.perKernel.some((r) => !askedOf(r)?.minimal.length);
  return none ? EXIT.findings : EXIT.ok;
}
