// action.yml, the composite action for a user's repository: its metadata and pins, no input
// pasted into a script, and its own steps run (test/action-steps.ts) with capmatrix's real CLI
// fed finished runs, so no VM boots: a fake `sudo` first on PATH stands in for the run (it
// records the command line and leaves the run's files), and runs `capmatrix report` for real.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { capmatrixArgs, commandLine } from '../harness/action/command-line.js';
import { readInputs } from '../harness/action/inputs.js';
import { verdict } from '../harness/action/verdict.js';
import type { CellResult } from '../harness/outcome/verdict.js';
import { PACKAGE_ROOT } from '../harness/paths.js';
import { ACTION, ACTION_TEXT, type Job, runJob, STEPS, stepRun } from './action-steps.js';
import { fakeCell, fakeRun } from './fake-runs.js';
import { minimizeResult } from './minimize-results.js';

const cell = (kernel: string, id: string, observed: string, expected = observed) =>
  fakeCell(kernel, id, observed, expected, 'my-loader');
const results = (kernel: string, cells: CellResult[]) =>
  fakeRun(kernel, cells, { runId: '20261201T000000Z-1', accel: 'kvm' });

const BIN = path.join(PACKAGE_ROOT, 'harness', 'bin', 'capmatrix.mjs');

/** A finished run's directory (named as capmatrix names it), holding `file`. */
function fixture(name: string, file: string, content: unknown): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'capmatrix-action-run-')), name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, file), JSON.stringify(content));
  return dir;
}

const exitOf = (job: Job, id: string) => stepRun(job, id).outputs['exit-code'];
/** The command line the run step gave sudo: what follows `env PATH=… node`. */
const runCommand = (job: Job) => job.sudoCalls().find((a) => a.includes('matrix') || a.includes('minimize')) ?? [];

