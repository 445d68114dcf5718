// The weekly workflow's compare step, run as GitHub runs it (its own lines, its own shell), fed a
// run with a moved cell, a vanished cell and a kernel without a baseline: it must fail, say all
// three, and put the report into the job summary once.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../harness/paths.js';
import type { RunResults } from '../harness/report/results-json.js';
import { fakeCell as cell, fakeRun as results } from './fake-runs.js';

interface Step {
  name?: string;
  shell?: string;
  run?: string;
}
const workflow = parse(readFileSync(path.join(PACKAGE_ROOT, '.github', 'workflows', 'matrix.yml'), 'utf8')) as {
  jobs: Record<string, { steps: Step[] }>;
};
const step = Object.values(workflow.jobs)
  .flatMap((j) => j.steps)
  .find((s) => s.run?.includes('--compare baselines'));

/** GitHub's command line for a step's shell (docs: "Workflow syntax", jobs.<id>.steps[*].shell). */
const SHELLS: Record<string, string[]> = {
  bash: ['bash', '--noprofile', '--norc', '-eo', 'pipefail'],
  default: ['bash', '-e'],
};

test('the compare step fails on a moved cell, a vanished cell and a missing baseline, and says so', () => {
  expect(step?.run, 'matrix.yml has a step that compares with the baselines').toBeDefined();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-workflow-'));
  for (const name of ['harness', 'node_modules', 'scenarios', 'kernels', 'package.json'])
    symlinkSync(path.join(PACKAGE_ROOT, name), path.join(dir, name));
  const put = (file: string, run: RunResults) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(run));
  };
  // the committed baselines are the checkout's baselines/, beside the artifacts
  put(
    path.join(dir, 'baselines', 'debian-6.12.json'),
    results('debian-6.12', [
      cell('debian-6.12', 'sockex1/BPF/ubd=2', 'EPERM'),
      cell('debian-6.12', 'sockex1/none/ubd=2', 'EPERM'),
    ]),
  );
  put(
    path.join(dir, 'artifacts', 'results-debian-6.12', '20261201T000000Z-1', 'results.json'),
    results('debian-6.12', [cell('debian-6.12', 'sockex1/BPF/ubd=2', 'ok')]),
  );
  put(
    path.join(dir, 'artifacts', 'results-debian-6.16', '20261201T000000Z-2', 'results.json'),
    results('debian-6.16', [cell('debian-6.16', 'sockex1/BPF/ubd=2', 'ok')]),
  );
  const script = path.join(dir, 'step.sh');
  writeFileSync(script, step?.run ?? '');
  const summary = path.join(dir, 'summary.md');
  writeFileSync(summary, '');
  const [shell = 'bash', ...flags] = SHELLS[step?.shell ?? 'default'] ?? [];
  const r = spawnSync(shell, [...flags, script], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, CAPMATRIX_RESULTS: path.join(dir, 'results'), GITHUB_STEP_SUMMARY: summary },
  });
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.status, out).toBe(1);
  expect(out).toContain('debian-6.12 sockex1/BPF/ubd=2: EPERM@run → ok');
  expect(out).toContain('debian-6.12 sockex1/none/ubd=2: EPERM@run → absent from this run');
  expect(out).toMatch(/warning: no baseline .*debian-6\.16\.json/);
  // the report once in the job summary, with the comparison
  const text = readFileSync(summary, 'utf8');
  expect(text.split('# capmatrix').length - 1).toBe(1);
  expect(text).toContain('absent from this run');
});
