// report.html's cross-kernel view: the findings, then one row per changed cell (scenario, caps,
// sysctl), one column per kernel in version order, each outcome coloured like the heatmap and
// every change marked where it happens (the kernel it changed on, from what).
import { crossKernelDiffs, type KernelDiff, kernelOrder } from './cross-kernel.js';
import { findingLines, groupFindings } from './findings.js';
import { esc } from './html-escape.js';
import type { RunResults } from './results-json.js';

/** The heatmap's colour class for an outcome written as text ("ok", "EPERM@prog_load", "INFRA"). */
export function outcomeTextClass(outcome: string): string {
  if (outcome === 'ok') return 'o-ok';
  if (outcome === 'INFRA' || outcome === '-') return 'o-infra';
  const errno = outcome.split('@')[0];
  if (errno === 'EPERM' || errno === 'EACCES' || errno === 'EINVAL') return `o-${errno.toLowerCase()}`;
  return 'o-other';
}

function rowHtml(d: KernelDiff): string {
  const tds = d.outcomes.map((o, i) => {
    const prev = d.outcomes[i - 1];
    const mark = o.changed && prev ? ` changed" title="changed on ${esc(o.kernel)}, from ${esc(prev.outcome)}` : '';
    return `<td class="xk ${outcomeTextClass(o.outcome)}${mark}" data-kernel="${esc(o.kernel)}">${esc(o.outcome)}</td>`;
  });
  const notes = esc(d.provenanceNotes.join('; ') || 'same');
  return `<tr data-cell="${esc(d.id)}"><th><code>${esc(d.id)}</code></th>${tds.join('')}<td>${esc(d.firstChange)}</td><td>${notes}</td></tr>`;
}

export function crossKernelHtml(run: RunResults): string {
  const diffs = crossKernelDiffs(run);
  if (!diffs.length) return '';
  const { findings } = groupFindings(diffs);
  const head = kernelOrder(run)
    .map((k) => `<th title="${esc(k.release)}">${esc(k.id)}<br><small>${esc(k.release)}</small></th>`)
    .join('');
  return [
    `<h2 id="cross-kernel">What changes between kernels</h2><p>${findings.length} finding(s) from ${diffs.length} changed cell(s); kernels in version order; a marked cell is where the outcome changed from the kernel to its left.</p>`,
    `<ol class="findings">${findingLines(findings, 8)
      .map((l) => `<li>${esc(l.replace(/^\d+\. /, ''))}</li>`)
      .join('')}</ol>`,
    `<table class="xkernel"><tr><th>cell</th>${head}<th>first change</th><th>provenance that differs there</th></tr>`,
    ...diffs.map(rowHtml),
    '</table>',
  ].join('\n');
}
