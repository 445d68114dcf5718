import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { capSetName } from '../harness/dsl/capabilities.js';
import { DENIABLE_SYSCALLS, deniedSyscalls, insideCaps } from '../harness/dsl/container.js';
import { expandScenario, expectationFor } from '../harness/dsl/expand.js';
import { pendingReviews } from '../harness/dsl/learned.js';
import { loadScenarioFile, loadScenarios } from '../harness/dsl/load.js';
import type { Scenario } from '../harness/dsl/scenario.js';
import { validateScenario } from '../harness/dsl/validate.js';
import { parseExpectation } from '../harness/dsl/vocabulary.js';
import { parseKernelConfig, recordedConfig } from '../harness/kernels/kernel-config.js';
import { PACKAGE_ROOT } from '../harness/paths.js';

const BPF_SRC = path.join(PACKAGE_ROOT, 'bpf-src');

import { expectedJson } from '../harness/report/expected.js';

function base(): Scenario {
  return {
    name: 'demo',
    sample: 'sockex1',
    axes: { caps: [[], ['CAP_BPF'], 'root'], sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2] } },
    expect: [
      { when: { caps: 'root' }, outcome: 'ok', reason: 'root' },
      {
        when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [2] }, lacks: ['CAP_BPF'] },
        outcome: 'EPERM@probe',
        reason: 'gate',
      },
      { outcome: 'EPERM@raw_socket', reason: 'rest' },
    ],
  };
}

describe('expansion', () => {
  const cells = expandScenario(base(), 'scenarios/demo.ts');

  test('is the cross product with stable, readable ids', () => {
    expect(cells.map((c) => c.id)).toEqual([
      'demo/none/ubd=0',
      'demo/none/ubd=2',
      'demo/BPF/ubd=0',
      'demo/BPF/ubd=2',
      'demo/root/ubd=0',
      'demo/root/ubd=2',
    ]);
    expect(cells.find((c) => c.capsName === 'root')?.uid).toBe(0);
    expect(cells.find((c) => c.capsName === 'none')?.uid).toBe(65534);
  });

  test.each([
    ['demo/none/ubd=0', 'EPERM@raw_socket'],
    ['demo/none/ubd=2', 'EPERM@probe'],
    ['demo/BPF/ubd=2', 'EPERM@raw_socket'],
    ['demo/root/ubd=2', 'ok'],
  ])('first matching rule wins: %s → %s', (id, want) => {
    const cell = cells.find((c) => c.id === id);
    if (!cell) throw new Error(`no cell ${id}`);
    const e = expectationFor(cell, '6.12.117');
    expect(e.outcome === 'ok' ? 'ok' : `${e.outcome}@${e.stage}`).toBe(want);
  });

  test('duplicate capability sets are rejected', () => {
    const s = base();
    s.axes.caps = [
      ['CAP_BPF', 'CAP_NET_RAW'],
      ['CAP_NET_RAW', 'CAP_BPF'],
    ];
    expect(() => validateScenario(s, 'scenarios/demo.ts', BPF_SRC)).toThrow(
      /axes.caps\[1\]: duplicate cell id "demo\/NET_RAW\+BPF\/ubd=0"/,
    );
  });

  test('version gates select rules per kernel, and an uncovered cell is an error', () => {
    const s = base();
    s.expect = [{ outcome: 'ok', reason: 'tokens', since: '6.9' }];
    const [cell] = expandScenario(s, 'scenarios/demo.ts');
    if (!cell) throw new Error('no cell');
    expect(expectationFor(cell, '6.12.117').outcome).toBe('ok');
    expect(() => expectationFor(cell, '6.1.158')).toThrow(/no rule matches cell "demo\/none\/ubd=0" on kernel 6.1.158/);
  });

  test('a requires gate selects rules by the kernel config, and an unknown config satisfies none', () => {
    const s = base();
    s.expect = [
      { requires: { config: { CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'y' } }, outcome: 'EPERM@map_create', reason: 'off' },
      { requires: { config: { CONFIG_BPF_UNPRIV_DEFAULT_OFF: ['n', 'm'] } }, outcome: 'ok', reason: 'on' },
      { outcome: 'EPERM@probe', reason: 'unknown' },
    ];
    const [cell] = expandScenario(s, 'scenarios/demo.ts');
    if (!cell) throw new Error('no cell');
    expect(expectationFor(cell, '6.12.117', { CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'y' }).reason).toBe('off');
    expect(expectationFor(cell, '6.12.117', { CONFIG_BPF: 'y' }).reason).toBe('on');
    expect(expectationFor(cell, '6.12.117').reason).toBe('unknown');
    expect(parseKernelConfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_D=m\n')).toEqual({
      CONFIG_A: 'y',
      CONFIG_C: 'x y',
      CONFIG_D: 'm',
    });
    expect(recordedConfig(s.expect, { CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'y' })).toEqual({
      CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'y',
    });
    expect(recordedConfig(s.expect, undefined)).toEqual({ CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'unknown' });
  });

  test('capability set names are order-independent', () => {
    expect(capSetName(['CAP_BPF', 'CAP_NET_RAW'])).toBe(capSetName(['CAP_NET_RAW', 'CAP_BPF']));
    expect(capSetName([])).toBe('none');
  });

  test.each([
    ['ok', { outcome: 'ok', stage: 'run' }],
    ['EACCES@verifier', { outcome: 'EACCES', stage: 'verifier' }],
  ])('parses %s', (text, want) => {
    expect(parseExpectation(text)).toEqual(want);
  });
});

