// report.html: a self-contained heatmap (no external assets). Per kernel and scenario, capability
// sets × sysctls, coloured by outcome; mismatches outlined; each cell expands to expected vs
// observed, stage, errno, detail (verifier lines), stderr, console excerpt and boot provenance.

import { formatOutcome } from '../dsl/vocabulary.js';
import { type CellResult, countVerdicts } from '../outcome/verdict.js';
import { cellLabel } from './cell-label.js';
import { kernelOrder } from './cross-kernel.js';
import { crossKernelHtml, outcomeTextClass } from './cross-kernel-html.js';
import { gridLayout } from './grid-layout.js';
import { esc } from './html-escape.js';
import { checkLines, kernelChecksLine } from './kernel-checks.js';
import type { RunResults } from './results-json.js';
import { htmlText } from './untrusted-text.js';

/** Colour class by outcome family, so the same failure looks the same everywhere. */
export function outcomeClass(c: CellResult): string {
  return c.observed ? outcomeTextClass(c.observed.outcome) : 'o-infra';
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1em;margin:1.2em 0 .3em}
table.grid{border-collapse:separate;border-spacing:3px}
table.grid th{font-weight:600;text-align:left;padding:2px 6px;white-space:nowrap}
td.cell{padding:0;min-width:9em;vertical-align:top;border:3px solid transparent;border-radius:4px}
td.cell.mismatch{border-color:#d00;box-shadow:0 0 0 2px #fff inset}
td.cell.infra-error{border-color:#e80;border-style:dashed}
td.cell.flaky{border-color:#a0a;border-style:dotted}
td.cell summary{cursor:pointer;padding:3px 6px;list-style:none;font-family:ui-monospace,monospace;font-size:12px}
td.cell details[open]{position:relative;z-index:2}
td.cell .more{background:#fff;border:1px solid #999;padding:6px;font-size:12px;max-width:42em;position:absolute;box-shadow:2px 2px 8px #0004}
.more dt{font-weight:600}.more dd{margin:0 0 4px 0}.more pre{white-space:pre-wrap;max-height:14em;overflow:auto;background:#f6f6f6;margin:0;padding:4px}
.o-ok{background:#bfe8c0}.o-eperm{background:#f6b9b4}.o-eacces{background:#f9d49b}.o-einval{background:#d9c3f0}.o-other{background:#dfe3e8}.o-infra{background:#fff;color:#b60}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:3px;font-size:12px}
.summary td,.summary th{padding:2px 10px;text-align:left}
table.xkernel{border-collapse:separate;border-spacing:2px;font-size:12px}
table.xkernel th{text-align:left;padding:2px 6px;font-weight:600}
td.xk{font-family:ui-monospace,monospace;padding:2px 6px;border:3px solid transparent;border-radius:3px;white-space:nowrap}
td.xk.changed{border-left:6px solid #036;font-weight:700}
ol.findings li{margin-bottom:3px}
`;

function cellDetails(c: CellResult, run: RunResults): string {
  const boot = run.provenance.boots.find((b) => b.boot === c.boot);
  const g = boot?.guest ?? {};
  const prov = `${g.release ?? '?'}; boot sysctls ${JSON.stringify(g.sysctls ?? {})}; tracefs ${g.tracefs?.mode ?? '?'}; bpffs ${g.bpffs?.fs ?? 'not mounted'}; clocksource ${g.clocksource ?? '?'}`;
  const rows: [string, string][] = [
    ['expected', `${formatOutcome(c.expected)} (${c.expected.reason})`],
    [
      'observed',
      c.observed
        ? `${formatOutcome(c.observed)} (errno ${c.observed.errno ?? '-'}, stage ${c.observed.stage})`
        : `nothing: infra error (${c.infraKind ?? '?'})`,
    ],
    ...(c.attempts
      ? [['attempts', c.attempts.map((a) => `${a.boot} #${a.rep}: ${a.outcome}`).join('; ')] as [string, string]]
      : []),
    ['CapEff (read from /proc/<pid>/status)', c.capEff ?? '-'],
    ["capability checks (the kernel's)", kernelChecksLine(c) ?? 'not recorded'],
    ['caps / uid', `${Array.isArray(c.caps) ? c.caps.join(', ') || 'none' : 'root'} / ${c.uid} (${c.context})`],
    ['sysctls', JSON.stringify(c.effectiveSysctl ?? c.sysctl)],
    ['time', `${c.durationMs} ms (harness ${c.overheadMs ?? '-'} ms, sample ${c.execMs ?? '-'} ms)`],
  ];
  const pre: [string, string | undefined][] = [
    ['detail', c.infraError ?? c.observed?.detail],
    ['data', c.observed?.data ? JSON.stringify(c.observed.data) : undefined],
    ['stderr', c.stderrTail],
    ['every capability check', c.capChecks?.length ? checkLines(c.capChecks) : undefined],
    ['console / provenance', `${prov}\nconsole log: ${boot?.consoleLog ?? '?'}`],
  ];
  // the values carry what the guest reported (CapEff, detail, stderr, provenance): capped, escaped
  return `<div class="more"><dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${htmlText(v)}</dd>`).join('')}${pre
    .filter((kv): kv is [string, string] => Boolean(kv[1]))
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd><pre>${htmlText(v)}</pre></dd>`)
    .join('')}</dl></div>`;
}

function gridHtml(cells: CellResult[], run: RunResults): string {
  const { rows, cols, at } = gridLayout(cells);
  const head = `<tr><th>caps</th>${cols.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => {
    const tds = cols.map((k) => {
      const c = at(r, k);
      if (!c) return '<td></td>';
      const cls = `cell ${outcomeClass(c)} ${c.verdict}`;
      return `<td class="${cls}" data-cell="${esc(`${c.kernel}/${c.id}`)}" data-verdict="${c.verdict}"><details><summary>${esc(cellLabel(c))}</summary>${cellDetails(c, run)}</details></td>`;
    });
    return `<tr><th>${esc(r)}</th>${tds.join('')}</tr>`;
  });
  return `<table class="grid">${head}${body.join('')}</table>`;
}

export function renderHtml(run: RunResults): string {
  const n = countVerdicts(run.cells);
  const parts: string[] = [
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>capmatrix ${esc(run.runId)}</title><style>${CSS}</style></head><body>`,
    `<h1>capmatrix run ${esc(run.runId)}</h1>`,
    `<p>${run.cells.length} cells on ${run.kernels.length} kernel(s): <b>${n.match}</b> match, <b id="mismatches">${n.mismatch}</b> mismatch, <b>${n.flaky}</b> flaky, <b>${n['infra-error']}</b> infra-error.${run.interrupted ? ` <b>Interrupted</b> (${esc(run.interrupted)}): ${run.pendingCells ?? '?'} cell(s) not finished.` : ''} Click a cell for expected vs observed, the verifier's last lines and provenance.</p>`,
    '<p class="legend"><span class="o-ok">ok</span><span class="o-eperm">EPERM</span><span class="o-eacces">EACCES</span><span class="o-einval">EINVAL</span><span class="o-other">other errno</span><span class="o-infra" style="border:2px dashed #e80">infra error</span><span style="border:3px solid #d00">mismatch</span><span style="border:3px dotted #a0a">flaky</span></p>',
    '<table class="summary"><tr><th>kernel</th><th>release</th><th>accel</th><th>cells</th><th>match</th></tr>',
    ...run.kernels.map((k) => {
      const cs = run.cells.filter((c) => c.kernel === k.id);
      return `<tr><td>${esc(k.id)}</td><td>${esc(k.release)}</td><td>${esc(k.accel)}</td><td>${cs.length}</td><td>${cs.filter((c) => c.verdict === 'match').length}</td></tr>`;
    }),
    '</table>',
  ];
  parts.push(crossKernelHtml(run));
  for (const k of kernelOrder(run)) {
    parts.push(`<h2 id="${esc(k.id)}">${esc(k.id)} <small>${esc(k.release)}, ${esc(k.accel)}</small></h2>`);
    const cells = run.cells.filter((c) => c.kernel === k.id);
    for (const scenario of [...new Set(cells.map((c) => c.scenario))]) {
      const cs = cells.filter((c) => c.scenario === scenario);
      parts.push(`<h3>${esc(scenario)} <small>(${esc(cs[0]?.context ?? '')})</small></h3>`, gridHtml(cs, run));
    }
  }
  parts.push('</body></html>');
  return `${parts.join('\n')}\n`;
}
