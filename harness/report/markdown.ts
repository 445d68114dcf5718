// report.md: fits $GITHUB_STEP_SUMMARY. Summary, per-kernel grids, mismatches, cross-kernel changes,
// and last, when cells mismatched, the line that records them as learned rules.

import { formatOutcome } from '../dsl/vocabulary.js';
import type { CellResult } from '../outcome/verdict.js';
import { cellLabel, verdictCounts } from './cell-label.js';
import { crossKernelDiffs, markedOutcome } from './cross-kernel.js';
import { findingLines, groupFindings } from './findings.js';
import { grantDiffs } from './grant-diffs.js';
import { gridLayout } from './grid-layout.js';
import { kernelChecksLine } from './kernel-checks.js';
import { learnHintMarkdown } from './learn-hint.js';
import { ruleFindings } from './reason-checks.js';
import type { RunResults } from './results-json.js';
import { markdownCell, markdownSpan } from './untrusted-text.js';

/** " Kernel: the kernel denied …" for a cell whose checks were recorded. */
function checksSuffix(c: CellResult): string {
  const line = kernelChecksLine(c);
  return line ? ` Kernel: ${markdownSpan(line)}.` : '';
}

const mark = { match: '', mismatch: ' ❌', flaky: ' 🔀', 'infra-error': ' ⚠️' } as const;

function cellText(c: CellResult): string {
  return `${cellLabel(c)}${mark[c.verdict]}`;
}

function grid(cells: CellResult[]): string[] {
  const { rows, cols, at } = gridLayout(cells);
  const lines = [`| caps | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const tds = cols.map((k) => {
      const c = at(r, k);
      return c ? cellText(c) : '';
    });
    lines.push(`| ${r} | ${tds.join(' | ')} |`);
  }
  return lines;
}

/** A long message (a verifier log) cut to its first and last lines. */
const firstLines = (text: string) => {
  const lines = text.split('\n').filter(Boolean);
  return lines.length > 3 ? `${lines[0]} … ${lines.at(-1)}` : lines.join(' ');
};

export function renderMarkdown(run: RunResults): string {
  const out = [
    `## capmatrix run ${run.runId}`,
    '',
    `${run.cells.length} cells on ${run.kernels.length} kernel(s): **${verdictCounts(run.cells)}**.${run.interrupted ? ` Interrupted (${run.interrupted}); ${run.pendingCells ?? '?'} cell(s) not finished: \`capmatrix matrix --resume ${run.runId}\`.` : ''}`,
    '',
    '| kernel | release | accel | cells | match | paranoid (boot) | unprivileged_bpf_disabled (boot) | tracefs |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const k of run.kernels) {
    const cells = run.cells.filter((c) => c.kernel === k.id);
    const g = run.provenance.boots.find((b) => b.kernel === k.id)?.guest ?? {};
    out.push(
      `| ${k.id} | ${k.release} | ${k.accel} | ${cells.length} | ${cells.filter((c) => c.verdict === 'match').length} | ${g.sysctls?.['kernel.perf_event_paranoid'] ?? '?'} | ${g.sysctls?.['kernel.unprivileged_bpf_disabled'] ?? '?'} | ${markdownCell(g.tracefs?.mode ?? '?')} |`,
    );
  }
  const unrecorded = run.provenance.boots.filter((b) => b.recorderOff);
  if (unrecorded.length) {
    out.push('', "### Boots without the kernel's checks", '');
    for (const b of unrecorded)
      out.push(
        `- ${markdownSpan(b.boot)}: the capability recorder did not run, so its cells say nothing of what the kernel asked (${markdownSpan(firstLines(b.recorderOff ?? ''))}).`,
      );
  }
  const bad = run.cells.filter((c) => c.verdict !== 'match');
  if (bad.length) {
    out.push('', '### Not matching', '');
    for (const c of bad) {
      out.push(
        `- **${c.verdict}** ${markdownSpan(c.kernel)} ${markdownSpan(c.id)}: observed ${c.observed ? formatOutcome(c.observed) : '-'}, expected ${formatOutcome(c.expected)}. ${markdownSpan(c.infraError ?? c.observed?.detail ?? '')}${checksSuffix(c)}`,
      );
    }
  }
  const rules = ruleFindings(run.cells);
  if (rules.length) {
    out.push('', '### Rules whose reason names other capabilities than the kernel denied', '');
    for (const f of rules)
      out.push(
        `- ${markdownSpan(f.kernel)} ${markdownSpan(f.scenario)} (${f.cells.length} cell${f.cells.length === 1 ? '' : 's'}, e.g. ${markdownSpan(f.cells[0] ?? '')}): the rule ${markdownSpan(f.why)}. Its reason: ${markdownSpan(f.reason)}`,
      );
  }
  const grants = grantDiffs(run.cells);
  if (grants.pairs) {
    out.push('', '### File capabilities and other grants', '');
    if (!grants.diffs.length)
      out.push(
        `The same answer granted either way in all ${grants.pairs} pairs of cells (a set as file capabilities on the binary, or granted another way: ambient capabilities of the uid as systemd's \`AmbientCapabilities=\`, a unit's, a container's or a pod's).`,
      );
    for (const d of grants.diffs)
      out.push(
        `- ${markdownSpan(d.kernel)} ${markdownSpan(d.file.id)}: ${formatOutcome(d.file.observed ?? d.file.expected)} with file capabilities, ${formatOutcome(d.other.observed ?? d.other.expected)} ${d.other.grant === 'ambient' ? 'with ambient ones' : `granted as ${d.other.grant}`} (${markdownSpan(d.other.id)}).`,
      );
  }
  const diffs = crossKernelDiffs(run);
  if (diffs.length) {
    const { findings } = groupFindings(diffs);
    out.push('', '### What changes between kernels', '', ...findingLines(findings, 4, markdownSpan), '');
    out.push('Kernels in version order; **bold**: the outcome changed from the kernel to its left.', '');
    out.push(`| cell | ${diffs[0]?.outcomes.map((o) => o.kernel).join(' | ')} | first change | provenance |`);
    out.push(`|---|${diffs[0]?.outcomes.map(() => '---').join('|')}|---|---|`);
    for (const d of diffs) {
      out.push(
        `| ${markdownCell(d.id)} | ${d.outcomes.map(markedOutcome).join(' | ')} | ${d.firstChange} | ${d.provenanceNotes.map((n) => markdownCell(n)).join('; ') || 'same'} |`,
      );
    }
  }
  for (const k of run.kernels) {
    out.push('', `<details><summary>${k.id} (${k.release}) grids</summary>`, '');
    const cells = run.cells.filter((c) => c.kernel === k.id);
    for (const scenario of [...new Set(cells.map((c) => c.scenario))]) {
      out.push(`#### ${scenario}`, '', ...grid(cells.filter((c) => c.scenario === scenario)), '');
    }
    out.push('</details>');
  }
  out.push(...learnHintMarkdown(run));
  return `${out.join('\n')}\n`;
}
