// results/<run-id>/results.json (schemaVersion 1) and the results/latest link. Rewritten after
// every boot, so a finished boot's cells are on disk whatever happens next.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
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
  provenance: { boots: Record<string, unknown>[] };
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
