import { describe, expect, test } from 'vitest';
import { loadScenarios } from '../harness/dsl/load.js';
import { parseExpectation } from '../harness/dsl/vocabulary.js';
import { PACKAGE_ROOT } from '../harness/paths.js';
import { judgeClaim } from '../harness/report/claims.js';
import type { RunResults } from '../harness/report/results-json.js';
import { SEED_CLAIMS } from '../scenarios/claims/seed-claims.js';

describe('seed claims', () => {
  test('every claim names existing cells and well-formed outcomes', async () => {
    const ids = new Set((await loadScenarios(PACKAGE_ROOT)).flatMap((s) => s.cells.map((c) => c.id)));
    for (const claim of SEED_CLAIMS) {
      for (const c of claim.cells) {
        expect(ids.has(c.id), `${claim.talk}: unknown cell ${c.id}`).toBe(true);
        expect(typeof parseExpectation(c.claimed), c.claimed).toBe('object');
      }
    }
  });

  const run = (observed: [string, string][], version = '6.12.117-1'): RunResults =>
    ({
      kernels: [{ id: 'k', release: 'r', source: { files: [{ version }] }, accel: 'tcg' }],
      cells: observed.map(([id, o]) => {
        const [outcome, stage] = o === 'ok' ? ['ok', 'run'] : o.split('@');
        return { id, kernel: 'k', observed: { outcome, stage, errno: 0, detail: '' } };
      }),
    }) as unknown as RunResults;
  const claim = {
    claim: 'c',
    talk: 'l.1',
    cells: [
      { id: 'a', claimed: 'ok' },
      { id: 'b', claimed: 'EPERM@probe' },
    ],
  };

  test.each([
    [
      [
        ['a', 'ok'],
        ['b', 'EPERM@probe'],
      ],
      'holds',
    ],
    [
      [
        ['a', 'ok'],
        ['b', 'ok'],
      ],
      'partly',
    ],
    [
      [
        ['a', 'EACCES@perf_open'],
        ['b', 'ok'],
      ],
      'refuted',
    ],
    [[], 'not run'],
  ] as [[string, string][], string][])('%j → %s', (observed, verdict) => {
    expect(judgeClaim(claim, run(observed), 'k').verdict).toBe(verdict);
  });

  test('a refutation quotes what the kernel did', () => {
    expect(
      judgeClaim(
        claim,
        run([
          ['a', 'EACCES@perf_open'],
          ['b', 'EPERM@probe'],
        ]),
        'k',
      ).evidence,
    ).toEqual(['`a`: EACCES@perf_open, not ok']);
  });

  test('a claim about what a kernel lacks is not applicable there, with why; judged where it applies', () => {
    const tokens = { ...claim, appliesOn: { ranges: [{ since: '6.9' }], why: 'tokens arrived in 6.9' } };
    const seen = run([['a', 'EPERM@bpffs_create']], '6.1.176-1');
    expect(judgeClaim(tokens, seen, 'k')).toEqual({ verdict: 'not applicable', evidence: ['tokens arrived in 6.9'] });
    expect(judgeClaim(tokens, run([['a', 'EPERM@bpffs_create']]), 'k').verdict).toBe('refuted');
    const ranged = { ...claim, appliesOn: { ranges: [{ since: '5.8', until: '6.12.39' }], why: 'reverted' } };
    expect(judgeClaim(ranged, run([['a', 'ok']], '6.12.38-1'), 'k').verdict).toBe('partly');
    expect(judgeClaim(ranged, run([['a', 'ok']], '6.12.39-1'), 'k').verdict).toBe('not applicable');
  });

  test('cells with a setting the talk never used are shown, never judged', () => {
    const beyond = { ...claim, cells: [claim.cells[0], { id: 'b', claimed: 'ok', beyondTalk: 'paranoid=3' }] };
    const judged = judgeClaim(
      beyond as typeof claim,
      run([
        ['a', 'ok'],
        ['b', 'EACCES@perf_open'],
      ]),
      'k',
    );
    expect(judged).toEqual({ verdict: 'holds', evidence: ['beyond the talk (paranoid=3): `b`: EACCES@perf_open'] });
  });
});
