// Scenario → cells (the cross product of its axes) with stable ids, and the expectation
// of each cell on a given kernel (first matching rule wins).

import path from 'node:path';
import { SAMPLES_BUILD_DIR } from '../paths.js';
import { compareVersions } from '../version.js';
import { type Capability, type CapSet, capSetName, UNPRIVILEGED_UID } from './capabilities.js';
import { cellId, grantedName, settingsLabel } from './cell-id.js';
import type { Context, Grant, Lockdown, Memlock, SetupScope } from './choices.js';
import { capAddName, containerArgs, insideCaps } from './container.js';
import { runsAsRoot } from './grants.js';
import type { ExpectRule, OkWhen, Scenario } from './scenario.js';
import { ScenarioError } from './scenario-error.js';
import type { SysctlName } from './sysctls.js';
import { type Expected, parseExpectation } from './vocabulary.js';

export interface Cell {
  /** Stable id: `<scenario>/<capset>/<sysctl short>=<value>,…`. */
  id: string;
  scenario: string;
  /** The built-in program that runs (object_loader for an `object`), or the name of the user's
   * loader's copy in the guest (`exec`). */
  sample: string;
  /** How the guest judges it: a CAPMATRIX_RESULT line (samples, the object loader), or the
   * exit status and a syscall trace (a user's loader). */
  mode: 'sample' | 'exec';
  /** The file that gets the cell's capabilities when it is not a built sample (a user's loader). */
  binary?: string;
  /** Where a user's loader runs (the directory capmatrix ran in). */
  cwd?: string;
  okWhen?: OkWhen;
  file: string;
  capsName: string;
  caps: CapSet;
  /** How `caps` reach the program (axes.grant). */
  grant: Grant;
  /** The kernel lockdown level it runs under (axes.lockdown; absent: the boot's default). */
  lockdown?: Lockdown;
  /** The RLIMIT_MEMLOCK it starts with (axes.memlock; absent: the guest's). */
  memlock?: Memlock;
  uid: number;
  sysctl: Partial<Record<SysctlName, number>>;
  context: Context;
  /** A container cell: the capabilities the container holds (its runtime's default set and the
   * cell's --cap-add), which its rules test; the loader itself runs as root. */
  inside?: Capability[];
  args: string[];
  setup: string[][];
  teardown: string[][];
  setupScope: SetupScope;
  timeoutSec: number;
  /** Runs in a boot of its own (the scenario's `isolate`). */
  isolate: boolean;
  /** Whose program runs: null for capmatrix's own samples and objects, which share boots; else
   * the name of the program's trust domain (its scenario), whose cells get boots of their own,
   * because a program with root or CAP_SYS_ADMIN owns the guest it runs in (docs/trust-model.md). */
  trustDomain: string | null;
  rules: ExpectRule[];
}

function cross(axes: Partial<Record<SysctlName, number[]>>): Partial<Record<SysctlName, number>>[] {
  let combos: Partial<Record<SysctlName, number>>[] = [{}];
  for (const [name, values] of Object.entries(axes) as [SysctlName, number[]][]) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return combos;
}

/** The object loader's arguments for an `object` scenario; `{copy:…}` is the object, copied into
 * the cell's directory in the guest so the cell's uid can read it. */
function objectLoaderArgs(s: Scenario): string[] {
  return [
    '--object',
    `{copy:${s.object}}`,
    ...(s.programs ?? []).flatMap((p) => ['--program', p]),
    ...(s.loadOnly ?? []).flatMap((p) => ['--load-only', p]),
    '--socket',
    s.socket ?? 'udp',
    '--iface',
    s.iface ?? 'lo',
    ...(s.uprobe ? ['--uprobe', s.uprobe] : []),
    ...(s.trigger ? ['--trigger', ...s.trigger] : []),
  ];
}

/** The fault sample is hostile on purpose (the fault-injection tests). */
const HOSTILE_SAMPLES = new Set(['fault']);

/** null when the scenario runs capmatrix's own program: a built sample, or one of its own BPF
 * objects; else the scenario's name. */
export function trustDomainOf(s: Scenario): string | null {
  if (s.exec) return s.name;
  if (s.object) return path.resolve(s.object).startsWith(`${SAMPLES_BUILD_DIR}${path.sep}`) ? null : s.name;
  return HOSTILE_SAMPLES.has(s.sample ?? '') ? s.name : null;
}

/** What runs in a cell of the scenario, and how. */
export function programOf(
  s: Scenario,
  projectDir = process.cwd(),
): Pick<Cell, 'sample' | 'mode' | 'args' | 'binary' | 'cwd' | 'okWhen'> {
  if (s.object) return { sample: 'object_loader', mode: 'sample', args: objectLoaderArgs(s) };
  if (s.exec) {
    const [binary = '', ...args] = s.exec;
    const sample = path.basename(binary).replace(/[^A-Za-z0-9._-]/g, '_') || 'loader';
    return { sample, mode: 'exec', args, binary, cwd: projectDir, ...(s.okWhen ? { okWhen: s.okWhen } : {}) };
  }
  return { sample: s.sample ?? '', mode: 'sample', args: s.args ?? [] };
}

/** The grants a capability set is tried with: root and the empty set are granted nothing. */
function grantsOf(s: Scenario, caps: CapSet): Grant[] {
  if (caps === 'root' || caps.length === 0 || s.context === 'container') return ['file'];
  return s.axes.grant ?? ['file'];
}

