// axes.lockdown on the real default kernel: a boot of its own with lockdown= on its command line,
// the level checked in securityfs before each cell, and what it takes even from CAP_SYS_ADMIN;
// the capability recorder cannot load at confidentiality, and the boot says so.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { formatOutcome } from '../../harness/dsl/vocabulary.js';
import type { RunResults } from '../../harness/report/results-json.js';
import { runMatrix } from '../../harness/run/matrix.js';

let results: RunResults;

describe('the kprobe under lockdown on the default kernel', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-lockdown-'));
    ({ results } = await runMatrix({
      scenarios: ['lockdown-kprobe'],
      cells: '^lockdown-kprobe/SYS_ADMIN/.*lockdown=(none|confidentiality)$',
      resultsDir: dir,
      log: () => {},
    }));
  }, 900_000);

  test('none: records arrive; confidentiality: the kprobe PMU is refused to CAP_SYS_ADMIN', () => {
    expect(Object.fromEntries(results.cells.map((c) => [c.id, c.observed && formatOutcome(c.observed)]))).toEqual({
      'lockdown-kprobe/SYS_ADMIN/ubd=2,paranoid=2,lockdown=none': 'ok',
      'lockdown-kprobe/SYS_ADMIN/ubd=2,paranoid=2,lockdown=confidentiality': 'EPERM@perf_open',
    });
    expect(results.cells.every((c) => c.verdict === 'match')).toBe(true);
  });

  test('each level ran in a boot of its own, booted with it, the guest showing it', () => {
    const locked = results.provenance.boots.find((b) => b.boot.includes('lockdown-confidentiality'));
    const plain = results.provenance.boots.find((b) => !b.boot.includes('lockdown'));
    expect(locked?.guest?.lockdown).toBe('none integrity [confidentiality]');
    expect(plain?.guest?.lockdown).toBe('[none] integrity confidentiality');
    expect(JSON.stringify(locked?.vm)).toContain('lockdown=confidentiality');
  });

  test("the recorder of the kernel's checks could not load at confidentiality, and that boot says so", () => {
    const locked = results.provenance.boots.find((b) => b.boot.includes('lockdown-confidentiality'));
    const plain = results.provenance.boots.find((b) => !b.boot.includes('lockdown'));
    expect(locked?.recorderOff).toMatch(/capability recorder/);
    expect(plain?.recorderOff).toBeUndefined();
    const none = results.cells.find((c) => c.id.endsWith('lockdown=none'));
    expect(none?.capChecks?.length).toBeGreaterThan(0);
  });
});
