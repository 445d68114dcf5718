// The locks users run under, on real kernels: axes.lockdown (a boot of its own with lockdown= on
// its command line, the level checked in securityfs before each cell, what it takes even from
// CAP_SYS_ADMIN; the capability recorder cannot load at confidentiality, and the boot says so)
// and axes.memlock (5.10 charges a map to RLIMIT_MEMLOCK, 6.12 to the memory cgroup).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { formatOutcome } from '../../harness/dsl/vocabulary.js';
import type { RunResults } from '../../harness/report/results-json.js';
import { runMatrix } from '../../harness/run/matrix.js';

let results: RunResults;
const outcomes = (kernel: string, scenario: string) =>
  Object.fromEntries(
    results.cells
      .filter((c) => c.kernel === kernel && c.scenario === scenario)
      .map((c) => [c.id, c.observed && formatOutcome(c.observed)]),
  );
const boots = (kernel: string) => results.provenance.boots.filter((b) => b.kernel === kernel);

describe('lockdown and memlock on debian-5.10 and the default kernel', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-locks-'));
    ({ results } = await runMatrix({
      kernel: 'debian-5.10,debian-6.12',
      scenarios: ['lockdown-kprobe', 'memlock-map'],
      cells: '^(lockdown-kprobe/SYS_ADMIN/.*lockdown=(none|confidentiality)|memlock-map/.*memlock=64k)$',
      resultsDir: dir,
      log: () => {},
    }));
  }, 900_000);

  test('every cell matched its expectation on both kernels', () => {
    expect(results.cells).toHaveLength(8);
    expect(
      results.cells.filter((c) => c.verdict !== 'match').map((c) => `${c.kernel} ${c.id} ${c.infraError ?? ''}`),
    ).toEqual([]);
  });

  test('lockdown: none lets CAP_SYS_ADMIN open the kprobe, confidentiality refuses it, on both kernels', () => {
    for (const k of ['debian-5.10', 'debian-6.12'])
      expect(outcomes(k, 'lockdown-kprobe'), k).toEqual({
        'lockdown-kprobe/SYS_ADMIN/ubd=2,paranoid=2,lockdown=none': 'ok',
        'lockdown-kprobe/SYS_ADMIN/ubd=2,paranoid=2,lockdown=confidentiality': 'EPERM@perf_open',
      });
  });

  test('each level ran in a boot of its own, booted with it, the guest showing it; the recorder absent there, and said', () => {
    for (const k of ['debian-5.10', 'debian-6.12']) {
      const locked = boots(k).find((b) => b.boot.includes('lockdown-confidentiality'));
      const plain = boots(k).find((b) => !b.boot.includes('lockdown'));
      expect(locked?.guest?.lockdown, k).toBe('none integrity [confidentiality]');
      expect(plain?.guest?.lockdown, k).toBe('[none] integrity confidentiality');
      expect(JSON.stringify(locked?.vm), k).toContain('lockdown=confidentiality');
      expect(locked?.recorderOff, k).toMatch(/capability recorder/);
      expect(plain?.recorderOff, k).toBeUndefined();
    }
    const none = results.cells.find((c) => c.id.endsWith('lockdown=none'));
    expect(none?.capChecks?.length).toBeGreaterThan(0);
  });

  test("memlock 64 KiB: 5.10 refuses CAP_BPF the 1 MiB map (libbpf's failed bump in the cell), CAP_SYS_RESOURCE lifts it; 6.12 charges the memory cgroup", () => {
    expect(outcomes('debian-5.10', 'memlock-map')).toEqual({
      'memlock-map/BPF/ubd=2,memlock=64k': 'EPERM@map_create',
      'memlock-map/SYS_RESOURCE+BPF/ubd=2,memlock=64k': 'ok',
    });
    const refused = results.cells.find(
      (c) => c.kernel === 'debian-5.10' && c.id === 'memlock-map/BPF/ubd=2,memlock=64k',
    );
    expect(refused?.observed?.detail).toMatch(/Failed to bump RLIMIT_MEMLOCK/);
    expect(refused?.capChecks?.some((k) => k.cap === 'CAP_SYS_RESOURCE' && !k.granted)).toBe(true);
    expect(outcomes('debian-6.12', 'memlock-map')).toEqual({
      'memlock-map/BPF/ubd=2,memlock=64k': 'ok',
      'memlock-map/SYS_RESOURCE+BPF/ubd=2,memlock=64k': 'ok',
    });
  });
});
