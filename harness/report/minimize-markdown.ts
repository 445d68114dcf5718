// The minimize answer (one kernel or several) as Markdown for a job summary: the minimal sets by
// kernel range, each set with the ranges it is minimal on and its checked forms, what moves from
// one range to the next, and the kernels with no answer. Everything from the run is untrusted text.
import type { MinimizeAcross, RangeAnswer, SearchAcross, SetAcross } from '../run/minimize-across.js';
import { delegation, setcap, short } from './minimize-report.js';
import { markdownCell, markdownSpan } from './untrusted-text.js';

const rangesText = (ranges: { range: string }[]) => ranges.map((r) => r.range).join(', ') || 'no kernel';
const setsText = (sets: string[][]) => sets.map(short).join(', ');

function answerRows(s: SearchAcross): string[] {
  return [
    '| kernels | minimal sets |',
    '|---|---|',
    ...s.answers.map(
      (a) =>
        `| ${markdownCell(a.range)} (${a.kernels.map((k) => markdownCell(k)).join(', ')}) | ${a.minimalSets.length ? markdownCell(setsText(a.minimalSets)) : '**none**: no subset of the candidates works'} |`,
    ),
  ];
}

/** A form of a set: where its run was ok, and each kernel where it failed with its cell. */
function formItems(set: SetAcross): string[] {
  return set.forms
    .filter((f) => f.form !== 'setcap')
    .flatMap((f) => [
      `  - ${f.form} (as ${markdownSpan(f.checkedAs)}): ${f.ok.length ? `ok on ${rangesText(f.ok)}` : 'fails on every kernel'}`,
      ...f.failing.map(
        (x) =>
          `    - fails on ${markdownSpan(x.kernel)}: ${markdownSpan(`${x.outcome} ${x.detail}`.trim())} (cell ${markdownSpan(x.cell)})`,
      ),
    ]);
}

function setItems(a: MinimizeAcross, s: SearchAcross): string[] {
  const first = a.perKernel[0];
  const line = (caps: string[]) =>
    first?.dimension === 'delegation' ? delegation(caps) : setcap(caps, first?.sample ?? '');
  return s.sets.flatMap((set) => [`- ${markdownSpan(line(set.caps))} on ${rangesText(set.ranges)}`, ...formItems(set)]);
}

const key = (caps: string[]) => [...caps].sort().join('+');

/** From each range to the next: the sets that became minimal and those that no longer are. */
export function movedLines(answers: RangeAnswer[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < answers.length; i++) {
    const [before, after] = [answers[i - 1], answers[i]];
    if (!before || !after) continue;
    const had = new Set(before.minimalSets.map(key));
    const has = new Set(after.minimalSets.map(key));
    const gained = after.minimalSets.filter((c) => !had.has(key(c)));
    const lost = before.minimalSets.filter((c) => !has.has(key(c)));
    const parts = [
      ...(gained.length ? [`${setsText(gained)} minimal`] : []),
      ...(lost.length ? [`${setsText(lost)} no longer minimal`] : []),
    ];
    out.push(`- ${before.range} → ${after.range}: ${parts.join('; ') || 'a kernel between gave no answer'}`);
  }
  return out;
}

export function renderMinimizeMarkdown(a: MinimizeAcross): string {
  const [asked] = a.searches;
  const first = a.perKernel[0];
  const out = [`## capmatrix minimize: ${markdownSpan(asked?.scenario ?? '?')}`, ''];
  out.push(
    `${a.order.length} kernel(s): ${a.perKernel.map((r) => `${markdownSpan(r.kernel.id)} (${markdownSpan(r.kernel.release)})`).join(', ') || 'none answered'}.`,
  );
  if (first?.object) out.push(`Object: ${markdownSpan(first.object)}.`);
  if (first?.exec) out.push(`Loader: ${markdownSpan(first.exec.join(' '))}.`);
  if (first) out.push(`Candidates: ${markdownSpan(first.universe.join(' '))}.`);
  if (asked) {
    out.push('', '### Minimal sets by kernel range', '', ...answerRows(asked));
    out.push(
      '',
      '### Each minimal set, and where it is minimal',
      '',
      ...(setItems(a, asked).length ? setItems(a, asked) : ['- none']),
    );
    const moved = movedLines(asked.answers);
    if (moved.length) out.push('', '### What moves between kernels', '', ...moved);
  }
  if (a.failed.length) {
    out.push('', '### Kernels without an answer', '');
    for (const f of a.failed) out.push(`- ${markdownSpan(f.kernel)}: ${markdownSpan(f.error)}`);
  }
  out.push('', `Details: ${markdownSpan(`${a.runDir}/minimize.json`)}.`);
  return `${out.join('\n')}\n`;
}
