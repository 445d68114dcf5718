// `capmatrix expected`: the fully expanded expected matrix, readable without running anything.
// Per scenario a grid of expected outcomes, each cell tagged with the rule that produced it,
// followed by the rules' reasons.
import { type Cell, expectationFor, type KernelConfig, matchingRuleIndex } from '../dsl/expand.js';
import type { LoadedScenario } from '../dsl/load.js';
import type { Scenario } from '../dsl/scenario.js';
import { formatOutcome } from '../dsl/vocabulary.js';
import { textTable } from './grid-layout.js';
import { ruleFindings } from './reason-checks.js';
import { rediff } from './rediff.js';
import type { RunResults } from './results-json.js';
import { terminalLine } from './untrusted-text.js';

/** The same as data: one entry per cell with its expectation and the rule behind it. */
/** What a scenario runs: a sample with its arguments, an object, or a loader. */
function runs(s: Scenario): string {
  if (s.object) return `object ${s.object}${s.programs ? `, programs ${s.programs.join(', ')}` : ''}`;
  if (s.exec) return `loader ${s.exec.join(' ')}`;
  return `sample ${s.sample}${s.args?.length ? ` ${s.args.join(' ')}` : ''}`;
}

export function expectedJson(scenarios: LoadedScenario[], kernelVersion: string, config?: KernelConfig) {
  return scenarios.flatMap(({ scenario, cells, file }) =>
    cells.map((c) => {
      const rule = matchingRuleIndex(c, kernelVersion, config);
      const e = expectationFor(c, kernelVersion, config);
      return {
        id: c.id,
        scenario: scenario.name,
        file,
        caps: c.caps,
        sysctl: c.sysctl,
        expected: formatOutcome(e),
        rule,
        reason: e.reason,
      };
    }),
  );
}

export function renderExpected(scenarios: LoadedScenario[], kernelVersion: string, config?: KernelConfig): string {
  const out: string[] = [
    `Expected outcomes on kernel ${kernelVersion}${config ? ' with its config' : ' (config unknown: no `requires` rule holds)'} ([n] = rule n of the scenario, first match wins)`,
    '',
  ];
  for (const { scenario, cells, file } of scenarios) {
    out.push(`${scenario.name}  (${file}; ${runs(scenario)})`);
    if (scenario.description) out.push(`  ${scenario.description}`);
    const text = (c: Cell) =>
      `${formatOutcome(expectationFor(c, kernelVersion, config))} [${matchingRuleIndex(c, kernelVersion, config)}]`;
    out.push(...textTable(cells, text).map((l) => l.trimEnd()));
    scenario.expect.forEach((rule, i) => {
      const requires = Object.entries(rule.requires?.config ?? {}).map(([k, v]) => `${k}=${[v].flat().join('|')}`);
      const gate = [rule.since && `since ${rule.since}`, rule.until && `until ${rule.until}`, ...requires]
        .filter(Boolean)
        .join(', ');
      out.push(`  [${i}] ${rule.outcome}${gate ? ` (${gate})` : ''}: ${rule.reason}`);
    });
    out.push('');
  }
  return out.join('\n');
}

/** `capmatrix expected --checks`: the rules as they are now (re-judged, rediff.ts) against a run's
 * checks, for the scenarios shown, as text. */
export function renderRuleFindings(run: RunResults, shown: LoadedScenario[]): string {
  const names = new Set(shown.map((l) => l.scenario.name));
  const now = rediff(run, shown).run;
  const found = ruleFindings(now.cells.filter((c) => names.has(c.scenario)));
  const head = `Rules against the kernel's own checks in run ${terminalLine(run.runId)}:`;
  if (!found.length) return `${head} every failing rule names a capability the kernel denied (or no check decided it).`;
  return [
    head,
    ...found.flatMap((f) => [
      `  ${terminalLine(f.kernel)} ${f.scenario} (${f.cells.length} cell${f.cells.length === 1 ? '' : 's'}): the rule ${terminalLine(f.why)}`,
      `    its reason: ${f.reason}`,
    ]),
  ].join('\n');
}
