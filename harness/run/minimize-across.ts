// One minimize answer over several kernels: the per-kernel results (parallel boots, or CI jobs
// joined by `capmatrix merge`), grouped into the kernel ranges where the answer is the same, and
// each minimal set with the ranges it was measured minimal on, its forms with theirs.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Grant } from '../dsl/choices.js';
import { readJsonFile } from '../read-json.js';
import { type EmittedForm, emittedForms } from '../report/deploy-forms.js';
import { type KernelRange, rangesOf } from '../report/kernel-ranges.js';
import { UsageError } from '../usage-error.js';
import { compareVersions, kernelVersionOf } from '../version.js';
import {
  type EmitForm,
  type FormCheck,
  type MinimizeResult,
  MinimizeResultSchema,
  readMinimizeResult,
} from './minimize-result.js';

/** A kernel that was asked for and gave no answer (its boot or its search failed); its series
 * places it among the others, where it breaks a range. */
export const KernelFailureSchema = z.object({ kernel: z.string(), error: z.string(), series: z.string().optional() });
export type KernelFailure = z.infer<typeof KernelFailureSchema>;

/** What minimize.json holds for more than one kernel: each kernel's own result, in version order. */
export const MinimizeAcrossSchema = z.object({
  runDir: z.string(),
  perKernel: z.array(MinimizeResultSchema),
  failed: z.array(KernelFailureSchema),
});
export type MinimizeAcrossInput = z.infer<typeof MinimizeAcrossSchema>;

/** One answer of a search, and the consecutive kernels that gave it. */
export interface RangeAnswer extends KernelRange {
  /** The minimal sets; [] where no subset of the candidates worked. */
  minimalSets: string[][];
}

/** One emitted form of a set over the kernels: where its run was ok, and each kernel where it failed. */
export interface FormAcross {
  form: EmitForm;
  checkedAs: string;
  ok: KernelRange[];
  failing: (FormCheck & { kernel: string })[];
  /** What to paste (the same on every kernel where it was ok). */
  text?: string;
  /** The near misses' runs (a pod's binary without its setcap line, say): each outcome, where. */
  nearMisses: { grant: Grant; outcome: string; detail: string; cells: string[]; ranges: KernelRange[] }[];
}

/** A set that is minimal on some kernels: where, and its forms (`--emit`) over them. */
export interface SetAcross {
  caps: string[];
  ranges: KernelRange[];
  forms: FormAcross[];
}

/** One search (the asked settings, another sysctl value, an alternative scenario) over the kernels. */
export interface SearchAcross {
  /** Which search of each kernel's result this is (searchKey: its scenario and settings). */
  key: string;
  kind: MinimizeResult['searches'][number]['kind'];
  scenario: string;
  sysctl: Record<string, number>;
  answers: RangeAnswer[];
  sets: SetAcross[];
  /** Kernels where this search was not run (a sysctl the kernel lacks, say). */
  missing: string[];
}

export interface MinimizeAcross extends MinimizeAcrossInput {
  /** Every kernel asked for, in version order (the failed ones too: they break a range). */
  order: string[];
  searches: SearchAcross[];
}

/** The search of the settings asked for (the others are other sysctl values and alternatives). */
export const askedOf = (r: MinimizeResult) => r.searches.find((s) => s.kind === 'asked');

const setKey = (caps: string[]) => [...caps].sort().join('+');
const answerKey = (sets: string[][]) => sets.map(setKey).sort().join(' | ');
export const searchKey = (s: { scenario: string; sysctl: Record<string, number> }) =>
  `${s.scenario} ${JSON.stringify(Object.entries(s.sysctl).sort())}`;

