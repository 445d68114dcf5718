// action.yml's own `run:` steps, run the way a runner runs a composite action's steps (as
// test/workflow-compare.test.ts runs matrix.yml's): each script in a file, given to its
// `shell:`'s command line; its env from the step's `env:`, with the expressions filled from the
// inputs (the action's defaults under the test's), the earlier steps' outputs and runner.temp;
// GITHUB_OUTPUT a fresh file per step, GITHUB_STEP_SUMMARY one file for the job. `uses:` steps
// (setup-node, cache, JUnit, upload) are not run: the test reads what they would be given.
// A step without `always()` in its `if:` is skipped once a step failed, as on a runner.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { PACKAGE_ROOT } from '../harness/paths.js';

export interface ActionStep {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  with?: Record<string, string>;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
  'working-directory'?: string;
}

export interface ActionMetadata {
  name?: string;
  description?: string;
  inputs?: Record<string, { description?: string; default?: string; required?: boolean }>;
  outputs?: Record<string, { description?: string; value?: string }>;
  runs?: { using?: string; steps?: ActionStep[] };
}

export const ACTION_TEXT = readFileSync(path.join(PACKAGE_ROOT, 'action.yml'), 'utf8');
export const ACTION = parse(ACTION_TEXT) as ActionMetadata;
export const STEPS = ACTION.runs?.steps ?? [];

/** GitHub's command line for a step's shell (docs: "Workflow syntax", jobs.<id>.steps[*].shell). */
const SHELLS: Record<string, string[]> = {
  bash: ['bash', '--noprofile', '--norc', '-eo', 'pipefail'],
  sh: ['sh', '-e'],
};

export interface StepRun {
  step: ActionStep;
  status: number | null;
  out: string;
  outputs: Record<string, string>;
}

export interface Job {
  /** The runner's workspace: the user's checkout. */
  workspace: string;
  summary: string;
  sudoLog: string;
  runs: StepRun[];
  /** The argv of every sudo call, in order. */
  sudoCalls(): string[][];
}

/** `name=value` lines of a GITHUB_OUTPUT file. */
function readOutputs(file: string): Record<string, string> {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** `${{ … }}` in a step's env or working-directory: inputs, steps' outputs, runner.temp. */
function fill(text: string, context: Record<string, string>): string {
  return text.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, expr: string) => {
    if (expr in context) return context[expr] ?? '';
    if (/^steps\.[\w-]+\.outputs\.[\w-]+$/.test(expr)) return ''; // an output not set is empty
    throw new Error(`action.yml: the test cannot evaluate \${{ ${expr} }}`);
  });
}

/** Fake `sudo` and `npm` first on PATH (see fixtures/action/fake-sudo.mjs): nothing boots. */
function fakeBin(dir: string): string {
  const bin = path.join(dir, 'fake-bin');
  mkdirSync(bin);
  const sudo = path.join(PACKAGE_ROOT, 'test', 'fixtures', 'action', 'fake-sudo.mjs');
  const scripts = {
    sudo: `#!/bin/sh\nexec "${process.execPath}" "${sudo}" "$@"\n`,
    npm: `#!/bin/sh\necho "npm $*" >> "$FAKE_SUDO_LOG.npm"\n`,
  };
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(path.join(bin, name), text);
    chmodSync(path.join(bin, name), 0o755);
  }
  return bin;
}

export interface JobOptions {
  inputs: Record<string, string>;
  /** Makes the user's checkout (its files) before the steps run. */
  project?: (workspace: string) => void;
  /** A finished run's directory the fake capmatrix leaves in results/. */
  fixture?: string;
  /** The fake capmatrix run's exit code. */
  runExit?: number;
  /** The last step to run (by id), for a test of the command line alone: each step is a process
   * of its own, and the summary's `report` is the slowest. */
  until?: string;
}

export function runJob(o: JobOptions): Job {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-action-'));
  const workspace = path.join(dir, 'workspace');
  const temp = path.join(dir, 'runner-temp');
  mkdirSync(workspace);
  mkdirSync(temp);
  o.project?.(workspace);
  const summary = path.join(dir, 'summary.md');
  const sudoLog = path.join(dir, 'sudo.log');
  writeFileSync(summary, '');
  writeFileSync(sudoLog, '');
  const defaults = Object.fromEntries(Object.entries(ACTION.inputs ?? {}).map(([k, v]) => [k, v.default ?? '']));
  const inputs = { ...defaults, ...o.inputs };
  const context: Record<string, string> = { 'runner.temp': temp };
  for (const [k, v] of Object.entries(inputs)) context[`inputs.${k}`] = v;
  const bin = fakeBin(dir);
  const runs: StepRun[] = [];
  const last = o.until ? STEPS.findIndex((s) => s.id === o.until) : STEPS.length - 1;
  if (last < 0) throw new Error(`action.yml has no step ${o.until}`);
  STEPS.forEach((step, i) => {
    if (!step.run || i > last) return;
    if (runs.some((r) => r.status !== 0) && !step.if?.includes('always()')) return;
    const script = path.join(dir, `step-${i}.sh`);
    const output = path.join(dir, `output-${i}`);
    writeFileSync(script, step.run);
    writeFileSync(output, '');
    const env = Object.fromEntries(Object.entries(step.env ?? {}).map(([k, v]) => [k, fill(v, context)]));
    const [shell = 'bash', ...flags] = SHELLS[step.shell ?? ''] ?? [];
    const r = spawnSync(shell, [...flags, script], {
      cwd: path.resolve(workspace, fill(step['working-directory'] ?? '.', context)),
      encoding: 'utf8',
      env: {
        ...process.env,
        PATH: `${bin}:${process.env.PATH}`,
        GITHUB_ACTION_PATH: PACKAGE_ROOT,
        GITHUB_WORKSPACE: workspace,
        GITHUB_OUTPUT: output,
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_ENV: path.join(dir, 'env'),
        RUNNER_TEMP: temp,
        FAKE_SUDO_LOG: sudoLog,
        FAKE_RUN_FIXTURE: o.fixture ?? '',
        FAKE_CAPMATRIX_EXIT: String(o.runExit ?? 0),
        ...env,
      },
    });
    const outputs = readOutputs(output);
    if (step.id) for (const [k, v] of Object.entries(outputs)) context[`steps.${step.id}.outputs.${k}`] = v;
    runs.push({ step, status: r.status, out: `${r.stdout}\n${r.stderr}`, outputs });
  });
  return {
    workspace,
    summary,
    sudoLog,
    runs,
    sudoCalls: () =>
      readFileSync(sudoLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as string[]),
  };
}

/** The run of the step with this id. */
export function stepRun(job: Job, id: string): StepRun {
  const r = job.runs.find((x) => x.step.id === id);
  if (!r) throw new Error(`step ${id} did not run:\n${job.runs.map((x) => `${x.step.name}: ${x.out}`).join('\n')}`);
  return r;
}
