// The atlas page (index.html): the whole model as plain HTML a reader can use without the script
// (every feature, every cell with its reason, every kernel's provenance); atlas.js only filters
// rows and opens a cell's panel. Every text from a run is escaped, untrusted ones capped.
import { esc as escapeHtml } from '../report/html-escape.js';
import { capped, visibleControls } from '../report/untrusted-text.js';
import type { AtlasCell, AtlasFinding, AtlasKernel, AtlasModel, AtlasRow, AtlasSummary } from './atlas-model.js';
import { cellHash, type NoteKind, PAGE } from './page-contract.js';

/** Any text of a run in HTML: escaped, and control and bidi characters made visible (a reason,
 * an id, a release come from files a user or a program wrote). */
const esc = (text: unknown) => escapeHtml(visibleControls(String(text ?? '')));

/** What a cell's panel shows of the program's own words (the full text is in results.json). */
const DETAIL_MAX = 400;

const outcomeClass = (outcome: string) =>
  `o-${
    outcome
      .split('@')[0]
      ?.toLowerCase()
      .replace(/[^a-z0-9]/g, '') ?? ''
  }`;

function summaryCell(s: AtlasSummary): string {
  const marks = s.findings
    .map((n) => ` <a class="marker" href="#finding-${n}" title="finding ${n}">▲${n}</a>`)
    .join('');
  const title = s.changedFrom ? ` title="changed on ${esc(s.kernel)}, from ${esc(s.changedFrom)}"` : '';
  const unsure = s.unsure
    ? ` <span class="unsure" title="${s.unsure} cell(s) here did not match their expectation">⚠${s.unsure}</span>`
    : '';
  const cls = ['k', s.ok ? 'ok' : 'refused', s.changedFrom ? PAGE.changed : ''].filter(Boolean).join(' ');
  return `<td class="${cls}" data-kernel="${esc(s.kernel)}"${title}>${esc(s.text)}${marks}${unsure}</td>`;
}

function searchWords(r: AtlasRow): string {
  return [r.scenario, r.settings, r.kind, r.sample, r.context, r.description, ...r.tags, ...r.sets]
    .join(' ')
    .toLowerCase();
}

function featureRow(r: AtlasRow): string {
  const cells = r.summaries.map(summaryCell).join('');
  return `<tr class="${PAGE.row}" data-kind="${esc(r.kind)}" data-search="${esc(searchWords(r))}"><th scope="row"><span class="name">${esc(r.scenario)}</span> <span class="kind">${esc(r.kind)}</span></th><td class="settings">${esc(r.settings)}</td>${cells}</tr>`;
}

/** Texts a feature's cells share (reasons, the kernel's denials, what programs said), each
 * once: a cell points at its entries by number. */
class Notes {
  readonly texts: string[] = [];
  numberOf(text: string): number {
    const i = this.texts.indexOf(text);
    return i >= 0 ? i + 1 : this.texts.push(text);
  }
  list(cls: string, title: string): string {
    const items = this.texts.map((t, i) => `<li value="${i + 1}">${esc(t)}</li>`).join('');
    return this.texts.length ? `<p class="notes-title">${title}</p><ol class="${cls}">${items}</ol>` : '';
  }
}

function cellLink(c: AtlasCell, notes: Record<NoteKind, Notes>): string {
  const n = (kind: NoteKind, text: string) => (text ? notes[kind].numberOf(text) : 0);
  const reason = n('reasons', c.reason);
  const attrs = `data-reasons="${reason}" data-checks="${n('checks', c.checks)}" data-details="${n('details', capped(c.detail, DETAIL_MAX))}"`;
  const flag = c.verdict === 'match' ? '' : ` <span class="verdict">${esc(c.verdict)}</span>`;
  return `<a class="${PAGE.cell} ${outcomeClass(c.outcome)}" href="${esc(cellHash(c.kernel, c.id))}" ${attrs}>${esc(c.outcome)}<sup>${reason}</sup></a>${flag}`;
}

/** A feature's cells: a row per capability set, a column per kernel, the texts as notes. */
function cellsBlock(r: AtlasRow, kernels: AtlasKernel[]): string {
  const notes = { reasons: new Notes(), checks: new Notes(), details: new Notes() };
  const body = r.sets.map((set) => {
    const tds = kernels.map((k) => {
      const c = r.cells.find((x) => x.kernel === k.id && x.set === set);
      return `<td>${c ? cellLink(c, notes) : '–'}</td>`;
    });
    return `<tr><th scope="row">${esc(set)}</th>${tds.join('')}</tr>`;
  });
  return [
    `<details><summary>${r.cells.length} cells of ${esc(r.scenario)} · ${esc(r.settings)}</summary>`,
    r.description ? `<p class="desc">${esc(r.description)}</p>` : '',
    `<table class="cells"><thead><tr><th>set</th>${kernels.map((k) => `<th>${esc(k.id)}</th>`).join('')}</tr></thead>`,
    `<tbody>${body.join('')}</tbody></table>`,
    notes.reasons.list('reasons', 'Why (the rule that predicted each outcome):'),
    notes.checks.list('checks', 'What the kernel checked:'),
    notes.details.list('details', 'What the program said:'),
    '</details>',
  ].join('');
}

