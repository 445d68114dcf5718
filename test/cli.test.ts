import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';
import { REPO_ROOT } from '../harness/paths.js';

const tsx = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const cli = path.join(REPO_ROOT, 'harness', 'cli.ts');

test('bad input stops before any VM, with exit code 2 and the allowed values', () => {
  const r = spawnSync(tsx, [cli, 'matrix', '--scenario', 'sockex9'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--scenario: unknown scenario "sockex9" (did you mean sockex1? known: ');
  expect(r.stderr).toContain('no VM was started');
});

test('an unknown kernel id names the known ones', () => {
  const r = spawnSync(tsx, [cli, 'matrix', '--kernel', 'debian-6.99'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain(
    '--kernel: unknown kernel "debian-6.99" (known: debian-6.1, debian-6.12, debian-6.16, debian-7.2, ubuntu-6.14, all)',
  );
});
