// Bad input, table-driven: every mistake in a scenario or on the command line gets one clear
// error naming the file or flag, the field and the allowed values, before any VM starts.
// Strings with shell metacharacters or control characters are tried in every field; nothing is
// ever run through a shell (test/faults.test.ts shows metacharacters reaching a sample intact).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { expandScenario } from '../harness/dsl/expand.js';
import type { Scenario } from '../harness/dsl/scenario.js';
import { ScenarioError } from '../harness/dsl/scenario-error.js';
import { validateScenario } from '../harness/dsl/validate.js';
import { loadCatalog } from '../harness/kernels/catalog.js';
import { PACKAGE_ROOT } from '../harness/paths.js';

function base(): Scenario {
  return {
    name: 'demo',
    sample: 'sockex1',
    args: ['x'],
    setup: [['true', 'y']],
    axes: { caps: [[], ['CAP_BPF'], 'root'], sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2] } },
    expect: [
      { when: { caps: 'root' }, outcome: 'ok', reason: 'root' },
      { when: { lacks: ['CAP_BPF'] }, outcome: 'EPERM@probe', reason: 'gate' },
      { outcome: 'EPERM@raw_socket', reason: 'rest' },
    ],
  };
}

/** The base scenario with a user's object or loader in place of the sample. */
function withObject(s: any, object: string, more: object = {}): void {
  delete s.sample;
  delete s.args;
  Object.assign(s, { object, ...more });
}
function withExec(s: any, exec: string[], more: object = {}): void {
  delete s.sample;
  delete s.args;
  Object.assign(s, { exec, ...more });
}

/** Validation and expansion, as loading a scenario file does them. */
function problemsOf(mutate: (s: any) => void): string[] {
  const s = structuredClone(base());
  mutate(s);
  try {
    const v = validateScenario(s, 'scenarios/demo.ts', path.join(PACKAGE_ROOT, 'bpf-src'));
    expandScenario(v, 'scenarios/demo.ts');
  } catch (e) {
    if (e instanceof ScenarioError) return e.message.split('\n');
    throw e;
  }
  return [];
}

