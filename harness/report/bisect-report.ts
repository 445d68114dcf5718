// What `capmatrix bisect` found, as Markdown (printed, and bisect.md beside bisect.json): for a
// bug report, the first build that changed and the changelog lines that probably did it.
import type { BisectResult, TestedBuild } from '../run/bisect.js';
import { markdownSpan } from './untrusted-text.js';

/** Changelog lines shown in full; the rest are counted (all are in bisect.json). */
const SHOWN = 25;

const build = (b: TestedBuild) => `${b.version} (${b.suite}${b.release ? `, ${b.release}` : ''})`;

export function renderBisect(r: BisectResult): string {
  const out = [`# bisect ${r.cell} — series ${r.series}`, ''];
  out.push(`Builds the archive carries in ${r.suites.join(', ')}, oldest first: ${r.range.join(', ')}.`, '');
  out.push('| build | suite | observed | expected |', '|---|---|---|---|');
  for (const t of r.tested)
    out.push(`| ${t.version} | ${t.suite} | ${t.outcome ?? 'infra error (skipped)'} | ${t.expected ?? '?'} |`);
  out.push('');
  if (!r.firstBad || !r.lastGood) {
    const [a, b] = [r.tested[0], r.tested.at(-1)];
    out.push(`**No change** inside the range: ${a?.version} and ${b?.version} both give ${a?.outcome}.`);
    return `${out.join('\n')}\n`;
  }
  out.push(
    `**First build that changed: ${build(r.firstBad)}**: ${r.lastGood.outcome} → ${r.firstBad.outcome}; last good: ${build(r.lastGood)}.`,
  );
  if (r.skipped.length) out.push(`Skipped (infra errors): ${r.skipped.join(', ')}.`);
  out.push(
    '',
    r.provenanceNotes.length
      ? `Provenance that differs too: ${r.provenanceNotes.map((n) => markdownSpan(n)).join('; ')}.`
      : 'Provenance (sysctl defaults, tracefs, bpffs, lockdown, accel) is the same on both.',
  );
  if (!r.changelog) {
    out.push('', `No changelog found in ${r.firstBad.kernel}'s packages.`);
    return `${out.join('\n')}\n`;
  }
  const { uploads, lines } = r.changelog;
  out.push(
    '',
    `## Debian changelog between them`,
    '',
    `${uploads.length} upload(s): ${uploads.join(', ')}. ${lines.length} line(s) touch bpf, perf, capabilities, tracing or namespaces; those naming the cell's own words first:`,
    '',
  );
  for (const l of lines.slice(0, SHOWN))
    out.push(`- ${l.version}: ${l.text}${l.score > 1 ? ` (names ${l.score} of the cell's words)` : ''}`);
  if (lines.length > SHOWN) out.push(`- … ${lines.length - SHOWN} more in bisect.json`);
  return `${out.join('\n')}\n`;
}
