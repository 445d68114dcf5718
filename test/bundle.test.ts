// `report --bundle`: the tarball a bug report gets. What is in it, what the README tells the
// reader to run, and that a symlink a guest left in its writable directory pulls no host file in.
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { describe, expect, test } from 'vitest';
import type { CellResult } from '../harness/outcome/verdict.js';
import { writeBundle } from '../harness/report/bundle.js';
import type { RunResults } from '../harness/report/results-json.js';

const cell = (kernel: string, observed: string, expected: string): CellResult =>
  ({
    id: 'sockex1/BPF/ubd=2',
    kernel,
    scenario: 'sockex1',
    sample: 'sockex1',
    caps: ['CAP_BPF'],
    capsName: 'BPF',
    uid: 65534,
    sysctl: {},
    context: 'host',
    observed: observed === 'ok' ? { outcome: 'ok', stage: 'run' } : { outcome: 'EPERM', stage: 'raw_socket', errno: 1 },
    expected:
      expected === 'ok'
        ? { outcome: 'ok', stage: 'run', reason: 'r' }
        : { outcome: 'EPERM', stage: 'raw_socket', reason: 'r' },
    verdict: observed === expected ? 'match' : 'mismatch',
    durationMs: 300,
    boot: `${kernel}-boot1`,
  }) as CellResult;

const run: RunResults = {
  schemaVersion: 1,
  runId: 'r1',
  startedAt: '2026-12-03T00:00:00Z',
  finishedAt: '2026-12-03T00:01:00Z',
  host: { capmatrix: { version: '0.1.0', commit: 'abcdef0123456789' } },
  kernels: [
    { id: 'debian-6.1', release: '6.1.0-50-amd64', source: {}, accel: 'tcg' },
    { id: 'debian-6.12', release: '6.12.117+deb13-amd64', source: {}, accel: 'tcg' },
  ],
  cells: [cell('debian-6.1', 'EPERM', 'EPERM'), cell('debian-6.12', 'ok', 'EPERM')],
  provenance: {
    boots: ['debian-6.1', 'debian-6.12'].map((k) => ({
      boot: `${k}-boot1`,
      kernel: k,
      guest: { release: k },
      consoleLog: `boots/${k}-boot1/console.log`,
    })),
  },
};

describe('report --bundle', () => {
  test('results, reports, each boot’s log and provenance, a README with the commands; no host file through a symlink', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-bundle-test-'));
    const secret = path.join(dir, 'host-secret');
    writeFileSync(secret, 'HOST SECRET\n');
    for (const k of ['debian-6.1', 'debian-6.12']) {
      mkdirSync(path.join(dir, 'boots', `${k}-boot1`, 'guest'), { recursive: true });
      writeFileSync(path.join(dir, 'boots', `${k}-boot1`, 'console.log'), `console of ${k}\n`);
    }
    writeFileSync(path.join(dir, 'boots', 'debian-6.1-boot1', 'guest', 'guest-results.jsonl'), '{}\n');
    symlinkSync(secret, path.join(dir, 'boots', 'debian-6.12-boot1', 'guest', 'guest-results.jsonl'));
    const out = path.join(dir, 'out.tar.gz');
    const entries = await writeBundle(run, dir, out);
    const top = 'capmatrix-bundle/';
    for (const f of ['README.md', 'results.json', 'report.md', 'report.html', 'junit.xml', 'kernel-report.md'])
      expect(entries).toContain(top + f);
    expect(entries).toContain(`${top}boots/debian-6.12-boot1/console.log`);
    expect(entries).toContain(`${top}boots/debian-6.12-boot1/provenance.json`);
    expect(entries).toContain(`${top}boots/debian-6.1-boot1/guest/guest-results.jsonl`);
    expect(entries).not.toContain(`${top}boots/debian-6.12-boot1/guest/guest-results.jsonl`);

    const x = path.join(dir, 'x');
    mkdirSync(x);
    await tar.extract({ file: out, cwd: x });
    const readme = readFileSync(path.join(x, top, 'README.md'), 'utf8');
    expect(readme).toContain('capmatrix 0.1.0 (commit abcdef012345)');
    expect(readme).toContain('npm run matrix -- --kernel debian-6.1,debian-6.12\n');
    expect(readme).toContain(
      "mismatch: `debian-6.12` `sockex1/BPF/ubd=2`: observed ok, expected EPERM@raw_socket\n\n  `npm run matrix -- --kernel debian-6.12 --cells '^sockex1/BPF/ubd=2$'`",
    );
    expect(readme).toContain(
      'changes on `debian-6.12`: `sockex1/BPF/ubd=2`: debian-6.1 EPERM@raw_socket, debian-6.12 ok',
    );
    expect(readFileSync(path.join(x, top, 'boots/debian-6.1-boot1/console.log'), 'utf8')).toBe(
      'console of debian-6.1\n',
    );
    expect(JSON.parse(readFileSync(path.join(x, top, 'results.json'), 'utf8')).runId).toBe('r1');
  });
});