describe('scenario files', () => {
  test.each([
    [
      'a requires gate on something that is not a config option',
      (s: any) => (s.expect[0].requires = { config: { BPF_LSM: 'y' } }),
      'expect[0].requires.config.BPF_LSM: not a kernel config option (e.g. CONFIG_BPF_LSM)',
    ],
    [
      'a requires gate with a state other than y, m, n',
      (s: any) => (s.expect[0].requires = { config: { CONFIG_BPF_LSM: 'yes' } }),
      'expect[0].requires.config.CONFIG_BPF_LSM',
    ],
    [
      'unknown capability',
      (s: any) => (s.axes.caps[1] = ['CAP_BFP']),
      'axes.caps[1][0]: unknown capability "CAP_BFP" (did you mean CAP_BPF?)',
    ],
    [
      'capability with shell metacharacters',
      (s: any) => (s.axes.caps[1] = ['CAP_BPF;id']),
      'axes.caps[1][0]: unknown capability "CAP_BPF;id" (did you mean CAP_BPF?)',
    ],
    [
      'unknown sample',
      (s: any) => (s.sample = 'sockex9'),
      'sample: unknown sample "sockex9" (no bpf-src/sockex9/sockex9.c; did you mean sockex1? known: fault, helpers, map_types, object_loader, pinned_map, sockex1, sysctl_write, token,',
    ],
    [
      'a path where a sample name is expected',
      (s: any) => (s.sample = '../sockex1'),
      'sample: a sample directory name in bpf-src/ (lower-case letters, digits, _)',
    ],
    [
      'sample with shell metacharacters',
      (s: any) => (s.sample = 'sockex1;reboot'),
      'sample: a sample directory name in bpf-src/',
    ],
    ['name with shell metacharacters', (s: any) => (s.name = 'demo$(id)'), 'name: lower-case letters, digits, _ . -'],
    ['name with a newline', (s: any) => (s.name = 'demo\nx'), 'name: lower-case letters, digits, _ . -'],
    [
      'sysctl value out of range',
      (s: any) => (s.axes.sysctl['kernel.unprivileged_bpf_disabled'] = [0, 3]),
      'axes.sysctl["kernel.unprivileged_bpf_disabled"][1]: bad value 3 (allowed: 0, 1, 2)',
    ],
    [
      'sysctl name with shell metacharacters',
      (s: any) => (s.axes.sysctl = { 'kernel.x;id': [0] }),
      'axes.sysctl: unknown sysctl "kernel.x;id" (allowed: kernel.unprivileged_bpf_disabled, kernel.perf_event_paranoid',
    ],
    [
      'outcome with shell metacharacters',
      (s: any) => (s.expect[1].outcome = 'EPERM@probe;id'),
      'expect[1].outcome: unknown stage "probe;id" in "EPERM@probe;id" (allowed: open, probe,',
    ],
    [
      'argument with a newline',
      (s: any) => (s.args = ['ok\nrm -rf /']),
      'args[0]: no control characters (newline, tab, NUL…)',
    ],
    [
      'setup command with a NUL',
      (s: any) => (s.setup = [['mount', 'a\0b']]),
      'setup[0][1]: no control characters (newline, tab, NUL…)',
    ],
    ['reason with a newline', (s: any) => (s.expect[0].reason = 'a\nb'), 'expect[0].reason: no control characters'],
    [
      'conflicting expectations (same condition, two outcomes)',
      (s: any) => s.expect.splice(2, 0, { when: { lacks: ['CAP_BPF'] }, outcome: 'ok', reason: 'other' }),
      'expect[2]: never applies: every cell it matches is decided by an earlier rule first (e.g. demo/none/ubd=0: expect[1] says "EPERM@probe", expect[2] says "ok")',
    ],
    [
      'a rule that matches no cell',
      (s: any) => (s.expect[0].when = { has: ['CAP_SYS_ADMIN'], lacks: ['CAP_BPF'] }),
      'expect[0].when: matches no cell of the axes',
    ],
    ['an unknown field', (s: any) => (s.axes.capz = []), 'axes: Unrecognized key: "capz"'],
    [
      'a misspelt sysctl',
      (s: any) => (s.axes.sysctl = { 'kernel.unprivileged_bpf_disable': [0] }),
      'axes.sysctl: unknown sysctl "kernel.unprivileged_bpf_disable" (did you mean kernel.unprivileged_bpf_disabled?)',
    ],
    [
      'an unknown stage',
      (s: any) => (s.expect[1].outcome = 'EPERM@load'),
      'expect[1].outcome: unknown stage "load" in "EPERM@load" (allowed: open, probe,',
    ],
    [
      'two programs at once',
      (s: any) => (s.object = './build/prog.bpf.o'),
      'sample, object: give exactly one of sample (a built-in program), object (your .bpf.o) or exec (your loader)',
    ],
    [
      'no program at all',
      (s: any) => delete s.sample,
      '(top level): give exactly one of sample (a built-in program), object (your .bpf.o) or exec (your loader)',
    ],
    [
      'an object that is not there',
      (s: any) => withObject(s, '/nonexistent/prog.bpf.o'),
      'object: no such file /nonexistent/prog.bpf.o',
    ],
    [
      'an object that is not ELF',
      (s: any) => withObject(s, path.join(PACKAGE_ROOT, 'package.json')),
      `object: ${path.join(PACKAGE_ROOT, 'package.json')} is not an ELF file`,
    ],
    [
      'an object built for the host, not BPF',
      (s: any) => withObject(s, '/bin/true'),
      'object: /bin/true is an ELF file for machine 62, not BPF (clang -target bpf)',
    ],
    [
      'a loader that is not there',
      (s: any) => withExec(s, ['./build/no-such-loader']),
      'exec[0]: "./build/no-such-loader" is not an executable file (looked at',
    ],
    [
      'a loader that is not on PATH',
      (s: any) => withExec(s, ['no-such-loader-anywhere']),
      'exec[0]: "no-such-loader-anywhere" is not an executable file on PATH',
    ],
    [
      'an object option on a loader',
      (s: any) => withExec(s, ['true'], { socket: 'packet' }),
      'socket: only for an object scenario',
    ],
    [
      'okWhen on an object',
      (s: any) => withObject(s, '/bin/true', { okWhen: { stdout: 'x' } }),
      'okWhen: only for an exec scenario',
    ],
    [
      'okWhen that is not a regular expression',
      (s: any) => withExec(s, ['true'], { okWhen: { stdout: 'attached (' } }),
      'okWhen.stdout: not a regular expression',
    ],
    [
      'a uprobe target without its function',
      (s: any) => withObject(s, '/bin/true', { uprobe: '/usr/bin/bash' }),
      'uprobe: PATH:FUNCTION, e.g. "/usr/bin/bash:readline"',
    ],
    [
      'args on a loader',
      (s: any) => {
        withExec(s, ['true']);
        s.args = ['--flag'];
      },
      'args: only for a built-in sample (an exec scenario gives its arguments in exec: [...])',
    ],
    [
      'a socket kind that does not exist',
      (s: any) => withObject(s, '/bin/true', { socket: 'raw' }),
      'socket: Invalid option: expected one of "udp"|"packet"',
    ],
    [
      'a rule without evidence',
      (s: any) => (s.expect[0].reason = ''),
      'expect[0].reason: every rule needs its evidence',
    ],
  ])('%s', (_what, mutate, message) => {
    const problems = problemsOf(mutate);
    expect(problems.length).toBeGreaterThan(0);
    expect(
      problems.find((p) => p.startsWith(`scenarios/demo.ts: ${message}`)),
      problems.join('\n'),
    ).toBeDefined();
  });

  test('the base scenario itself is fine (the table tests what it changes)', () => {
    expect(problemsOf(() => {})).toEqual([]);
  });
});

