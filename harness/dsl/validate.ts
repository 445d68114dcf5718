// Checks a scenario before any VM starts; every error names the file, the field and what is allowed.
// Every check of a scenario is here: its fields (the schema, scenario.ts), its program, names and
// outcomes, then what its cells show (expand.ts only expands a scenario that passed).

import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { GUEST_HELPERS, SAMPLES_BUILD_DIR } from '../paths.js';
import { type BpfProgram, readBpfObject } from './bpf-object.js';
import { CAPABILITIES, isCapability } from './capabilities.js';
import { type Cell, expandScenario, whenMatches } from './expand.js';
import { type ExpectRule, type Scenario, ScenarioSchema } from './scenario.js';
import { ScenarioError } from './scenario-error.js';
import { closest } from './suggest.js';
import { SYSCTL_NAMES, SYSCTLS, type SysctlName } from './sysctls.js';
import { parseExpectation } from './vocabulary.js';

function fieldPath(p: readonly PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`)).join('');
}

function checkCaps(caps: string[], at: string, problems: string[]): void {
  caps.forEach((c, i) => {
    if (isCapability(c)) return;
    const hint = closest(c, CAPABILITIES);
    problems.push(
      `${at}[${i}]: unknown capability "${c}" (${hint ? `did you mean ${hint}?` : `allowed: ${CAPABILITIES.join(', ')}`})`,
    );
  });
}

function checkSysctls(map: Record<string, number[]>, at: string, problems: string[]): void {
  for (const [name, values] of Object.entries(map)) {
    if (!(SYSCTL_NAMES as string[]).includes(name)) {
      const hint = closest(name, SYSCTL_NAMES);
      problems.push(
        `${at}: unknown sysctl "${name}" (${hint ? `did you mean ${hint}?` : `allowed: ${SYSCTL_NAMES.join(', ')}`})`,
      );
      continue;
    }
    const allowed: readonly number[] = SYSCTLS[name as SysctlName].values;
    values.forEach((v, i) => {
      if (!allowed.includes(v))
        problems.push(`${at}["${name}"][${i}]: bad value ${v} (allowed: ${allowed.join(', ')})`);
    });
  }
}

const OBJECT_ONLY = ['programs', 'loadOnly', 'socket', 'iface', 'uprobe', 'trigger'] as const;
/** `programs` and `loadOnly` names the object does not have, said with the ones it has. */
function unknownPrograms(s: Pick<Scenario, 'object' | 'programs' | 'loadOnly'>, programs: BpfProgram[]): string[] {
  const names = programs.map((p) => p.name);
  const has = names.length
    ? `its programs: ${names.join(', ')}`
    : 'it has no program (a function in a SEC() other than .text)';
  return (['programs', 'loadOnly'] as const).flatMap((field) =>
    (s[field] ?? [])
      .filter((n) => !names.includes(n))
      .map((n) => {
        const hint = closest(n, names);
        return `${field}: ${s.object} has no program "${n}" (${hint ? `did you mean ${hint}? ` : ''}${has})`;
      }),
  );
}

/** The loader's path: as given from the project directory, or found on PATH. */
function resolveLoader(cmd: string, projectDir: string): string | null {
  const candidates = cmd.includes('/')
    ? [path.resolve(projectDir, cmd)]
    : (process.env.PATH ?? '').split(':').map((d) => path.join(d, cmd));
  return (
    candidates.find((f) => {
      try {
        accessSync(f, constants.X_OK);
        return statSync(f).isFile();
      } catch {
        return false;
      }
    }) ?? null
  );
}

/** `sample`, `object` or `exec`: exactly one; paths resolved from the project directory. */
function checkProgram(
  s: Pick<Scenario, 'sample' | 'object' | 'exec' | 'okWhen' | 'args' | (typeof OBJECT_ONLY)[number]>,
  bpfSrcDir: string,
  projectDir: string,
  problems: string[],
): void {
  const kinds = (['sample', 'object', 'exec'] as const).filter((k) => s[k] !== undefined);
  if (kinds.length !== 1) {
    problems.push(
      `${kinds.length ? kinds.join(', ') : '(top level)'}: give exactly one of sample (a built-in program), object (your .bpf.o) or exec (your loader)`,
    );
    return;
  }
  for (const k of OBJECT_ONLY)
    if (s[k] !== undefined && !s.object) problems.push(`${k}: only for an object scenario (object: "…")`);
  for (const name of s.loadOnly ?? [])
    if (s.programs && !s.programs.includes(name))
      problems.push(`loadOnly: "${name}" is not one of programs (${s.programs.join(', ')})`);
  if (s.okWhen && !s.exec) problems.push('okWhen: only for an exec scenario (exec: [...])');
  if (s.args !== undefined && !s.sample)
    problems.push('args: only for a built-in sample (an exec scenario gives its arguments in exec: [...])');
  for (const [k, re] of Object.entries(s.okWhen ?? {})) {
    try {
      new RegExp(re);
    } catch (e) {
      problems.push(`okWhen.${k}: not a regular expression: ${(e as Error).message}`);
    }
  }
  if (s.uprobe) {
    const at = s.uprobe.lastIndexOf(':');
    const target = path.resolve(projectDir, s.uprobe.slice(0, at));
    if (!existsSync(target)) problems.push(`uprobe: no such file ${target}`);
    else s.uprobe = `${target}${s.uprobe.slice(at)}`;
  }
  if (s.object) {
    const file = path.resolve(projectDir, s.object);
    // capmatrix's own objects are built by its setup, before any run: `expected` needs none
    const ours = !existsSync(file) && file.startsWith(SAMPLES_BUILD_DIR + path.sep);
    const programs = ours ? [] : existsSync(file) ? readBpfObject(file) : `no such file ${file}`;
    if (typeof programs === 'string') problems.push(`object: ${programs}`);
    else {
      s.object = file;
      if (!ours) problems.push(...unknownPrograms(s, programs));
    }
  }
  if (s.exec) {
    const [cmd = '', ...rest] = s.exec;
    const file = resolveLoader(cmd, projectDir);
    if (!file)
      problems.push(
        `exec[0]: "${cmd}" is not an executable file ${cmd.includes('/') ? `(looked at ${path.resolve(projectDir, cmd)})` : 'on PATH'}`,
      );
    else s.exec = [file, ...rest];
  }
  const isSample = (d: string) => !GUEST_HELPERS.includes(d) && existsSync(path.join(bpfSrcDir, d, `${d}.c`));
  if (s.sample && !isSample(s.sample)) {
    const known = readdirSync(bpfSrcDir).filter(isSample);
    const hint = closest(s.sample, known);
    problems.push(
      `sample: unknown sample "${s.sample}" (no ${path.join('bpf-src', s.sample, `${s.sample}.c`)}; ${hint ? `did you mean ${hint}? ` : ''}known: ${known.sort().join(', ')})`,
    );
  }
}

/** A grant other than `file` is given by capmatrix's launcher to a program of the host: a
 * container's capabilities are its runtime's, a token scenario's its parent's, and a user's
 * loader runs under strace through setpriv. */
function grantProblems(s: Scenario): string[] {
  const grants = s.axes.grant ?? [];
  const problems: string[] = [];
  if (new Set(grants).size !== grants.length) problems.push(`axes.grant: a grant listed twice (${grants.join(', ')})`);
  const other = grants.find((g) => g !== 'file');
  if (!other) return problems;
  if (s.context === 'container')
    problems.push(`axes.grant: '${other}' is not for a container scenario (its capabilities are what --cap-add adds)`);
  if (s.context === 'userns')
    problems.push(`axes.grant: '${other}' is not for a token scenario (its capabilities are its parent's)`);
  if (s.exec)
    problems.push(
      `axes.grant: '${other}' is not measured for an exec scenario yet (its loader runs under strace through setpriv); allowed: ['file']`,
    );
  return problems;
}

/** Validates untrusted module data; returns the typed scenario or throws ScenarioError.
 * `object` and `exec` paths come back absolute, resolved from `projectDir`. */
export function validateScenario(data: unknown, file: string, bpfSrcDir: string, projectDir = process.cwd()): Scenario {
  const parsed = ScenarioSchema.safeParse(data);
  if (!parsed.success) {
    throw new ScenarioError(
      file,
      parsed.error.issues.map((i) => `${fieldPath(i.path) || '(top level)'}: ${i.message}`),
    );
  }
  const s = parsed.data;
  const problems: string[] = [];
  checkProgram(s, bpfSrcDir, projectDir, problems);
  s.axes.caps.forEach((set, i) => {
    if (set !== 'root') checkCaps(set, `axes.caps[${i}]`, problems);
  });
  checkSysctls(s.axes.sysctl, 'axes.sysctl', problems);
  problems.push(...grantProblems(s));
  s.expect.forEach((rule, i) => {
    const parsedOutcome = parseExpectation(rule.outcome);
    if (typeof parsedOutcome === 'string') problems.push(`expect[${i}].outcome: ${parsedOutcome}`);
    if (rule.when?.has) checkCaps(rule.when.has, `expect[${i}].when.has`, problems);
    if (rule.when?.lacks) checkCaps(rule.when.lacks, `expect[${i}].when.lacks`, problems);
    if (rule.when?.sysctl) {
      checkSysctls(rule.when.sysctl, `expect[${i}].when.sysctl`, problems);
      for (const name of Object.keys(rule.when.sysctl)) {
        if ((SYSCTL_NAMES as string[]).includes(name) && !(name in s.axes.sysctl)) {
          problems.push(`expect[${i}].when.sysctl: "${name}" is not an axis of this scenario`);
        }
      }
    }
  });

  if (problems.length > 0) throw new ScenarioError(file, problems);
  const cellProblems = checkCells(s, file);
  if (cellProblems.length > 0) throw new ScenarioError(file, cellProblems);
  return s;
}

/** What only the scenario's cells show, checked once its fields are right: a container
 * scenario's profile and caps axis, two capability sets that make the same cell, dead rules. */
function checkCells(s: Scenario, file: string): string[] {
  const problems: string[] = [];
  if (s.context === 'container' && !s.container)
    problems.push(
      "container: a scenario with context 'container' says its seccomp profile (container: { seccomp: … })",
    );
  const cells: Cell[] = [];
  const seen = new Set<string>();
  s.axes.caps.forEach((caps, ci) => {
    if (s.context === 'container' && caps === 'root') {
      problems.push(`axes.caps[${ci}]: a container's caps are what --cap-add adds (a list, [] for none), not 'root'`);
      return;
    }
    for (const cell of expandScenario({ ...s, axes: { ...s.axes, caps: [caps] } }, file)) {
      if (seen.has(cell.id)) {
        problems.push(`axes.caps[${ci}]: duplicate cell id "${cell.id}" (the same capability set is listed twice)`);
        continue;
      }
      seen.add(cell.id);
      cells.push(cell);
    }
  });
  problems.push(...deadRules(s.expect, cells));
  return problems;
}

/**
 * Rules that can never decide a cell: ones whose `when` matches no cell of the axes, and ones
 * every cell of which an earlier rule without a version gate takes first (first match wins), the
 * usual sign of two expectations that conflict.
 */
function deadRules(rules: ExpectRule[], cells: Cell[]): string[] {
  const problems: string[] = [];
  rules.forEach((rule, j) => {
    const hits = cells.filter((c) => whenMatches(rule, c));
    if (hits.length === 0) {
      problems.push(`expect[${j}].when: matches no cell of the axes (${JSON.stringify(rule.when ?? {})})`);
      return;
    }
    // a learned rule (pinned to cells, ahead of the others) does not make the rules it
    // overrides dead: they still hold for the kernels it was not learned on
    const takenBy = (c: Cell) =>
      rules.findIndex((r, i) => i < j && !r.since && !r.until && !r.requires && !r.when?.cells && whenMatches(r, c));
    if (hits.every((c) => takenBy(c) >= 0)) {
      const first = hits[0] as Cell;
      const by = takenBy(first);
      problems.push(
        `expect[${j}]: never applies: every cell it matches is decided by an earlier rule first (e.g. ${first.id}: expect[${by}] says "${rules[by]?.outcome}", expect[${j}] says "${rule.outcome}"); remove one or narrow expect[${by}].when`,
      );
    }
  });
  return problems;
}