/** The results must be one question (the same program, candidates and settings) on different kernels. */
function checkSameQuestion(results: MinimizeResult[], names: string[]): void {
  const question = (r: MinimizeResult) => ({
    scenario: askedOf(r)?.scenario,
    object: r.object,
    exec: r.exec,
    dimension: r.dimension,
    universe: [...r.universe].sort(),
    sysctl: askedOf(r)?.sysctl,
    emit: [...(r.emit ?? [])].sort(),
    lockdown: r.lockdown,
    memlock: r.memlock,
  });
  const first = results[0];
  if (!first) return;
  const want = question(first);
  results.forEach((r, i) => {
    const got = question(r);
    for (const field of Object.keys(want) as (keyof typeof want)[]) {
      if (JSON.stringify(got[field]) !== JSON.stringify(want[field]))
        throw new UsageError(
          `${names[i]}: another question than ${names[0]}'s: ${field} is ${JSON.stringify(got[field])}, not ${JSON.stringify(want[field])}`,
        );
    }
    const twice = results.findIndex((o) => o.kernel.id === r.kernel.id);
    if (twice !== i) throw new UsageError(`${names[i]}: kernel ${r.kernel.id} again (already in ${names[twice]})`);
  });
}

/** Each form of a set over the kernels where the set is minimal. */
function formsAcross(
  on: { kernel: string; forms: EmittedForm[] }[],
  order: string[],
  release: Map<string, string>,
): FormAcross[] {
  const names = [...new Set(on.flatMap((o) => o.forms.map((f) => f.form)))];
  return names.map((form) => {
    const runs = on.flatMap((o) => o.forms.filter((f) => f.form === form).map((f) => ({ kernel: o.kernel, f })));
    const ok = runs.filter((r) => r.f.ok);
    const text = ok[0]?.f.text;
    const misses = new Map<string, FormAcross['nearMisses'][number] & { kernels: Set<string> }>();
    for (const r of runs)
      for (const { grant, check } of r.f.checks.slice(1)) {
        const key = `${grant} ${check.outcome}`;
        const entry = misses.get(key) ?? {
          grant,
          outcome: check.outcome,
          detail: check.detail,
          cells: [],
          ranges: [],
          kernels: new Set(),
        };
        entry.cells.push(check.cell);
        entry.kernels.add(r.kernel);
        misses.set(key, entry);
      }
    return {
      form,
      checkedAs: runs[0]?.f.checkedAs ?? '',
      ok: rangesOf(new Set(ok.map((r) => r.kernel)), order, release),
      failing: runs.flatMap((r) => {
        const decides = r.f.checks[0]?.check;
        return !r.f.ok && decides ? [{ kernel: r.kernel, ...decides }] : [];
      }),
      ...(text ? { text } : {}),
      nearMisses: [...misses.values()].map(({ kernels, ...m }) => ({
        ...m,
        ranges: rangesOf(kernels, order, release),
      })),
    };
  });
}

/** One search over the kernels that ran it. */
function searchAcross(
  key: string,
  results: MinimizeResult[],
  order: string[],
  release: Map<string, string>,
): SearchAcross {
  const mine = results.flatMap((r) => {
    const s = r.searches.find((x) => searchKey(x) === key);
    return s ? [{ kernel: r.kernel.id, search: s, result: r }] : [];
  });
  const [head] = mine;
  const byAnswer = new Map<string, { sets: string[][]; kernels: Set<string> }>();
  for (const { kernel, search } of mine) {
    const sets = search.minimal.map((m) => m.caps);
    const entry = byAnswer.get(answerKey(sets)) ?? { sets, kernels: new Set() };
    entry.kernels.add(kernel);
    byAnswer.set(answerKey(sets), entry);
  }
  const answers = [...byAnswer.values()]
    .flatMap((a) => rangesOf(a.kernels, order, release).map((r) => ({ ...r, minimalSets: a.sets })))
    .sort((a, b) => order.indexOf(a.kernels[0] ?? '') - order.indexOf(b.kernels[0] ?? ''));
  const bySet = new Map<string, { caps: string[]; on: { kernel: string; forms: EmittedForm[] }[] }>();
  for (const { kernel, search, result } of mine)
    for (const m of search.minimal) {
      const entry = bySet.get(setKey(m.caps)) ?? { caps: m.caps, on: [] };
      entry.on.push({ kernel, forms: emittedForms(result, m) });
      bySet.set(setKey(m.caps), entry);
    }
  const sets = [...bySet.values()].map(
    ({ caps, on }): SetAcross => ({
      caps,
      ranges: rangesOf(new Set(on.map((o) => o.kernel)), order, release),
      forms: formsAcross(on, order, release),
    }),
  );
  return {
    key,
    kind: head?.search.kind ?? 'asked',
    scenario: head?.search.scenario ?? '',
    sysctl: head?.search.sysctl ?? {},
    answers,
    sets: sets.sort((a, b) => a.caps.length - b.caps.length),
    missing: order.filter((k) => !mine.some((m) => m.kernel === k)),
  };
}

