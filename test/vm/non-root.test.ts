// The host side needs no root: `npm run matrix` (the README's command) as uid 65534 with its own
// HOME and results directory, on the real default kernel. Run as root, the test drops to 65534
// with setpriv; run by a normal user, it already is one. When 65534 cannot read this checkout
// (a clone under /root, say) it runs a copy: the tracked files, node_modules, the built samples
// and the cached default kernel, hard-linked where the filesystem allows.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { loadCatalog } from '../../harness/kernels/catalog.js';
import { kernelDir } from '../../harness/kernels/kernel-info.js';
import { CACHE_DIR, PACKAGE_ROOT } from '../../harness/paths.js';
import type { RunResults } from '../../harness/report/results-json.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const drop = asRoot ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--'] : [];

function run(argv: string[], cwd: string) {
  const [cmd, ...args] = [...drop, ...argv];
  return spawnSync(cmd ?? 'env', args, { cwd, encoding: 'utf8', timeout: 900_000 });
}

function copyCheckout(dest: string): { root: string; cache: string } {
  const root = path.join(dest, 'capmatrix');
  const cache = path.join(dest, 'cache');
  mkdirSync(root);
  const files = spawnSync('git', ['ls-files', '-z'], { cwd: PACKAGE_ROOT, encoding: 'utf8' }).stdout.split('\0');
  const cp = (args: string[]) => {
    const r = spawnSync('cp', args, { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cp ${args.slice(0, 3).join(' ')}…: ${r.stderr}`);
  };
  cp(['-a', '--parents', '-t', root, ...files.filter(Boolean)]);
  linkOrCopy(path.join(PACKAGE_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  linkOrCopy(path.join(PACKAGE_ROOT, 'bpf-src', 'build'), path.join(root, 'bpf-src', 'build'));
  linkOrCopy(path.join(PACKAGE_ROOT, 'harness', 'guest', 'build'), path.join(root, 'harness', 'guest', 'build'));
  linkKernel(cache);
  spawnSync('chmod', ['-R', 'a+rX', dest]);
  return { root, cache };
}

function linkOrCopy(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true });
  const r = spawnSync('cp', ['-al', from, to]);
  if (r.status !== 0) spawnSync('cp', ['-a', from, to]);
}

/** The default kernel in a cache of the test's own (root's per-user cache is closed to others). */
function linkKernel(cache: string): void {
  const id = loadCatalog().default;
  linkOrCopy(kernelDir(id), path.join(cache, 'kernels', id));
}

test('npm run matrix works as a non-root user', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-nonroot-'));
  chmodSync(home, 0o755);
  let root = PACKAGE_ROOT;
  let cache = CACHE_DIR;
  const readable = run(['test', '-r', path.join(PACKAGE_ROOT, 'package.json')], '/');
  if (readable.status !== 0) ({ root, cache } = copyCheckout(home));
  else if (run(['test', '-x', CACHE_DIR], '/').status !== 0) {
    cache = path.join(home, 'cache');
    linkKernel(cache);
    spawnSync('chmod', ['-R', 'a+rX', cache]);
  }
  const userHome = path.join(home, 'home');
  mkdirSync(userHome);
  if (asRoot) chownSync(userHome, NOBODY, NOBODY);
  const results = path.join(userHome, 'results');
  const r = run(
    [
      'env',
      '-i',
      `PATH=${process.env.PATH}`,
      `HOME=${userHome}`,
      `CAPMATRIX_CACHE=${cache}`,
      ...(process.env.CAPMATRIX_DEBIAN_MIRROR
        ? [`CAPMATRIX_DEBIAN_MIRROR=${process.env.CAPMATRIX_DEBIAN_MIRROR}`]
        : []),
      'npm',
      'run',
      'matrix',
      '--',
      '--scenario',
      'sockex1',
      '--cells',
      '^sockex1/(NET_RAW\\+BPF|none)/ubd=2$',
      '--results',
      results,
    ],
    root,
  );
  expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  const run1 = JSON.parse(readFileSync(path.join(results, 'latest', 'results.json'), 'utf8')) as RunResults;
  expect(run1.host.uid).not.toBe(0);
  expect(run1.cells.map((c) => [c.id, c.verdict])).toEqual([
    ['sockex1/none/ubd=2', 'match'],
    ['sockex1/NET_RAW+BPF/ubd=2', 'match'],
  ]);
  expect(run1.cells[1]?.observed?.outcome).toBe('ok');
}, 900_000);