const TSX = path.join(PACKAGE_ROOT, 'node_modules', '.bin', 'tsx');
const CLI = path.join(PACKAGE_ROOT, 'harness', 'cli.ts');

function cli(args: string[]): Promise<{ status: number | null; stderr: string; results: string[] }> {
  const results = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-badcli-'));
  const child = spawn(TSX, [CLI, 'matrix', '--results', results, ...args], { cwd: PACKAGE_ROOT });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) =>
    child.on('close', (status) => resolve({ status, stderr, results: readdirSync(results) })),
  );
}

// the catalog's ids, and on an Ubuntu host (a GitHub runner) its own kernel's, ubuntu-host
const KNOWN_KERNELS = loadCatalog()
  .kernels.map((k) => k.id)
  .join(', ');

describe('command line', () => {
  test.concurrent.each([
    [['--kernel', 'debian-6.99'], `--kernel: unknown kernel "debian-6.99" (known: ${KNOWN_KERNELS}, all)`],
    [
      ['--kernel', './kernels/vmlinuz'],
      `option '--kernel <ids>' argument './kernels/vmlinuz' is invalid. "./kernels/vmlinuz" is a path; --kernel takes kernel ids from kernels/catalog.json`,
    ],
    [
      ['--kernel', 'debian-6.12;reboot'],
      `argument 'debian-6.12;reboot' is invalid. "debian-6.12;reboot" is not a kernel id (lower-case letters, digits, _ . -`,
    ],
    [
      ['--scenario', 'scenarios/sockex1.ts'],
      '--scenario: "scenarios/sockex1.ts" is a path; --scenario takes scenario names (known: helpers',
    ],
    [['--scenario', 'sockex9'], '--scenario: unknown scenario "sockex9" (did you mean sockex1? known: '],
    [['--scenario', '$(reboot)'], '--scenario: unknown scenario "$(reboot)" ('],
    [['--scenario-dir', '/nonexistent'], '--scenario-dir: "/nonexistent" is not a directory of scenario files (*.ts)'],
    [
      ['--cells', '(sockex1'],
      `option '--cells <regex>' argument '(sockex1' is invalid. "(sockex1" is not a regular expression`,
    ],
    [['--jobs', 'two'], `option '--jobs <n>' argument 'two' is invalid. "two" is not a whole number from 1 to 64`],
    [['--repeat', '0'], `option '--repeat <n>' argument '0' is invalid. "0" is not a whole number from 1 to 100`],
    [['--retries', '-1'], `option '--retries <n>' argument '-1' is invalid. "-1" is not a whole number from 0 to 10`],
    [
      ['--memory', '1G;reboot'],
      `option '--memory <size>' argument '1G;reboot' is invalid. "1G;reboot" is not a size (a number with K, M, G or T, e.g. 1G)`,
    ],
    [['--kernel-arg', 'quiet\ninit=/bin/sh'], '"quiet\\ninit=/bin/sh" contains a control character'],
    [['--resume', '../../etc'], '--resume: "../../etc" is not a run id (allowed: the name of a directory in'],
    [['--resume', 'nope'], '--resume: no run nope in '],
    [
      ['--resume', 'x', '--kernel', 'debian-6.1'],
      "option '--resume <run-id>' cannot be used with option '--kernel <ids>'",
    ],
  ])('matrix %j', async (args, message) => {
    const r = await cli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain('no VM was started');
    expect(r.results).toEqual([]); // no run directory: nothing started
  });
});
