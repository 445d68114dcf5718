// A run's results as the workflow and action tests feed them to capmatrix's commands, without a
// boot: cells by id with an observed and an expected outcome, one kernel per run.
import type { CellResult } from '../harness/outcome/verdict.js';
import type { RunResults } from '../harness/report/results-json.js';

/** A cell `<scenario>/<set>/<settings>` that observed `observed` where its rule expected `expected`. */
export function fakeCell(
  kernel: string,
  id: string,
  observed: string,
  expected = observed,
  sample = 'sockex1',
): CellResult {
  const [scenario = '', capsName = ''] = id.split('/');
  return {
    id,
    kernel,
    scenario,
    sample,
    caps: [],
    capsName,
    uid: 65534,
    sysctl: {},
    context: 'host',
    observed: { outcome: observed as 'ok', stage: 'run', errno: 0, detail: '' },
    expected: { outcome: expected, stage: 'run', reason: 'r' },
    verdict: observed === expected ? 'match' : 'mismatch',
    boot: `${kernel}-boot1`,
    durationMs: 1,
  };
}

/** A finished run of one kernel (debian-6.12 → release 6.12.0-amd64). */
export function fakeRun(
  kernel: string,
  cells: CellResult[],
  o: { runId?: string; accel?: 'kvm' | 'tcg' } = {},
): RunResults {
  return {
    schemaVersion: 1,
    runId: o.runId ?? `run-${kernel}`,
    startedAt: '2026-12-01T00:00:00Z',
    finishedAt: '2026-12-01T01:00:00Z',
    host: {},
    kernels: [{ id: kernel, release: `${kernel.slice(7)}.0-amd64`, source: {}, accel: o.accel ?? 'tcg' }],
    cells,
    provenance: { boots: [{ boot: `${kernel}-boot1`, kernel }] },
  };
}