function featuresSection(m: AtlasModel): string {
  const kinds = [...new Set(m.rows.map((r) => r.kind))].sort();
  const head = m.kernels
    .map((k) => `<th><a href="#kernel-${esc(k.id)}">${esc(k.id)}</a><small>${esc(k.release)}</small></th>`)
    .join('');
  const rows = m.rows
    .map(
      (r) =>
        `${featureRow(r)}<tr class="${PAGE.detail}"><td colspan="${m.kernels.length + 2}">${cellsBlock(r, m.kernels)}</td></tr>`,
    )
    .join('\n');
  return `<section id="features"><h2>Least privilege, by feature and kernel</h2>
<div class="controls"><input id="${PAGE.search}" type="search" placeholder="Search: XDP, ringbuf, bpf_probe_write_user, token, container, ubd=0" aria-label="search the features"> <select id="${PAGE.kind}" aria-label="kind"><option value="">every kind</option>${kinds.map((k) => `<option>${esc(k)}</option>`).join('')}</select> <span id="${PAGE.count}">${m.rows.length} features</span></div>
<p>Each column holds the smallest capability sets (file capabilities of an unprivileged uid) that were <em>ok</em> on that kernel under that setting: <em>unprivileged</em> needs none, <em>root only</em> means no smaller set tried was enough (<em>the only set tried</em>: a token's root parent, say), a container variant's sets are what <code>--cap-add</code> adds to the runtime's default, <em>none ok</em> gives what even the largest set got, and <em>?</em> that some cells here were flaky or infra errors and were left out. A shaded column changed from the kernel to its left; ▲ links the finding; ⚠ counts cells that did not match their expectation (a run given to <code>capmatrix atlas --results</code> may have them). Open a feature for every cell, its errno@stage and the reason; a cell's link shows the command that runs it again.</p>
<div class="scroll"><table id="${PAGE.table}"><thead><tr><th>feature</th><th>setting</th>${head}</tr></thead><tbody>
${rows}
</tbody></table></div></section>`;
}

function findingItem(f: AtlasFinding): string {
  const notes = f.provenanceNotes.length
    ? `<br><small>provenance differs: ${f.provenanceNotes.map((n) => esc(n)).join('; ')}</small>`
    : '';
  return `<li id="finding-${f.n}" value="${f.n}"><b>${esc(f.family)}</b>: ${esc(f.before)} → <b>${esc(f.after)}</b> from ${esc(f.firstChange)} (${f.cells.length} cell(s): ${f.cells.map((c) => `<code>${esc(c)}</code>`).join(', ')})${notes}</li>`;
}

function findingsSection(m: AtlasModel): string {
  return `<section id="changes"><h2>Where it changed: ${m.findings.length} findings</h2>
<p>One change of outcome in one scenario family at the first kernel that shows it, as <code>capmatrix report --kernel-report</code> finds them (docs/kernel-report.md).</p>
<ol class="findings">${m.findings.map(findingItem).join('\n')}</ol></section>`;
}

function kernelItem(k: AtlasKernel): string {
  const pkgs = k.packages
    .map((p) => `<li><code>${esc(p.name)}</code> ${esc(p.version)} <small>SHA256 ${esc(p.sha256)}</small></li>`)
    .join('');
  const pairs = (o: Record<string, unknown>) =>
    Object.entries(o)
      .map(([n, v]) => `<code>${esc(n)}=${esc(v ?? 'absent')}</code>`)
      .join(' ');
  const rows: [string, string][] = [
    ['release', esc(k.release)],
    ['packages', `${esc(k.provider)} ${esc(k.suite)}<ul>${pkgs}</ul>`],
    ['boot sysctls', pairs(k.bootSysctls)],
    ['config gates', pairs(k.config) || 'none recorded'],
    ['lockdown', esc(k.lockdown)],
    ['tracefs, bpffs', `${esc(k.tracefs)}; ${esc(k.bpffs)}`],
    ['accel', esc(k.accel)],
    ['cells', `${k.cells} (${k.matching} matching their expectation)`],
    [
      'from',
      k.source ? `${esc(k.source.file)}: run ${esc(k.source.runId)}, finished ${esc(k.source.finishedAt)}` : '?',
    ],
  ];
  return `<section class="kernel" id="kernel-${esc(k.id)}"><h3>${esc(k.id)}</h3><dl>${rows.map(([t, d]) => `<dt>${t}</dt><dd>${d}</dd>`).join('')}</dl></section>`;
}

const PANEL = `<aside id="${PAGE.panel}" hidden><button class="close" type="button" aria-label="close">×</button>
<h3 data-field="cell"></h3><p><b data-field="outcome"></b></p><p data-field="reasons"></p><p data-field="checks"></p><p class="detail" data-field="details"></p>
<p>Run it again:</p><pre><code data-field="command"></code></pre><button class="copy" type="button">copy</button></aside>`;

export function renderAtlas(m: AtlasModel): string {
  const cells = m.rows.reduce((n, r) => n + r.cells.length, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>capmatrix privilege atlas</title><link rel="stylesheet" href="atlas.css"><script src="atlas.js" defer></script></head>
<body><header><h1>Privilege atlas</h1>
<p>What each BPF feature needs, measured: ${cells} cells on ${m.kernels.length} kernels, each one run as an unprivileged uid with real file capabilities in a real kernel under QEMU by <a href="https://github.com/arighi/virtme-ng">virtme-ng</a>, and judged against the reason its scenario gives. Generated by <code>capmatrix atlas</code> from the committed baselines; nothing here was typed by hand.</p>
<nav><a href="#features">features</a> · <a href="#changes">where it changed</a> · <a href="#kernels">kernels</a></nav></header>
<main>${featuresSection(m)}
${findingsSection(m)}
<section id="kernels"><h2>Kernels</h2>${m.kernels.map(kernelItem).join('\n')}</section></main>
${PANEL}
</body></html>
`;
}
