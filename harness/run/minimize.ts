// `capmatrix minimize <scenario>`: every minimal capability set under which the scenario's sample
// succeeds, on one kernel, in one boot. The guest agent runs the search (guest/minimal-sets.ts); this
// side plans it (the asked-for settings, then the scenario's other sysctl values and its declared
// non-capability alternatives), and explains each result with the runs that failed.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AdhocProgram, adhocScenario } from '../dsl/adhoc.js';
import { type Capability, isCapability } from '../dsl/capabilities.js';
import { settingsLabel } from '../dsl/cell-id.js';
import type { Grant, Lockdown, Memlock } from '../dsl/choices.js';
import { DEFAULT_DELEGATION, DELEGATION_ARG } from '../dsl/delegation.js';
import { type Cell, expectationFor } from '../dsl/expand.js';
import { checkScenarioNames, type LoadedScenario, loadScenarios } from '../dsl/load.js';
import { closest } from '../dsl/suggest.js';
import { SYSCTL_NAMES, SYSCTLS, type SysctlName, ubdPhaseRank } from '../dsl/sysctls.js';
import { formatOutcome } from '../dsl/vocabulary.js';
import { askedBy, deniedChecks } from '../guest/cap-askers.js';
import { type CapCheck, formKey, searchRootKey } from '../guest/protocol.js';
import { type Catalog, type KernelEntry, loadCatalog, selectKernels } from '../kernels/catalog.js';
import { kernelConfig } from '../kernels/kernel-config.js';
import type { KernelInfo } from '../kernels/kernel-info.js';
import { fetchKernel } from '../kernels/providers.js';
import type { CellRecord, SearchRecord } from '../outcome/guest-records.js';
import { PROJECT_DIR, RESULTS_DIR } from '../paths.js';
import type { PlannedCell } from '../plan/plan.js';
import { emittedForms, FORM_GRANTS } from '../report/deploy-forms.js';
import { newRunId } from '../report/results-json.js';
import { ensureRunnable } from '../setup/ensure.js';
import { UsageError } from '../usage-error.js';
import { decideAccel } from '../vm/accel.js';
import { writeFileAtomic } from '../write-atomic.js';
import { type GuestSearch, runBoot } from './boot.js';
import { type KernelFailure, type MinimizeAcross, minimizeAcross } from './minimize-across.js';
import {
  EMIT_FORMS,
  type EmitForm,
  type FormCheck,
  type MinimizeResult,
  type SearchResult,
  type Shortfall,
} from './minimize-result.js';

/** The sysctls that decide who may use BPF, said with "boot defaults". */
const PRIVILEGE_SYSCTLS = ['kernel.unprivileged_bpf_disabled', 'kernel.perf_event_paranoid'];

export const DEFAULT_UNIVERSE: Capability[] = [
  'CAP_BPF',
  'CAP_PERFMON',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_SYS_ADMIN',
  'CAP_DAC_READ_SEARCH',
  'CAP_DAC_OVERRIDE',
  'CAP_SYS_RESOURCE',
];

export interface MinimizeOptions {
  /** A scenario by name, or (`program`) a user's object or loader from the command line. */
  scenario?: string;
  program?: AdhocProgram;
  kernel?: string;
  /** Settings for the search (e.g. kernel.perf_event_paranoid=2); others stay at the boot default. */
  sysctl?: Partial<Record<SysctlName, number>>;
  /** The locks every run of the search is under: a lockdown level (the boot's `lockdown=`) and
   * an RLIMIT_MEMLOCK; absent, the boot's and the guest's own. */
  lockdown?: Lockdown;
  memlock?: Memlock;
  universe?: Capability[];
  /** Also search the scenario's other sysctl values (default true). */
  otherSettings?: boolean;
  scenarioDir?: string;
  resultsDir?: string;
  catalog?: Catalog;
  log?: (msg: string) => void;
  /** The deployment forms to give for each minimal set, each checked in the same boot
   * (EMIT_FORMS); the setcap line is the search's own runs. */
  emit?: EmitForm[];
}

/** The runs a search made after it, to check the forms of its minimal sets. */
export const formRuns = (s: SearchResult) =>
  s.minimal.reduce((n, m) => n + Object.keys(m.checks ?? {}).filter((g) => g !== 'file').length, 0);