/** The per-kernel results → one answer with ranges, the kernels oldest first (a failed one by
 * its series, where it breaks a range). `names` say where each result came from (for errors). */
export function minimizeAcross(input: MinimizeAcrossInput, { names }: { names?: string[] } = {}): MinimizeAcross {
  if (!input.perKernel.length && !input.failed.length) throw new UsageError('minimize: no kernel to answer for');
  checkSameQuestion(input.perKernel, names ?? input.perKernel.map((r) => r.kernel.id));
  const versionOf = new Map<string, string>([
    ...input.failed.map((f): [string, string] => [f.kernel, f.series ?? '999']),
    ...input.perKernel.map((r): [string, string] => [r.kernel.id, kernelVersionOf(r.kernel.release)]),
  ]);
  const order = [...versionOf.keys()].sort(
    (a, b) => compareVersions(versionOf.get(a) ?? '', versionOf.get(b) ?? '') || a.localeCompare(b),
  );
  const results = order.flatMap((id) => input.perKernel.filter((r) => r.kernel.id === id));
  const release = new Map(results.map((r) => [r.kernel.id, r.kernel.release]));
  // the asked settings' search first, then the others as the first kernel ran them
  const keys = [
    ...new Set(
      results.flatMap((r) =>
        [...r.searches].sort((a, b) => Number(b.kind === 'asked') - Number(a.kind === 'asked')).map(searchKey),
      ),
    ),
  ];
  return {
    ...input,
    perKernel: results,
    order,
    searches: keys.map((k) => searchAcross(k, results, order, release)),
  };
}

/** Whether a minimize.json holds several kernels (a run over kernels, or an earlier merge). */
function isAcrossFile(file: string): boolean {
  try {
    return 'perKernel' in JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/** Whether a file given to `merge` is a minimize.json (of one kernel or several), not a results.json. */
export function isMinimizeFile(file: string): boolean {
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    return typeof raw === 'object' && raw !== null && ('searches' in raw || 'perKernel' in raw) && !('cells' in raw);
  } catch {
    return false;
  }
}

/** minimize.json files (CI jobs, one kernel each, or earlier joins) → one answer over their kernels. */
export function mergeMinimizeFiles(files: string[], runDir: string): MinimizeAcross {
  const perKernel: MinimizeResult[] = [];
  const names: string[] = [];
  const failed: KernelFailure[] = [];
  for (const file of files) {
    if (isAcrossFile(file)) {
      const joined = readJsonFile(file, MinimizeAcrossSchema, 'a minimize.json of several kernels');
      for (const r of joined.perKernel) {
        perKernel.push(r);
        names.push(`${file} (${r.kernel.id})`);
      }
      failed.push(...joined.failed);
    } else {
      perKernel.push(readMinimizeResult(file));
      names.push(file);
    }
  }
  // a kernel that failed in one input and answered in another has an answer
  const answered = new Set(perKernel.map((r) => r.kernel.id));
  return minimizeAcross({ runDir, perKernel, failed: failed.filter((f) => !answered.has(f.kernel)) }, { names });
}
