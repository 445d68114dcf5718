// results/<run-id>/results.json (schemaVersion 1) and the results/latest link. Rewritten
// (atomically) after every boot and on Ctrl-C, so finished cells are on disk whatever happens
// next; what a killed harness did not write, the boots' guest-results.jsonl still hold (--resume).
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import type { ProvenanceRecord } from '../guest/protocol.js';
import type { Attempt } from '../outcome/attempts.js';
import type { Violation } from '../outcome/guest-records.js';
import type { CellResult } from '../outcome/verdict.js';
import { writeFileAtomic } from '../write-atomic.js';

/** One boot's entry in results.json provenance.boots. */
export interface BootProvenance {
  boot: string;
  kernel: string;
  /** What the guest agent recorded at its start (baselines written before protocol 2 lack a few fields). */
  guest?: Partial<ProvenanceRecord> | null;
  consoleLog?: string;
  agentFinished?: boolean;
  vm?: { ended: string; wallMs: number; bootMs: number | null; [key: string]: unknown };
  /** Lines of the guest's results file that were not the agent's or out of the protocol. */
  violations?: Violation[];
  [key: string]: unknown;
}

export interface RunKernel {
  id: string;
  release: string;
  source: unknown;
  accel: 'kvm' | 'tcg';
}

/** What a run was asked to do: enough for --resume to plan the same cells again. */
export interface RunOptions {
  kernel?: string;
  scenarios?: string[];
  scenarioDir?: string;
  cells?: string;
  repeat: number;
  retries: number;
  memory?: string;
  kernelArgs?: string[];
}

export interface RunResults {
  schemaVersion: 1;
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  host: Record<string, unknown>;
  kernels: RunKernel[];
  /** Settled cells (every run has an outcome or used up its retries), in plan order. */
  cells: CellResult[];
  provenance: { boots: BootProvenance[] };
  options?: RunOptions;
  /** Every attempt of every cell, settled or not (what --resume starts from). */
  attempts?: Attempt[];
  /** Set when Ctrl-C/SIGTERM ended the run; `pendingCells` did not settle. */
  interrupted?: string;
  pendingCells?: number;
  /** The cells that did not settle (an interrupted run's), by kernel and id. */
  pending?: { kernel: string; id: string }[];
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
  writeFileAtomic(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

export function linkLatest(resultsDir: string, runId: string): void {
  const link = path.join(resultsDir, 'latest');
  rmSync(link, { force: true });
  symlinkSync(runId, link);
}

/** One run from several (one per kernel, e.g. from CI jobs): kernels, cells and boots side by side. */
export function mergeRuns(runs: RunResults[]): RunResults {
  if (runs.length === 0) throw new Error('merge: no runs');
  const ids = runs.flatMap((r) => r.kernels.map((k) => k.id));
  const dup = ids.find((x, i) => ids.indexOf(x) !== i);
  if (dup) throw new Error(`merge: kernel ${dup} appears in more than one run`);
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
    runId: `merged-${runs.map((r) => r.runId).join('+')}`.slice(0, 200),
    startedAt: started,
    finishedAt: finished,
    host: { merged: runs.map((r) => ({ runId: r.runId, host: r.host })) },
    kernels: runs.flatMap((r) => r.kernels),
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