/** The cells of a validated scenario (validateScenario has checked its axes make distinct cells). */
export function expandScenario(s: Scenario, file: string): Cell[] {
  const program = programOf(s);
  return s.axes.caps.flatMap((caps) => {
    // a container cell: its loader runs as root, its rules test what the container holds
    const box =
      s.context === 'container' && s.container && caps !== 'root'
        ? { spec: s.container, inside: insideCaps(caps) }
        : undefined;
    const levels: (Lockdown | undefined)[] = s.axes.lockdown ?? [undefined];
    const limits: (Memlock | undefined)[] = s.axes.memlock ?? [undefined];
    const combos = grantsOf(s, caps).flatMap((grant) =>
      cross(s.axes.sysctl).flatMap((sysctl) =>
        levels.flatMap((lockdown) => limits.map((memlock) => ({ grant, sysctl, lockdown, memlock }))),
      ),
    );
    return combos.map(({ grant, sysctl, lockdown, memlock }): Cell => {
      const capsName = grantedName(box && caps !== 'root' ? capAddName(caps) : capSetName(caps), grant);
      return {
        id: cellId(s.name, capsName, settingsLabel(sysctl, lockdown, memlock)),
        scenario: s.name,
        ...program,
        file,
        capsName,
        caps: box ? 'root' : caps,
        grant,
        ...(lockdown ? { lockdown } : {}),
        ...(memlock ? { memlock } : {}),
        uid: caps === 'root' || box || runsAsRoot(grant) ? 0 : UNPRIVILEGED_UID,
        sysctl,
        context: s.context ?? 'host',
        ...(box ? { inside: box.inside, args: [...program.args, ...containerArgs(box.spec, box.inside)] } : {}),
        setup: s.setup ?? [],
        teardown: s.teardown ?? [],
        setupScope: s.setupScope ?? 'cell',
        timeoutSec: s.timeoutSec ?? 60,
        isolate: s.isolate ?? false,
        trustDomain: trustDomainOf(s),
        rules: s.expect,
      };
    });
  });
}

function hasCap(caps: CapSet, cap: Capability): boolean {
  return caps === 'root' || caps.includes(cap);
}

/** A kernel's config: option → 'y' | 'm' | a value; an option not in it is not set. */
export type KernelConfig = Record<string, string>;

function requiresHold(rule: ExpectRule, config: KernelConfig | undefined): boolean {
  const wanted = Object.entries(rule.requires?.config ?? {});
  if (wanted.length === 0) return true;
  if (!config) return false;
  return wanted.every(([option, states]) => {
    const v = config[option];
    const state = v === 'y' || v === 'm' ? v : v === undefined ? 'n' : 'y';
    return (Array.isArray(states) ? states : [states]).includes(state);
  });
}

function ruleMatches(rule: ExpectRule, cell: Cell, kernelVersion: string, config?: KernelConfig): boolean {
  if (rule.since && compareVersions(kernelVersion, rule.since) < 0) return false;
  if (rule.until && compareVersions(kernelVersion, rule.until) >= 0) return false;
  if (!requiresHold(rule, config)) return false;
  return whenMatches(rule, cell);
}

/** The rule's `when` alone, on every kernel. */
export function whenMatches(
  rule: ExpectRule,
  cell: Pick<Cell, 'id' | 'caps' | 'sysctl' | 'inside'> & { grant?: Grant; lockdown?: Lockdown; memlock?: Memlock },
): boolean {
  const w = rule.when ?? {};
  if (w.grant && (cell.grant ?? 'file') !== w.grant) return false;
  if (w.lockdown && (cell.lockdown ?? 'none') !== w.lockdown) return false;
  if (w.memlock && cell.memlock !== w.memlock) return false;
  // a container cell's rules are about what the container holds
  const caps = cell.inside ?? cell.caps;
  if (w.cells && !w.cells.includes(cell.id)) return false;
  if (w.caps === 'root' && caps !== 'root') return false;
  if (w.caps === 'unprivileged' && caps === 'root') return false;
  if (w.has && !w.has.every((c) => hasCap(caps, c))) return false;
  if (w.lacks?.some((c) => hasCap(caps, c))) return false;
  for (const [name, values] of Object.entries(w.sysctl ?? {}) as [SysctlName, number[]][]) {
    const v = cell.sysctl[name];
    if (v === undefined || !values.includes(v)) return false;
  }
  return true;
}

/** Index of the first rule that covers the cell on that kernel, or -1. */
export function matchingRuleIndex(cell: Cell, kernelVersion: string, config?: KernelConfig): number {
  return cell.rules.findIndex((r) => ruleMatches(r, cell, kernelVersion, config));
}

/** The expectation of a cell on a kernel; throws if no rule covers it. */
export function expectationFor(cell: Cell, kernelVersion: string, config?: KernelConfig): Expected {
  const index = matchingRuleIndex(cell, kernelVersion, config);
  const rule = cell.rules[index];
  if (!rule) {
    throw new ScenarioError(cell.file, [
      `expect: no rule matches cell "${cell.id}" on kernel ${kernelVersion} (add a rule, or a last rule without "when")`,
    ]);
  }
  const parsed = parseExpectation(rule.outcome);
  if (typeof parsed === 'string') throw new ScenarioError(cell.file, [`expect[${index}].outcome: ${parsed}`]);
  return { ...parsed, reason: rule.reason };
}
