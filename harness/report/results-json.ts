// results/<run-id>/results.json (schemaVersion 1) and the results/latest link. Rewritten
// (atomically) after every boot and on Ctrl-C, so finished cells are on disk whatever happens
// next; what a killed harness did not write, the boots' guest-results.jsonl still hold (--resume).
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { partial } from 'zod/mini';
import { PrepareFiguresSchema, ProvenanceRecordSchema } from '../guest/protocol.js';
import { AttemptSchema } from '../outcome/attempts.js';
import { CellResultSchema } from '../outcome/verdict.js';
import { readJsonFile } from '../read-json.js';
import { writeFileAtomic } from '../write-atomic.js';

/** One boot's entry in results.json provenance.boots. */
export const BootProvenanceSchema = z.looseObject({
  boot: z.string(),
  kernel: z.string(),
  /** What the guest agent recorded at its start (baselines written before protocol 2 lack a few fields). */
  guest: z.nullable(partial(ProvenanceRecordSchema)).optional(),
  consoleLog: z.string().optional(),
  agentFinished: z.boolean().optional(),
  /** What making the boot's sample copies (copy, setcap, getcap) cost. */
  prepare: z.optional(PrepareFiguresSchema),
  /** Each part of the guest's fingerprint: its median cost per cell (ms). */
  fingerprint: z.record(z.string(), z.number()).optional(),
  /** Each part of a cell's housekeeping (its directory, cgroup, the reset's checks): its median
   * cost per cell (ms). */
  cellParts: z.record(z.string(), z.number()).optional(),
  /** Why the capability recorder did not run in this boot (its cells carry no kernel checks):
   * lockdown=confidentiality refuses its probe reads, say. */
  recorderOff: z.string().optional(),
  /** Where the boot's time went until its first cell (ms by phase: outcome/boot-phases.ts). */
  phases: z.record(z.string(), z.number()).optional(),
  vm: z.looseObject({ ended: z.string(), wallMs: z.number(), bootMs: z.number().nullable() }).optional(),
  /** Lines of the guest's results file that were not the agent's or out of the protocol. */
  violations: z.array(z.object({ line: z.number(), why: z.string(), key: z.string().nullable() })).optional(),
});
export type BootProvenance = z.infer<typeof BootProvenanceSchema>;

export const RunKernelSchema = z.object({
  id: z.string(),
  release: z.string(),
  source: z.unknown(),
  accel: z.enum(['kvm', 'tcg']),
  /** The state of each config option an expectation's `requires` names (y, m, n, unknown). */
  config: z.record(z.string(), z.string()).optional(),
});
export type RunKernel = z.infer<typeof RunKernelSchema>;

/** What a run was asked to do: enough for --resume to plan the same cells again. */
export const RunOptionsSchema = z.object({
  kernel: z.string().optional(),
  scenarios: z.array(z.string()).optional(),
  scenarioDir: z.string().optional(),
  cells: z.string().optional(),
  repeat: z.number().int().positive(),
  retries: z.number().int().nonnegative(),
  memory: z.string().optional(),
  kernelArgs: z.array(z.string()).optional(),
  /** The user's programs shared boots (--share-boots): each can have decided the others' cells. */
  shareBoots: z.boolean().optional(),
});
export type RunOptions = z.infer<typeof RunOptionsSchema>;

/** Where results.json's JSON Schema is, in the package (schema/, generated from this module). */
export const RESULTS_SCHEMA_REF = 'schema/results.schema.json';

/** results/<run-id>/results.json: one definition, the TypeScript type and the JSON Schema both. */
export const RunResultsSchema = z.object({
  $schema: z.string().optional(),
  schemaVersion: z.literal(1),
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  host: z.record(z.string(), z.unknown()),
  kernels: z.array(RunKernelSchema),
  /** Settled cells (every run has an outcome or used up its retries), in plan order. */
  cells: z.array(CellResultSchema),
  provenance: z.object({ boots: z.array(BootProvenanceSchema) }),
  options: RunOptionsSchema.optional(),
  /** Every attempt of every cell, settled or not (what --resume starts from). */
  attempts: z.array(AttemptSchema).optional(),
  /** Set when Ctrl-C/SIGTERM ended the run; `pendingCells` did not settle. */
  interrupted: z.string().optional(),
  pendingCells: z.number().int().nonnegative().optional(),
  /** The cells that did not settle (an interrupted run's), by kernel and id. */
  pending: z.array(z.object({ kernel: z.string(), id: z.string() })).optional(),
});
export type RunResults = z.infer<typeof RunResultsSchema>;

