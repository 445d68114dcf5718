// `report --rediff`: a run's cells judged again against the scenarios as they are now, with
// nothing booted. Pure logic over the real scenarios/ and a results.json-shaped run.
import { describe, expect, test } from 'vitest';
import { loadScenarios } from '../harness/dsl/load.js';
import type { CellResult } from '../harness/outcome/verdict.js';
import { PACKAGE_ROOT } from '../harness/paths.js';
import { rediff, renderRediff } from '../harness/report/rediff.js';
import type { RunResults } from '../harness/report/results-json.js';

const split = (o: string) =>
  o === 'ok' ? { outcome: 'ok', stage: 'run' } : { outcome: o.split('@')[0] ?? '', stage: o.split('@')[1] ?? '' };

function cell(id: string, observed: string | null, expected: string, verdict: CellResult['verdict']): CellResult {
  return {
    id,
    kernel: 'debian-6.12',
    scenario: id.split('/')[0] ?? '',
    sample: 'sockex1',
    caps: [],
    capsName: id.split('/')[1] ?? '',
    uid: 65534,
    sysctl: {},
    context: 'host',
    observed: observed ? { ...split(observed), errno: 1, detail: 'what the kernel said' } : null,
    expected: { ...split(expected), reason: 'an older expectation' },
    verdict,
    durationMs: 120,
    boot: 'debian-6.12-boot1',
    ...(observed ? {} : { infraKind: 'cell-timeout' as const, infraError: 'killed' }),
  } as CellResult;
}

function run(cells: CellResult[]): RunResults {
  return {
    schemaVersion: 1,
    runId: 'rediff-test',
    startedAt: '',
    finishedAt: '',
    host: {},
    kernels: [{ id: 'debian-6.12', release: '6.12.117+deb13-amd64', source: {}, accel: 'tcg' }],
    cells,
    provenance: { boots: [] },
  };
}

describe('report --rediff', async () => {
  const scenarios = await loadScenarios(PACKAGE_ROOT);

  test('a stale expectation is replaced and the verdict follows; observations are never touched', () => {
    const before = run([
      // scenarios/ now expect ok here (NET_RAW at ubd=0); the run was judged against EPERM@probe
      cell('sockex1/NET_RAW/ubd=0', 'ok', 'EPERM@probe', 'mismatch'),
      // and EPERM@probe here: a run judged against ok now matches
      cell('sockex1/none/ubd=2', 'EPERM@probe', 'ok', 'mismatch'),
      // unchanged expectation, unchanged verdict
      cell('sockex1/none/ubd=0', 'EPERM@raw_socket', 'EPERM@raw_socket', 'match'),
      // an infra error stays one, whatever is expected now
      cell('sockex1/NET_RAW/ubd=2', null, 'ok', 'infra-error'),
      cell('gone-scenario/none/ubd=2', 'ok', 'ok', 'match'),
    ]);
    const { run: after, changed, gone } = rediff(before, scenarios);
    const byId = (id: string) => after.cells.find((c) => c.id === id);
    expect(byId('sockex1/NET_RAW/ubd=0')?.verdict).toBe('match');
    expect(byId('sockex1/NET_RAW/ubd=0')?.expected.outcome).toBe('ok');
    expect(byId('sockex1/none/ubd=2')?.verdict).toBe('match');
    expect(byId('sockex1/NET_RAW/ubd=2')?.verdict).toBe('infra-error');
    expect(byId('sockex1/NET_RAW/ubd=2')?.expected).toMatchObject({ outcome: 'EPERM', stage: 'probe' });
    expect(after.cells.map((c) => c.observed)).toEqual(before.cells.map((c) => c.observed));
    expect(changed.map((c) => [c.id, c.from.verdict, c.to.verdict])).toEqual([
      ['sockex1/NET_RAW/ubd=0', 'mismatch', 'match'],
      ['sockex1/none/ubd=2', 'mismatch', 'match'],
      ['sockex1/NET_RAW/ubd=2', 'infra-error', 'infra-error'],
    ]);
    expect(gone).toEqual(['debian-6.12/gone-scenario/none/ubd=2']);
    expect(renderRediff(changed, gone)).toMatch(/sockex1\/NET_RAW\/ubd=0: expected EPERM@probe → ok, mismatch → match/);
  });
});
