// Loads scenarios/*.ts, validates each one and expands it into cells; nothing boots before this passes.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BPF_SRC_DIR, BUILTIN_SCENARIOS } from '../paths.js';
import { type Cell, expandScenario } from './expand.js';
import { readLearned } from './learned.js';
import type { Scenario } from './scenario.js';
import { ScenarioError } from './scenario-error.js';
import { closest } from './suggest.js';
import { validateScenario } from './validate.js';

/** One scenario of a file (a file may hold several). */
export interface LoadedScenario {
  file: string;
  scenario: Scenario;
  cells: Cell[];
}

/** `--scenario-dir`, else the project's scenarios/, else (a project without one) capmatrix's own. */
export function scenarioDirOf(projectDir: string, scenarioDir?: string): string {
  if (scenarioDir) return path.resolve(projectDir, scenarioDir);
  const own = path.join(projectDir, 'scenarios');
  return existsSync(own) ? own : BUILTIN_SCENARIOS;
}

export async function loadScenarioFile(file: string, projectDir: string): Promise<LoadedScenario[]> {
  const rel = path.relative(projectDir, file);
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (e) {
    throw new ScenarioError(rel, [`cannot load: ${(e as Error).message}`]);
  }
  if (mod.default === undefined)
    throw new ScenarioError(rel, ['no default export (export default defineScenario({...}))']);
  const list = Array.isArray(mod.default) ? mod.default : [mod.default];
  return list.map((item: unknown, i: number) => {
    const where = Array.isArray(mod.default) ? `${rel} [${i}]` : rel;
    // a copy: the module's own object is cached and must not collect learned rules twice
    const data: Record<string, unknown> = {
      ...(Array.isArray(mod.default) ? {} : { name: path.basename(file, '.ts') }),
      ...(item as object),
    };
    // learn mode's rules (learned/<name>.json beside the file) go first
    const learned = typeof data.name === 'string' ? readLearned(path.dirname(file), data.name) : [];
    if (learned.length && Array.isArray(data.expect)) data.expect = [...learned, ...data.expect];
    const scenario = validateScenario(data, where, BPF_SRC_DIR, projectDir);
    return { file: where, scenario, cells: expandScenario(scenario, where) };
  });
}

/** All scenarios (of scenarios/ or `scenarioDir`), or those named in `only`; unknown names and
 * name clashes are errors. */
export async function loadScenarios(
  projectDir: string,
  only?: string[],
  scenarioDir?: string,
): Promise<LoadedScenario[]> {
  const dir = scenarioDirOf(projectDir, scenarioDir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ScenarioError('--scenario-dir', [`"${scenarioDir}" is not a directory of scenario files (*.ts)`]);
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const loaded: LoadedScenario[] = [];
  for (const f of files) loaded.push(...(await loadScenarioFile(path.join(dir, f), projectDir)));
  const byName = new Map<string, string>();
  for (const l of loaded) {
    const other = byName.get(l.scenario.name);
    if (other) throw new ScenarioError(l.file, [`name: "${l.scenario.name}" is also the name of ${other}`]);
    byName.set(l.scenario.name, l.file);
  }
  for (const l of loaded) {
    const to = l.scenario.alternativeTo;
    if (to !== undefined && !byName.has(to)) {
      const hint = closest(to, [...byName.keys()]);
      throw new ScenarioError(l.file, [
        `alternativeTo: unknown scenario "${to}"${hint ? ` (did you mean ${hint}?)` : ''}`,
      ]);
    }
  }
  if (!only) return loaded;
  checkScenarioNames(only, loaded);
  return loaded.filter((l) => only.includes(l.scenario.name));
}

/** Throws the usual --scenario error for a path or an unknown name among the loaded scenarios. */
export function checkScenarioNames(names: string[], loaded: LoadedScenario[]): void {
  const known = loaded.map((l) => l.scenario.name);
  for (const name of names) {
    if (name.includes('/') || name.endsWith('.ts')) {
      throw new ScenarioError('--scenario', [
        `"${name}" is a path; --scenario takes scenario names (known: ${known.join(', ')}); for another directory use --scenario-dir`,
      ]);
    }
    if (!known.includes(name)) {
      const hint = closest(name, known);
      throw new ScenarioError('--scenario', [
        `unknown scenario "${name}" (${hint ? `did you mean ${hint}? ` : ''}known: ${known.join(', ')})`,
      ]);
    }
  }
}