describe('the metadata', () => {
  test('a composite action: name, description, every input described, every run step with its shell', () => {
    expect(ACTION.name).toBe('capmatrix');
    expect(ACTION.description).toBeTruthy();
    expect(ACTION.runs?.using).toBe('composite');
    for (const [name, input] of Object.entries(ACTION.inputs ?? {})) {
      expect(input.description, name).toBeTruthy();
      expect(typeof input.default, `${name}: a default, as a string`).toBe('string');
    }
    for (const [name, output] of Object.entries(ACTION.outputs ?? {})) expect(output.value, name).toMatch(/^\$\{\{/);
    for (const step of STEPS) {
      expect(Boolean(step.run) !== Boolean(step.uses), JSON.stringify(step)).toBe(true);
      if (step.run) expect(step.shell, step.name).toBe('bash');
    }
    expect(Object.keys(ACTION.inputs ?? {})).toEqual(
      expect.arrayContaining([
        'object',
        'program',
        'exec',
        'scenarios',
        'kernels',
        'emit',
        'debian-mirror',
        'working-directory',
        'fail-on-mismatch',
        'require-kvm',
      ]),
    );
  });

  test("every action is pinned by commit, with its version, the same commits as the workflows'", () => {
    const workflows = ['ci.yml', 'matrix.yml']
      .map((f) => readFileSync(path.join(PACKAGE_ROOT, '.github', 'workflows', f), 'utf8'))
      .join('\n');
    const uses = [...ACTION_TEXT.matchAll(/uses: (\S+) # (v\S+)/g)];
    expect(uses.length).toBe(STEPS.filter((s) => s.uses).length);
    for (const [, use] of uses) {
      expect(use).toMatch(/^[\w-]+\/[\w-]+@[0-9a-f]{40}$/);
      expect(workflows, `${use} as the workflows pin it`).toContain(use);
    }
  });

  test('no input, output or other expression is pasted into a script: they come through env', () => {
    for (const step of STEPS.filter((s) => s.run)) {
      expect(step.run, step.name).not.toContain('${{');
      expect(step.run, step.name).not.toMatch(/inputs\./);
    }
    // the inputs reach the run step through its env
    expect(STEPS.find((s) => s.id === 'run')?.env?.INPUT_OBJECT).toMatch(/^\$\{\{ inputs\.object \}\}$/);
  });
});

// each job runs tsx four to six times: seconds each on two busy cores
describe('the run step builds the command line', { timeout: 120_000 }, () => {
  test('object: minimize --object with its programs, kernels and forms, under sudo, after npm ci and KVM', () => {
    const job = runJob({
      inputs: {
        object: 'build/prog.bpf.o',
        program: 'xdp_len, tc_pass',
        kernels: 'debian-5.10 debian-6.12',
        emit: 'systemd,docker',
        'debian-mirror': 'http://mirror.example/debian',
      },
      until: 'run',
    });
    expect(exitOf(job, 'run')).toBe('0');
    const argv = runCommand(job);
    expect(argv.slice(0, 2)).toEqual([
      '--preserve-env=CAPMATRIX_DEBIAN_MIRROR,CAPMATRIX_DEBIAN_SECURITY_MIRROR,CAPMATRIX_UBUNTU_MIRROR,CAPMATRIX_CACHE,CAPMATRIX_ACCEL,CAPMATRIX_DOWNLOAD_TIMEOUT',
      'env',
    ]);
    expect(argv[2]).toMatch(/^PATH=.*fake-bin:/);
    expect(argv.slice(3)).toEqual([
      process.execPath,
      BIN,
      'minimize',
      '--object',
      'build/prog.bpf.o',
      '--program',
      'xdp_len',
      '--program',
      'tc_pass',
      '--kernel',
      'debian-5.10,debian-6.12',
      '--emit',
      'systemd,docker',
      '--results',
      path.join(job.workspace, 'results'),
    ]);
    expect(stepRun(job, 'run').outputs['results-dir']).toBe(path.join(job.workspace, 'results'));
    // before it: npm ci in the action, the udev rule of the KVM step through sudo
    expect(readFileSync(`${job.sudoLog}.npm`, 'utf8')).toBe('npm ci --omit=dev --no-audit --no-fund\n');
    expect(job.sudoCalls().slice(0, 3)).toEqual([
      ['tee', '/etc/udev/rules.d/99-kvm4all.rules'],
      ['udevadm', 'control', '--reload-rules'],
      ['udevadm', 'trigger', '--name-match=kvm'],
    ]);
  });

  test("exec: minimize --exec, the loader's arguments after --; the project's own capmatrix when it has one", () => {
    const job = runJob({
      inputs: { exec: './build/my-loader build/prog.bpf.o --maps=a,b', 'working-directory': 'tool' },
      project: (ws) => {
        mkdirSync(path.join(ws, 'tool', 'node_modules'), { recursive: true });
        symlinkSync(PACKAGE_ROOT, path.join(ws, 'tool', 'node_modules', 'capmatrix'));
      },
      until: 'run',
    });
    const own = path.join(job.workspace, 'tool', 'node_modules', 'capmatrix');
    expect(stepRun(job, 'prepare').outputs.capmatrix).toBe(own);
    expect(stepRun(job, 'prepare').outputs['cache-key']).toMatch(/^[0-9a-f]{20}$/);
    expect(runCommand(job).slice(4)).toEqual([
      path.join(own, 'harness', 'bin', 'capmatrix.mjs'),
      'minimize',
      '--exec',
      './build/my-loader',
      '--results',
      path.join(job.workspace, 'tool', 'results'),
      '--',
      'build/prog.bpf.o',
      '--maps=a,b',
    ]);
  });

  test("no object, no exec: matrix over the project's scenarios, with --require-kvm", () => {
    const job = runJob({ inputs: { scenarios: 'my-loader', kernels: 'debian-6.12' }, until: 'run' });
    expect(runCommand(job).slice(5)).toEqual([
      'matrix',
      '--scenario',
      'my-loader',
      '--kernel',
      'debian-6.12',
      '--require-kvm',
      '--results',
      path.join(job.workspace, 'results'),
    ]);
  });

  test('bad input (object and exec) starts nothing and fails the job with 2, after the summary', () => {
    const job = runJob({ inputs: { object: 'a.o', exec: './loader' } });
    expect(exitOf(job, 'run')).toBe('2');
    expect(stepRun(job, 'run').out).toContain('object and exec: one or the other, not both');
    expect(runCommand(job)).toEqual([]);
    expect(readFileSync(job.summary, 'utf8')).toContain('capmatrix left no results (exit code 2)');
    expect(stepRun(job, 'finish').status).toBe(2);
  });
});

describe('summary, JUnit, upload and the verdict, from a finished run', { timeout: 120_000 }, () => {
  test('matrix with a mismatching cell and a cell moved from the baseline: both in the summary, JUnit, bundle, the job fails', () => {
    const run = results('debian-6.12', [
      cell('debian-6.12', 'my-loader/none/default', 'ok', 'EPERM'),
      cell('debian-6.12', 'my-loader/BPF/default', 'ok'),
    ]);
    const job = runJob({
      inputs: {},
      fixture: fixture('20261201T000000Z-1', 'results.json', run),
      runExit: 1,
      project: (ws) => {
        mkdirSync(path.join(ws, 'baselines'));
        const before = results('debian-6.12', [
          cell('debian-6.12', 'my-loader/none/default', 'EPERM'),
          cell('debian-6.12', 'my-loader/BPF/default', 'EPERM'),
        ]);
        writeFileSync(path.join(ws, 'baselines', 'debian-6.12.json'), JSON.stringify(before));
      },
    });
    const runDir = path.join(job.workspace, 'results', '20261201T000000Z-1');
    expect(stepRun(job, 'run').outputs['results-file']).toBe(path.join(runDir, 'results.json'));
    const summary = readFileSync(job.summary, 'utf8');
    expect(summary.split('## capmatrix run').length - 1, 'the report once').toBe(1);
    expect(summary).toContain('### Not matching');
    expect(summary).toMatch(
      /\*\*mismatch\*\* `debian-6\.12` `my-loader\/none\/default`: observed ok, expected EPERM@run/,
    );
    expect(summary).toContain('debian-6.12 my-loader/BPF/default: EPERM@run → ok');
    expect(exitOf(job, 'summary')).toBe('1');
    expect(stepRun(job, 'summary').outputs.junit).toBe(path.join(runDir, 'junit.xml'));
    expect(existsSync(path.join(runDir, 'junit.xml'))).toBe(true);
    expect(existsSync(path.join(runDir, 'bundle.tar.gz'))).toBe(true);
    const finish = stepRun(job, 'finish');
    expect(finish.status).toBe(1);
    expect(finish.out).toContain('::error title=capmatrix::capmatrix found a mismatch');
  });

  test('matrix, every cell as expected: the job passes', () => {
    const run = results('debian-6.12', [cell('debian-6.12', 'my-loader/BPF/default', 'ok')]);
    const job = runJob({ inputs: {}, fixture: fixture('20261201T000000Z-2', 'results.json', run), runExit: 0 });
    expect(readFileSync(job.summary, 'utf8')).toContain('1 cells on 1 kernel(s): **1 match');
    expect(stepRun(job, 'finish').status).toBe(0);
  });

  test('minimize over kernels: minimal sets by range, what moves, a kernel with no set fails the job unless told not to', () => {
    const across = {
      runDir: '/x',
      perKernel: [
        minimizeResult('debian-6.1', '6.1.0-50-amd64', [['CAP_BPF', 'CAP_NET_ADMIN'], ['CAP_SYS_ADMIN']]),
        minimizeResult('debian-6.12', '6.12.57+deb13-amd64', []),
      ],
      failed: [],
    };
    const run = fixture('minimize-20261201T000000Z-3', 'minimize.json', across);
    const job = runJob({
      inputs: { object: 'prog.bpf.o', kernels: 'debian-6.1,debian-6.12' },
      fixture: run,
      runExit: 1,
    });
    const summary = readFileSync(job.summary, 'utf8');
    expect(summary).toContain('| `6.1` (`debian-6.1`) | `{BPF, NET_ADMIN}, {SYS_ADMIN}` |');
    expect(summary).toContain('| `6.12` (`debian-6.12`) | **none**: no subset of the candidates works |');
    expect(summary).toContain('- 6.1 → 6.12: {BPF, NET_ADMIN}, {SYS_ADMIN} no longer minimal');
    expect(summary).toContain('- `setcap cap_sys_admin+ep ./your-loader` on 6.1');
    expect(stepRun(job, 'summary').outputs.junit, 'minimize has no JUnit').toBeUndefined();
    expect(stepRun(job, 'finish').status).toBe(1);
    const tolerant = runJob({
      inputs: { object: 'prog.bpf.o', 'fail-on-mismatch': 'false' },
      fixture: run,
      runExit: 1,
    });
    expect(stepRun(tolerant, 'finish').status).toBe(0);
    expect(stepRun(tolerant, 'finish').out).toContain('not failing the job (fail-on-mismatch: false)');
  });
});

describe('the pieces', () => {
  test('inputs: lists in any separator, flags strictly true or false, contradictions refused', () => {
    const i = readInputs({ INPUT_EXEC: ' ./l  a\nb ', INPUT_KERNELS: 'a\nb', INPUT_SUDO: 'FALSE' });
    expect([i.exec, i.kernels, i.sudo, i.requireKvm, i.failOnMismatch]).toEqual([
      ['./l', 'a', 'b'],
      'a,b',
      false,
      true,
      true,
    ]);
    expect(() => readInputs({ INPUT_SUDO: 'yes' })).toThrow('sudo: "yes" is neither true nor false');
    expect(() => readInputs({ INPUT_EMIT: 'systemd' })).toThrow('emit: only with object or exec');
    expect(() => readInputs({ INPUT_PROGRAM: 'x', INPUT_EXEC: './l' })).toThrow('program: only with object');
    expect(() => readInputs({ INPUT_SCENARIOS: 's', INPUT_OBJECT: 'a.o' })).toThrow('scenarios: not with object');
  });

  test('require-kvm: false leaves --require-kvm out', () => {
    expect(capmatrixArgs(readInputs({ INPUT_REQUIRE_KVM: 'false' }), '/r')).toEqual(['matrix', '--results', '/r']);
  });

  test('without sudo: node and capmatrix, nothing else (an argument array: no shell)', () => {
    const args = capmatrixArgs(readInputs({ INPUT_OBJECT: 'a b.o; rm -rf /' }), '/r');
    expect(commandLine('/c.mjs', args, { sudo: false, keep: [], path: '/bin', node: '/node' })).toEqual({
      file: '/node',
      args: ['/c.mjs', 'minimize', '--object', 'a b.o; rm -rf /', '--results', '/r'],
    });
  });

  test('the verdict: a mismatch fails unless told not to; bad input and infra always fail; no run fails', () => {
    expect(verdict('0', '0', true).code).toBe(0);
    expect(verdict('1', '0', true).code).toBe(1);
    expect(verdict('0', '1', true).code, 'moved against the baselines').toBe(1);
    expect(verdict('1', '1', false).code).toBe(0);
    expect(verdict('3', '1', false).code).toBe(3);
    expect(verdict('2', '', false).code).toBe(2);
    expect(verdict('', '', false).code).toBe(1);
    expect(verdict('130', '0', true).message).toContain('interrupted');
  });
});
