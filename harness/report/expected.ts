// `capmatrix expected`: the fully expanded expected matrix, readable without running anything.
// Per scenario a grid of expected outcomes, each cell tagged with the rule that produced it,
// followed by the rules' reasons.
import { type Cell, expectationFor, matchingRuleIndex, sysctlLabel } from '../dsl/expand.js';
import type { LoadedScenario } from '../dsl/load.js';
import { formatOutcome } from '../dsl/vocabulary.js';

export function renderExpected(scenarios: LoadedScenario[], kernelVersion: string): string {
  const out: string[] = [
    `Expected outcomes on kernel ${kernelVersion} ([n] = rule n of the scenario, first match wins)`,
    '',
  ];
  for (const { scenario, cells, file } of scenarios) {
    out.push(
      `${scenario.name}  (${file}; sample ${scenario.sample}${scenario.args?.length ? ` ${scenario.args.join(' ')}` : ''})`,
    );
    if (scenario.description) out.push(`  ${scenario.description}`);
    const rows = [...new Set(cells.map((c) => c.capsName))];
    const cols = [...new Set(cells.map((c) => sysctlLabel(c.sysctl) || 'default'))];
    const text = (c: Cell) =>
      `${formatOutcome(expectationFor(c, kernelVersion))} [${matchingRuleIndex(c, kernelVersion)}]`;
    const at = (r: string, k: string) =>
      cells.find((c) => c.capsName === r && (sysctlLabel(c.sysctl) || 'default') === k);
    const w0 = Math.max(8, ...rows.map((r) => r.length));
    const widths = cols.map((k) =>
      Math.max(
        k.length,
        ...rows.map((r) => {
          const c = at(r, k);
          return c ? text(c).length : 1;
        }),
      ),
    );
    out.push(`  ${'caps'.padEnd(w0)}  ${cols.map((k, i) => k.padEnd(widths[i] ?? 0)).join('  ')}`);
    for (const r of rows) {
      const line = cols.map((k, i) => {
        const c = at(r, k);
        return (c ? text(c) : '-').padEnd(widths[i] ?? 0);
      });
      out.push(`  ${r.padEnd(w0)}  ${line.join('  ')}`.trimEnd());
    }
    scenario.expect.forEach((rule, i) => {
      const gate = [rule.since && `since ${rule.since}`, rule.until && `until ${rule.until}`]
        .filter(Boolean)
        .join(', ');
      out.push(`  [${i}] ${rule.outcome}${gate ? ` (${gate})` : ''}: ${rule.reason}`);
    });
    out.push('');
  }
  return out.join('\n');
}