describe('the grant axis', () => {
  const granted = (): Scenario => ({ ...base(), axes: { ...base().axes, grant: ['file', 'ambient'] } });

  test('each capability set once more as ambient; root and the empty set once; every cell says its grant', () => {
    const cells = expandScenario(granted(), 'scenarios/demo.ts');
    expect(cells.map((c) => `${c.id} ${c.grant}`)).toEqual([
      'demo/none/ubd=0 file',
      'demo/none/ubd=2 file',
      'demo/BPF/ubd=0 file',
      'demo/BPF/ubd=2 file',
      'demo/ambient:BPF/ubd=0 ambient',
      'demo/ambient:BPF/ubd=2 ambient',
      'demo/root/ubd=0 file',
      'demo/root/ubd=2 file',
    ]);
    expect(expandScenario(base(), 'scenarios/demo.ts').every((c) => c.grant === 'file')).toBe(true);
  });

  test('a rule may test the grant; one without `grant` takes both', () => {
    const s = granted();
    s.expect.unshift({ when: { grant: 'ambient' }, outcome: 'EPERM@prog_load', reason: 'ambient only' });
    const byId = new Map(expandScenario(s, 'scenarios/demo.ts').map((c) => [c.id, c]));
    const reason = (id: string) => {
      const cell = byId.get(id);
      if (!cell) throw new Error(`no cell ${id}`);
      return expectationFor(cell, '6.12').reason;
    };
    expect([reason('demo/ambient:BPF/ubd=0'), reason('demo/BPF/ubd=0')]).toEqual(['ambient only', 'rest']);
    expect(validateScenario(s, 'scenarios/demo.ts', BPF_SRC).axes.grant).toEqual(['file', 'ambient']);
  });

  test('ambient in a container or an exec scenario, or a grant twice, is an error naming the field', () => {
    const boxed = { ...granted(), context: 'container' as const, container: { seccomp: 'runtime-default' as const } };
    expect(() => validateScenario(boxed, 'scenarios/demo.ts', BPF_SRC)).toThrow(
      /axes\.grant: 'ambient' is not for a container scenario/,
    );
    const { sample: _sample, ...noSample } = granted();
    expect(() => validateScenario({ ...noSample, exec: ['/bin/true'] }, 'scenarios/demo.ts', BPF_SRC)).toThrow(
      /axes\.grant: 'ambient' is not measured for an exec scenario yet/,
    );
    const twice = { ...base(), axes: { ...base().axes, grant: ['file', 'file'] } };
    expect(() => validateScenario(twice, 'scenarios/demo.ts', BPF_SRC)).toThrow(/axes\.grant: a grant listed twice/);
    const unknown = { ...base(), axes: { ...base().axes, grant: ['setuid'] } };
    expect(() => validateScenario(unknown, 'scenarios/demo.ts', BPF_SRC)).toThrow(/axes\.grant\[0\]/);
    const token = { ...base(), context: 'userns' as const, axes: { ...base().axes, grant: ['file', 'pod'] } };
    expect(() => validateScenario(token, 'scenarios/demo.ts', BPF_SRC)).toThrow(
      /axes\.grant: 'pod' is not for a token scenario/,
    );
  });

  test("the deployment shapes: a rootful container's cells run as uid 0, a pod's as the unprivileged uid", () => {
    const s = { ...base(), axes: { ...base().axes, grant: ['rootful', 'pod', 'pod-no-setcap'] } } as Scenario;
    const cells = expandScenario(s, 'scenarios/demo.ts').filter((c) => c.caps !== 'root' && c.caps.length);
    expect(cells.map((c) => `${c.id} uid ${c.uid}`)).toEqual([
      'demo/rootful:BPF/ubd=0 uid 0',
      'demo/rootful:BPF/ubd=2 uid 0',
      'demo/pod:BPF/ubd=0 uid 65534',
      'demo/pod:BPF/ubd=2 uid 65534',
      'demo/pod-no-setcap:BPF/ubd=0 uid 65534',
      'demo/pod-no-setcap:BPF/ubd=2 uid 65534',
    ]);
  });

  test("the syscalls a runtime's seccomp rules may refuse are the ones the launchers' filter knows", () => {
    const table = readFileSync(path.join(PACKAGE_ROOT, 'bpf-src', 'common', 'seccomp_deny.h'), 'utf8');
    const known = [...table.matchAll(/\{ "([a-z_0-9]+)", /g)].map((m) => m[1]);
    expect(known.sort()).toEqual([...DENIABLE_SYSCALLS].sort());
  });
});

describe('container cells', () => {
  const scenario = (): Scenario => ({
    name: 'box',
    sample: 'token_container',
    context: 'container',
    container: { seccomp: 'runtime-default' },
    args: ['capadd'],
    axes: { caps: [[], ['CAP_SYS_ADMIN'], ['CAP_BPF']], sysctl: {} },
    expect: [
      { when: { lacks: ['CAP_SYS_ADMIN'] }, outcome: 'EPERM@bpffs_create', reason: 'fsopen' },
      { outcome: 'ok', reason: 'rest' },
    ],
  });
  const cells = expandScenario(scenario(), 'scenarios/box.ts');

  test('the caps axis is --cap-add on the runtime default set; the loader runs as root', () => {
    expect(cells.map((c) => c.id)).toEqual(['box/default/default', 'box/add-SYS_ADMIN/default', 'box/add-BPF/default']);
    expect(cells.every((c) => c.caps === 'root' && c.uid === 0)).toBe(true);
    expect(cells[0]?.inside).toEqual(insideCaps([]));
    expect(cells[0]?.inside).toContain('CAP_NET_RAW');
    expect(cells[1]?.inside).toContain('CAP_SYS_ADMIN');
  });

  test('the seccomp profile becomes the syscalls refused for what the container holds', () => {
    expect(deniedSyscalls('runtime-default', insideCaps([]))).toEqual(
      expect.arrayContaining(['fsopen', 'unshare', 'bpf']),
    );
    expect(deniedSyscalls('runtime-default', insideCaps(['CAP_BPF']))).not.toContain('bpf');
    expect(deniedSyscalls('runtime-default', insideCaps(['CAP_SYS_ADMIN']))).toEqual([]);
    expect(deniedSyscalls('unconfined', insideCaps([]))).toEqual([]);
    expect(cells[1]?.args).toEqual([
      'capadd',
      `caps=0x${(0xa80425fbn | (1n << 21n)).toString(16)}`,
      'deny=-',
      'uds=shared',
    ]);
  });

  test('rules test the capabilities inside the container', () => {
    const outcome = (i: number) => expectationFor(cells[i] as (typeof cells)[0], '6.12.117').outcome;
    expect([outcome(0), outcome(1), outcome(2)]).toEqual(['EPERM', 'ok', 'EPERM']);
  });

  test("'root' on the caps axis, or no profile, is an error naming the field", () => {
    const rooted = { ...scenario(), axes: { caps: ['root' as const], sysctl: {} } };
    expect(() => validateScenario(rooted, 'scenarios/box.ts', BPF_SRC)).toThrow(
      /axes.caps\[0\]: a container's caps are what --cap-add adds/,
    );
    const bare = { ...scenario(), container: undefined };
    expect(() => validateScenario(bare, 'scenarios/box.ts', BPF_SRC)).toThrow(
      /container: a scenario with context 'container' says/,
    );
  });
});

describe('loading scenario files', () => {
  test('a bad file is reported with its path before anything runs', async () => {
    await expect(loadScenarioFile(path.join(PACKAGE_ROOT, 'test/fixtures/bad-cap.ts'), PACKAGE_ROOT)).rejects.toThrow(
      'test/fixtures/bad-cap.ts: axes.caps[1][0]: unknown capability "CAP_BFP" (did you mean CAP_BPF?)',
    );
  });

  test('every scenario in scenarios/ validates and covers all its cells on the default kernel', async () => {
    const loaded = await loadScenarios(PACKAGE_ROOT);
    expect(loaded.map((l) => l.scenario.name)).toContain('sockex1');
    for (const l of loaded) for (const c of l.cells) expect(() => expectationFor(c, '6.12.117')).not.toThrow();
  });

  test('capmatrix expected evaluates requires gates against a kernel config', async () => {
    const loaded = await loadScenarios(PACKAGE_ROOT, ['map-array-bootdefault']);
    const rule = (config?: Record<string, string>) =>
      expectedJson(loaded, '6.12.117', config).map((e) => [e.expected, e.rule]);
    expect(rule({ CONFIG_BPF_UNPRIV_DEFAULT_OFF: 'y' })).toEqual([['EPERM@map_create', 0]]);
    expect(rule({})).toEqual([['ok', 1]]);
    expect(rule()).toEqual([['EPERM@map_create', 2]]);
  });

  test('no learned expectation in scenarios/ waits for a reviewer (learn mode leaves a placeholder)', async () => {
    expect(pendingReviews(await loadScenarios(PACKAGE_ROOT))).toEqual([]);
  });

  test('an unknown --scenario name lists the known ones', async () => {
    await expect(loadScenarios(PACKAGE_ROOT, ['sockex2'])).rejects.toThrow(
      /unknown scenario "sockex2" \(did you mean sockex1\? known: .*sockex1/,
    );
  });
});