/** `--json`: the answer first (every minimal set of the asked settings, why each one-smaller set
 * fails, how many cells it took), then everything else. */
export function minimizeJson(r: MinimizeResult) {
  const [asked] = r.searches;
  return {
    minimalSets: asked?.minimal.map((m) => m.caps) ?? [],
    why: (asked?.minimal ?? []).flatMap((m) =>
      m.shortfalls.map((f) => ({
        set: m.caps,
        without: f.without,
        outcome: f.outcome,
        line: f.detail,
        ...(f.denied ? { denied: f.denied } : {}),
      })),
    ),
    cells: r.searches.reduce((n, s) => n + s.runs + (s.root ? 1 : 0) + formRuns(s), 0),
    ...(asked?.withAll ? { withAll: asked.withAll } : {}),
    // each asked form of each minimal set: ok and what to paste, or failing with its cells
    ...(r.emit?.length
      ? {
          forms: (asked?.minimal ?? []).map((m) => ({
            set: m.caps,
            forms: emittedForms(r, m),
          })),
        }
      : {}),
    ...r,
  };
}

/** `name=value` flags → settings, each checked against the allowed values. */
export function parseSysctlFlags(flags: string[] = []): Partial<Record<SysctlName, number>> {
  const out: Partial<Record<SysctlName, number>> = {};
  for (const f of flags) {
    const m = /^([a-z0-9_.]+)=(-?\d+)$/.exec(f);
    if (!m) throw new UsageError(`--sysctl: "${f}" is not name=value (e.g. kernel.perf_event_paranoid=2)`);
    const [, name = '', value = ''] = m;
    if (!(SYSCTL_NAMES as string[]).includes(name)) {
      const hint = closest(name, SYSCTL_NAMES);
      throw new UsageError(
        `--sysctl: unknown sysctl "${name}" (${hint ? `did you mean ${hint}? ` : ''}allowed: ${SYSCTL_NAMES.join(', ')})`,
      );
    }
    const allowed: readonly number[] = SYSCTLS[name as SysctlName].values;
    if (!allowed.includes(Number(value)))
      throw new UsageError(`--sysctl: ${name}=${value}: bad value (allowed: ${allowed.join(', ')})`);
    out[name as SysctlName] = Number(value);
  }
  return out;
}

export function parseCapsFlag(list: string): Capability[] {
  const caps = list.split(',').map((c) => c.trim().toUpperCase());
  for (const c of caps) {
    const full = c.startsWith('CAP_') ? c : `CAP_${c}`;
    if (!isCapability(full)) throw new UsageError(`--caps: unknown capability "${c}"`);
  }
  const set = [...new Set(caps.map((c) => (c.startsWith('CAP_') ? c : `CAP_${c}`)))] as Capability[];
  if (set.length === 0 || set.length > 12) throw new UsageError('--caps: give 1 to 12 capabilities');
  return set;
}

/** `--emit a,b`: the forms, each one of EMIT_FORMS. */
export function parseEmitFlag(list: string): EmitForm[] {
  const forms = [...new Set(list.split(',').map((f) => f.trim()))];
  for (const f of forms)
    if (!(EMIT_FORMS as readonly string[]).includes(f))
      throw new UsageError(`--emit: unknown form "${f}" (allowed: ${EMIT_FORMS.join(', ')})`);
  return forms as EmitForm[];
}

/** The command's operands and flags → what to minimize: one scenario by name, or the user's object
 * (--object) or loader (--exec, its arguments the operands after --). */
export function minimizeSubject(
  operands: string[],
  f: Omit<AdhocProgram, 'exec'> & { exec?: string },
): Pick<MinimizeOptions, 'scenario' | 'program'> {
  const { object, exec, programs, loadOnly, socket, iface, uprobe } = f;
  const own = object !== undefined || exec !== undefined;
  if (!own && operands.length !== 1)
    throw new UsageError('minimize: give one scenario name, or --object <file.bpf.o>, or --exec <loader> [-- args]');
  if (object !== undefined && operands.length)
    throw new UsageError(`minimize --object: unexpected argument "${operands[0]}"`);
  if (!object && (programs || loadOnly || socket || iface || uprobe))
    throw new UsageError('minimize: --program, --load-only, --socket, --iface and --uprobe go with --object');
  if (!own) return { scenario: operands[0] ?? '' };
  return {
    program: {
      ...(object !== undefined ? { object } : { exec: [exec ?? '', ...operands] }),
      ...(programs ? { programs } : {}),
      ...(loadOnly ? { loadOnly } : {}),
      ...(socket ? { socket } : {}),
      ...(iface ? { iface } : {}),
      ...(uprobe ? { uprobe } : {}),
    },
  };
}

