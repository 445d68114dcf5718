// capmatrix's own identity: its version, and the commit when it runs from a git checkout.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { run } from './exec.js';
import { PACKAGE_ROOT } from './paths.js';

export const CAPMATRIX_VERSION: string = JSON.parse(
  readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'),
).version;

/** The checkout's commit (with "-dirty" when it has changes), or null for an installed package. */
export function capmatrixCommit(): string | null {
  if (!existsSync(path.join(PACKAGE_ROOT, '.git'))) return null;
  const head = run('git', ['-C', PACKAGE_ROOT, 'rev-parse', 'HEAD']);
  if (!head.ok) return null;
  const dirty = run('git', ['-C', PACKAGE_ROOT, 'status', '--porcelain', '--untracked-files=no']);
  return `${head.stdout.trim()}${dirty.ok && dirty.stdout.trim() ? '-dirty' : ''}`;
}

export function capmatrixInfo(): { version: string; commit: string | null } {
  return { version: CAPMATRIX_VERSION, commit: capmatrixCommit() };
}
