// results/<run-id>/results.json (schemaVersion 1) and the results/latest link. Rewritten after
// every boot, so a finished boot's cells are on disk whatever happens next.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { BootProvenance } from '../outcome/guest-records.js';
import type { CellResult } from '../outcome/verdict.js';

export interface RunKernel {
  id: string;
  release: string;
  source: unknown;
  accel: 'kvm' | 'tcg';
}

export interface RunResults {
  schemaVersion: 1;
  runId: string;
  startedAt: string;
  finishedAt: string | null;
  host: Record<string, unknown>;
  kernels: RunKernel[];
  cells: CellResult[];
  provenance: { boots: BootProvenance[] };
}

export function newRunId(now = new Date()): string {
  return `${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}-${process.pid}`;
}

export function writeResults(runDir: string, results: RunResults): string {
  mkdirSync(runDir, { recursive: true });
  const file = path.join(runDir, 'results.json');
  writeFileSync(`${file}.tmp`, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
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
  const finished =
    runs
      .map((r) => r.finishedAt ?? '')
      .sort()
      .at(-1) ?? null;
  return {
    schemaVersion: 1,
    runId: `merged-${runs.map((r) => r.runId).join('+')}`.slice(0, 200),
    startedAt: started,
    finishedAt: finished,
    host: { merged: runs.map((r) => ({ runId: r.runId, host: r.host })) },
    kernels: runs.flatMap((r) => r.kernels),
    cells: runs.flatMap((r) => r.cells),
    provenance: { boots: runs.flatMap((r) => r.provenance.boots) },
  };
}