/** What makes a line of a failing run's detail telling, most telling first: libbpf's rewrite of
 * an instruction it poisoned (the verifier's own line for it is only "invalid func"), libbpf
 * giving up on module BTF, the verifier's complaint, then the kernel's or the loader's. */
const TELLING = [
  /failed to resolve CO-RE relocation/,
  /failed to iterate BTF objects|module BTFs/,
  /prohibited|not allowed|invalid|unknown func|only read|restricted|unreleased/i,
  /denied|not permitted|permission/i,
];

/** The failing run's most telling line. */
export function tellingLine(detail: string): string {
  // a loader's "load x: Invalid argument | <log>": the errno's text is already in the outcome
  const lines = detail
    .split('\n')
    .map((l) => l.replace(/^load\b[^|]*\| /, '').trim())
    .filter(Boolean);
  const hit = TELLING.map((re) => lines.find((l) => re.test(l))).find((l) => l !== undefined);
  return (hit ?? lines.at(-1) ?? '').slice(0, 200);
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** What is minimized: the scenario (or the user's program), over which dimension and universe. */
interface Target {
  all: LoadedScenario[];
  name: string;
  main: LoadedScenario | undefined;
  dimension: GuestSearch['dimension'];
  universe: string[];
}

/** One search to run: which scenario, at which settings, and why it is searched. */
interface SearchPlan {
  kind: SearchResult['kind'];
  scenario: string;
  sysctl: Partial<Record<SysctlName, number>>;
}

/** Loads the scenario and refuses, before any download or boot, what cannot be minimized. */
async function findTarget(o: MinimizeOptions): Promise<Target> {
  const all = o.program
    ? [adhocScenario(o.program, PROJECT_DIR)]
    : await loadScenarios(PROJECT_DIR, undefined, o.scenarioDir);
  const name = o.program ? (all[0]?.scenario.name ?? '') : (o.scenario ?? '');
  if (!o.program) checkScenarioNames([name], all);
  const main = all.find((l) => l.scenario.name === name);
  if (main?.scenario.context === 'container')
    throw new UsageError(
      `minimize: ${name} is a container scenario; its cells already cover the --cap-add sets that matter (npm run matrix -- --scenario ${name})`,
    );
  // A token scenario (user namespace): its root parent's delegation is what gets minimized.
  const dimension: GuestSearch['dimension'] = main?.scenario.context === 'userns' ? 'delegation' : 'caps';
  if (dimension === 'delegation' && o.universe)
    throw new UsageError('--caps: a token scenario searches delegations, not capabilities');
  const universe: string[] = dimension === 'delegation' ? DEFAULT_DELEGATION : (o.universe ?? DEFAULT_UNIVERSE);
  const target = { all, name, main, dimension, universe };
  templateCell(target, name);
  return target;
}

/** The scenario's cell a search starts from: one that does not run as root. */
function templateCell(t: Target, scenario: string): Cell {
  const cells = t.all.find((l) => l.scenario.name === scenario)?.cells ?? [];
  const cell = t.dimension === 'delegation' ? cells[0] : cells.find((c) => c.caps !== 'root');
  if (!cell)
    throw new UsageError(`minimize: ${scenario} has no cell that runs as uid 65534 (only root): nothing to minimize`);
  // the search runs file capabilities (its setcap lines), whatever grants the scenario's axes list
  return { ...cell, grant: 'file' };
}

/** What to search: the settings asked for, each other value of the scenario's own sysctl axes,
 * and the scenarios that declare themselves an alternative to it; in the order a boot can run them. */
function planSearches(t: Target, asked: Partial<Record<SysctlName, number>>, otherSettings = true): SearchPlan[] {
  const plans: SearchPlan[] = [{ kind: 'asked', scenario: t.name, sysctl: asked }];
  const axes = otherSettings ? (t.main?.scenario.axes.sysctl ?? {}) : {};
  for (const [name, values] of Object.entries(axes) as [SysctlName, number[]][]) {
    for (const v of values)
      if (asked[name] !== v) plans.push({ kind: 'sysctl', scenario: t.name, sysctl: { ...asked, [name]: v } });
  }
  for (const alt of t.all.filter((l) => l.scenario.alternativeTo === t.name)) {
    plans.push({ kind: 'scenario', scenario: alt.scenario.name, sysctl: asked });
  }
  // unprivileged_bpf_disabled=1 cannot be undone in a boot, and the agent does not put it back
  // for a search that leaves it alone: boot default first, then 0 → 2 → 1
  const rank = (v: number | undefined) => (v === undefined ? -1 : ubdPhaseRank(v));
  return plans.sort(
    (a, b) => rank(a.sysctl['kernel.unprivileged_bpf_disabled']) - rank(b.sysctl['kernel.unprivileged_bpf_disabled']),
  );
}

/** The guest's side of each plan: its template cell, expected outcome on this kernel, and label. */
function guestSearches(
  t: Target,
  plans: SearchPlan[],
  kernel: KernelInfo,
  o: Pick<MinimizeOptions, 'emit' | 'lockdown' | 'memlock'>,
): GuestSearch[] {
  const emit = o.emit ?? [];
  const locks = { ...(o.lockdown ? { lockdown: o.lockdown } : {}), ...(o.memlock ? { memlock: o.memlock } : {}) };
  // a user's loader runs under strace through setpriv: no other grant there yet
  const grants = [...new Set(emit.flatMap((f) => FORM_GRANTS[f]))].filter((g) => g !== 'file');
  const forms = grants.length && t.dimension === 'caps' && !t.main?.scenario.exec ? { forms: grants } : {};
  return plans.map((p, i) => {
    const template = { ...templateCell(t, p.scenario), ...locks };
    const cell: PlannedCell = {
      ...template,
      sysctl: p.sysctl,
      kernel: kernel.id,
      expected: expectationFor(template, kernel.version, kernelConfig(kernel)),
    };
    return {
      label: `s${i + 1}-${settingsLabel(p.sysctl, o.lockdown, o.memlock) || 'default'}`,
      dimension: t.dimension,
      universe: t.universe,
      ...(t.dimension === 'delegation' ? { baseArgs: template.args.filter((a) => !DELEGATION_ARG.test(a)) } : {}),
      ...forms,
      template: cell,
    };
  });
}

/** One search's answer, each minimal set explained by the runs one item short of it. */
/** Who asked for each capability of a minimal set in its own run, granted. */
function askedFor(caps: string[], checks: CapCheck[]): Record<string, string[]> {
  return Object.fromEntries(
    caps.map((cap) => [cap, [...new Set(checks.filter((k) => k.cap === cap && k.granted).map(askedBy))]]),
  );
}

/** Debian's perf_event_paranoid=3 asks CAP_SYS_ADMIN in perf_event_open where ≤ 2 asks
 * CAP_PERFMON: said when a run of the search was denied there at 3. */
export function settingNotes(mine: CellRecord[], boot: Record<string, number | null>): string[] {
  const at3 = mine.some(
    (c) =>
      (c.sysctlNow['kernel.perf_event_paranoid'] ?? boot['kernel.perf_event_paranoid']) === 3 &&
      c.capChecks?.some((k) => !k.granted && k.cap === 'CAP_SYS_ADMIN' && /perf_event_open/.test(askedBy(k))),
  );
  return at3
    ? [
        "kernel.perf_event_paranoid=3 (Debian's patch): perf_event_open asked for CAP_SYS_ADMIN; at ≤ 2 it asks for CAP_PERFMON (--sysctl kernel.perf_event_paranoid=2)",
      ]
    : [];
}

function searchResult(
  t: Target,
  p: SearchPlan,
  rec: SearchRecord,
  mine: CellRecord[],
  boot: Record<string, number | null>,
  emit: { forms: Grant[]; asked: boolean },
): SearchResult {
  // the search's own runs (file capabilities), not the forms checked after it
  const runOf = (set: string[]): CellRecord | undefined =>
    mine.find((c) => {
      if (!/#\d+$/.test(c.key)) return false;
      const of = t.dimension === 'delegation' ? c.delegation : c.caps;
      return Array.isArray(of) && same(of, set);
    });
  const describe = (c: CellRecord | undefined) =>
    c?.observed
      ? { outcome: formatOutcome(c.observed), detail: tellingLine(c.observed.detail) }
      : { outcome: `infra-error ${c?.infraKind ?? '?'}`, detail: tellingLine(c?.infraError ?? '') };
  const shortfall = (m: string[], without: string): Shortfall => {
    const run = runOf(m.filter((x) => x !== without));
    const checks = run?.capChecks ?? [];
    const denied = deniedChecks(checks.filter((k) => k.cap === without)) ?? deniedChecks(checks);
    return { without, ...describe(run), ...(denied ? { denied } : {}) };
  };
  const checkOf = (c: CellRecord): FormCheck => ({ ok: c.observed?.outcome === 'ok', ...describe(c), cell: c.id });
  const scenario = t.all.find((l) => l.scenario.name === p.scenario)?.scenario;
  const rootRun = mine.find((c) => c.key === searchRootKey(rec.label));
  const notes = settingNotes(mine, boot);
  return {
    kind: p.kind,
    scenario: p.scenario,
    ...(scenario?.description && p.kind === 'scenario' ? { description: scenario.description } : {}),
    sysctl: p.sysctl,
    ...(mine[0]?.sysctlNow ? { effectiveSysctl: mine[0].sysctlNow } : {}),
    minimal: rec.minimal.map((m, i) => {
      const checks = t.dimension === 'caps' ? runOf(m)?.capChecks : undefined;
      const own = runOf(m);
      const formChecks = Object.fromEntries(
        emit.forms.flatMap((grant) => {
          const run = mine.find((c) => c.key === formKey(rec.label, grant, i + 1));
          return run ? [[grant, checkOf(run)]] : [];
        }),
      );
      return {
        caps: m,
        shortfalls: m.map((c) => shortfall(m, c)),
        ...(checks ? { askedFor: askedFor(m, checks) } : {}),
        ...(emit.asked && own ? { checks: { file: checkOf(own), ...formChecks } } : {}),
      };
    }),
    ...(rec.minimal.length === 0 ? { withAll: describe(runOf(t.universe)) } : {}),
    ...(rootRun ? { root: describe(rootRun) } : {}),
    ...(notes.length ? { notes } : {}),
    violations: rec.violations,
    ...(rec.teardownError ? { teardownError: rec.teardownError } : {}),
    runs: rec.runs,
    skippedByChecks: rec.skippedByChecks ?? 0,
    bruteForce: 2 ** t.universe.length,
  };
}

/** Runs every search in one boot and keeps the answer as minimize.json in its run directory;
 * rendering it is the command's. One kernel (runMinimizeKernels for more). */
export async function runMinimize(o: MinimizeOptions): Promise<MinimizeResult> {
  const target = await findTarget(o);
  const entries = selectKernels(o.catalog ?? loadCatalog(), o.kernel, o.log ?? ((m) => process.stderr.write(`${m}\n`)));
  const [entry] = entries;
  if (!entry || entries.length > 1) throw new Error(`runMinimize: one kernel, not ${entries.length}`);
  await ensureRunnable();
  return minimizeOn(target, entry, o, newRunDir(o));
}

/** Every kernel `kernel` names, each in a boot of its own, `jobs` at once; one answer with the
 * kernel ranges where it holds. A kernel whose boot or search fails is said, not guessed. */
export async function runMinimizeKernels(o: MinimizeOptions & { jobs?: number }): Promise<MinimizeAcross> {
  const target = await findTarget(o);
  const entries = selectKernels(o.catalog ?? loadCatalog(), o.kernel, o.log ?? ((m) => process.stderr.write(`${m}\n`)));
  await ensureRunnable();
  const runDir = newRunDir(o);
  const perKernel: MinimizeResult[] = [];
  const failed: KernelFailure[] = [];
  const twice = entries.find((e, i) => entries.findIndex((x) => x.id === e.id) !== i);
  if (twice) throw new UsageError(`--kernel: ${twice.id} named twice`);
  const queue = [...entries];
  const lane = async () => {
    for (let entry = queue.shift(); entry; entry = queue.shift()) {
      try {
        perKernel.push(await minimizeOn(target, entry, o, path.join(runDir, entry.id)));
      } catch (e) {
        if (e instanceof UsageError) throw e;
        failed.push({
          kernel: entry.id,
          error: (e as Error).message,
          ...seriesOf(entry),
        });
      }
    }
  };
  const jobs = Math.max(1, Math.min(o.jobs ?? os.availableParallelism(), entries.length));
  await Promise.all(Array.from({ length: jobs }, lane));
  const across = minimizeAcross({ runDir, perKernel, failed });
  writeFileAtomic(path.join(runDir, 'minimize.json'), `${JSON.stringify(across, null, 2)}\n`);
  return across;
}

/** Where a kernel that gave no answer sits among the others: its catalog series or version. */
const seriesOf = (e: KernelEntry): { series?: string } =>
  'series' in e ? { series: e.series } : 'version' in e ? { series: e.version } : {};

function newRunDir(o: MinimizeOptions): string {
  return path.join(o.resultsDir ?? RESULTS_DIR, `minimize-${newRunId()}`);
}

/** The searches of one kernel in one boot; minimize.json in `runDir`. */
async function minimizeOn(target: Target, entry: KernelEntry, o: MinimizeOptions, runDir: string) {
  const log = o.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const { name, main, dimension, universe } = target;
  const kernel = await fetchKernel(entry, log);
  const plans = planSearches(target, o.sysctl ?? {}, o.otherSettings !== false);
  const searches = guestSearches(target, plans, kernel, o);

  const accel = decideAccel();
  mkdirSync(runDir, { recursive: true });
  const bootId = `${kernel.id}-minimize`;
  log(
    `minimize ${name} on ${kernel.id} (${kernel.release}): ${searches.length} search(es) over ${universe.length} ${dimension === 'delegation' ? 'delegation items' : 'capabilities'}, one boot, ${accel.accel}`,
  );
  const t0 = Date.now();
  const kernelArgs = o.lockdown && o.lockdown !== 'none' ? [`lockdown=${o.lockdown}`] : [];
  const done = await runBoot({ id: bootId, kernel, runs: [], searches }, { runDir, accel: accel.accel, kernelArgs });
  const records = done.records;
  if (records.violations.length)
    throw new Error(
      `minimize: the guest's results file of ${bootId} holds lines the agent did not write, so no search result is trusted: ${records.violations.map((v) => `line ${v.line}: ${v.why}`).join('; ')}`,
    );
  const cells = [...records.cells.values()];
  const guest = records.provenance?.sysctls ?? {};
  const bootSysctls = Object.fromEntries(PRIVILEGE_SYSCTLS.map((n) => [n, guest[n] ?? null]));
  const results: SearchResult[] = plans.map((p, i) => {
    const label = searches[i]?.label ?? '';
    const rec = records.searches.find((s) => s.label === label);
    if (!rec) {
      throw new Error(
        `minimize: the search ${label} did not finish (VM ${done.provenance.vm?.ended}; console: ${path.join(runDir, 'boots', bootId, 'console.log')})`,
      );
    }
    return searchResult(
      target,
      p,
      rec,
      cells.filter((c) => c.key.startsWith(`${label}#`)),
      bootSysctls,
      { forms: searches[i]?.forms ?? [], asked: (o.emit ?? []).length > 0 },
    );
  });
  const result: MinimizeResult = {
    runDir,
    dimension,
    kernel: { id: kernel.id, release: kernel.release },
    // the setcap lines name the file that gets the capabilities: for an object, the user's loader
    sample: main?.scenario.object ? 'your-loader' : (main?.cells[0]?.sample ?? ''),
    ...(main?.scenario.object ? { object: main.scenario.object } : {}),
    ...(main?.scenario.exec ? { exec: main.scenario.exec } : {}),
    universe,
    ...(o.emit?.length ? { emit: o.emit } : {}),
    ...(o.lockdown ? { lockdown: o.lockdown } : {}),
    ...(o.memlock ? { memlock: o.memlock } : {}),
    bootSysctls,
    searches: results,
    ...(records.recorderOff ? { recorderOff: records.recorderOff } : {}),
    bootMs: done.provenance.vm?.bootMs ?? null,
    wallMs: Date.now() - t0,
  };
  writeFileAtomic(path.join(runDir, 'minimize.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