/** results.json's JSON Schema, generated from RunResultsSchema (committed as schema/results.schema.json). */
export function resultsJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(RunResultsSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'capmatrix results.json',
  };
}

/** Reads and checks a results.json; a wrong one is named with the field that is wrong. */
export function readResults(file: string): RunResults {
  return readJsonFile(file, RunResultsSchema, 'a results.json', ` (see ${RESULTS_SCHEMA_REF})`);
}

let runsStarted = 0;

/** `<UTC time>-<pid>`, and `.<n>` for a second run started by the same process. */
export function newRunId(now = new Date()): string {
  const n = runsStarted++;
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${process.pid}${n ? `.${n}` : ''}`;
}

export function writeResults(runDir: string, results: RunResults): string {
  mkdirSync(runDir, { recursive: true });
  const file = path.join(runDir, 'results.json');
  writeFileAtomic(file, `${JSON.stringify({ $schema: RESULTS_SCHEMA_REF, ...results }, null, 2)}\n`);
  return file;
}

export function linkLatest(resultsDir: string, runId: string): void {
  const link = path.join(resultsDir, 'latest');
  rmSync(link, { force: true });
  symlinkSync(runId, link);
}

/** Each kernel once. Two runs of one kernel (a run of new scenarios completing a baseline) must
 * be of the same build; their cells must not overlap (checked by the caller). */
function mergedKernels(runs: RunResults[]): RunKernel[] {
  const byId = new Map<string, RunKernel>();
  for (const k of runs.flatMap((r) => r.kernels)) {
    const had = byId.get(k.id);
    if (had && had.release !== k.release)
      throw new Error(`merge: kernel ${k.id} is ${had.release} in one run and ${k.release} in another`);
    // the config states each run recorded (runs of other cells name other options) side by side
    byId.set(k.id, had ? { ...had, ...(had.config || k.config ? { config: { ...had.config, ...k.config } } : {}) } : k);
  }
  return [...byId.values()];
}

/** The runs a run was made of: itself, or, for a merge, the runs its `host.merged` names, down to
 * the ones that were not merges (baselines split from a merge and merged again name each run once). */
function sourceRunIds(runId: string, host: unknown): string[] {
  const merged = (host as { merged?: { runId?: unknown; host?: unknown }[] } | undefined)?.merged;
  if (!Array.isArray(merged) || merged.length === 0) return [runId];
  return merged.flatMap((m) => sourceRunIds(String(m.runId ?? ''), m.host));
}

/** One run from several (one per kernel, e.g. from CI jobs, or runs of one kernel with different
 * cells): kernels, cells and boots side by side. */
export function mergeRuns(runs: RunResults[]): RunResults {
  if (runs.length === 0) throw new Error('merge: no runs');
  const kernels = mergedKernels(runs);
  const seen = new Set<string>();
  for (const c of runs.flatMap((r) => r.cells)) {
    const key = `${c.kernel} ${c.id}`;
    if (seen.has(key)) throw new Error(`merge: cell ${c.id} of kernel ${c.kernel} is in more than one run`);
    seen.add(key);
  }
  const started = runs.map((r) => r.startedAt).sort()[0] ?? '';
  // a run killed halfway stays unfinished in the merge: it says which, and how many cells it lacks
  const unfinished = runs.filter((r) => !r.finishedAt || r.interrupted || (r.pendingCells ?? 0) > 0);
  const finished = unfinished.length
    ? null
    : (runs
        .map((r) => r.finishedAt ?? '')
        .sort()
        .at(-1) ?? null);
  return {
    schemaVersion: 1,
    runId: `merged-${[...new Set(runs.flatMap((r) => sourceRunIds(r.runId, r.host)))].join('+')}`.slice(0, 200),
    startedAt: started,
    finishedAt: finished,
    host: { merged: runs.map((r) => ({ runId: r.runId, host: r.host })) },
    kernels,
    cells: runs.flatMap((r) => r.cells),
    provenance: { boots: runs.flatMap((r) => r.provenance.boots) },
    ...(unfinished.length
      ? {
          interrupted: unfinished
            .map((r) => `${r.kernels.map((k) => k.id).join(',')}: ${r.interrupted ?? 'not finished'}`)
            .join('; '),
          pendingCells: unfinished.reduce((n, r) => n + (r.pendingCells ?? 0), 0),
          pending: unfinished.flatMap((r) => r.pending ?? []),
        }
      : {}),
    attempts: runs.flatMap((r) => r.attempts ?? []),
  };
}
