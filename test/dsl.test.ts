import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { capSetName } from '../harness/dsl/capabilities.js';
import { expandScenario, expectationFor } from '../harness/dsl/expand.js';
import { loadScenarioFile, loadScenarios } from '../harness/dsl/load.js';
import type { Scenario } from '../harness/dsl/scenario.js';
import { ScenarioError, validateScenario } from '../harness/dsl/validate.js';
import { parseExpectation } from '../harness/dsl/vocabulary.js';
import { REPO_ROOT } from '../harness/paths.js';

const BPF_SRC = path.join(REPO_ROOT, 'bpf-src');

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

function problemsOf(data: unknown): string[] {
  try {
    validateScenario(data, 'scenarios/demo.ts', BPF_SRC);
  } catch (e) {
    if (e instanceof ScenarioError) return e.message.split('\n');
    throw e;
  }
  return [];
}

describe.each([
  {
    what: 'a misspelt capability, with the closest name',
    mutate: (s: any) => {
      s.axes.caps[1] = ['CAP_BFP'];
    },
    message: 'scenarios/demo.ts: axes.caps[1][0]: unknown capability "CAP_BFP" (did you mean CAP_BPF?)',
  },
  {
    what: 'an unknown sample',
    mutate: (s: any) => {
      s.sample = 'sockex9';
    },
    message: 'scenarios/demo.ts: sample: unknown sample "sockex9" (no bpf-src/sockex9/sockex9.c)',
  },
  {
    what: 'a sysctl value the kernel refuses',
    mutate: (s: any) => {
      s.axes.sysctl['kernel.unprivileged_bpf_disabled'] = [0, 3];
    },
    message: 'scenarios/demo.ts: axes.sysctl["kernel.unprivileged_bpf_disabled"][1]: bad value 3 (allowed: 0, 1, 2)',
  },
  {
    what: 'an unknown sysctl',
    mutate: (s: any) => {
      s.axes.sysctl = { 'kernel.unprivileged_bpf_disable': [0] };
    },
    message:
      'scenarios/demo.ts: axes.sysctl: unknown sysctl "kernel.unprivileged_bpf_disable" (did you mean kernel.unprivileged_bpf_disabled?)',
  },
  {
    what: 'an unknown stage',
    mutate: (s: any) => {
      s.expect[1].outcome = 'EPERM@load';
    },
    message: 'scenarios/demo.ts: expect[1].outcome: unknown stage "load" in "EPERM@load" (allowed: open, probe,',
  },
  {
    what: 'a rule without evidence',
    mutate: (s: any) => {
      s.expect[0].reason = '';
    },
    message: 'scenarios/demo.ts: expect[0].reason: every rule needs its evidence',
  },
  {
    what: 'an unknown field',
    mutate: (s: any) => {
      s.axes.capz = [];
    },
    message: 'scenarios/demo.ts: axes: Unrecognized key: "capz"',
  },
])('validation rejects $what', ({ mutate, message }) => {
  test('with the file, the field and the allowed values', () => {
    const s = structuredClone(base());
    mutate(s);
    const problems = problemsOf(s);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((p) => p.startsWith(message))).toBe(true);
  });
});

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
    expect(() => expandScenario(s, 'scenarios/demo.ts')).toThrow(
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

describe('loading scenario files', () => {
  test('a bad file is reported with its path before anything runs', async () => {
    await expect(loadScenarioFile(path.join(REPO_ROOT, 'test/fixtures/bad-cap.ts'), REPO_ROOT)).rejects.toThrow(
      'test/fixtures/bad-cap.ts: axes.caps[1][0]: unknown capability "CAP_BFP" (did you mean CAP_BPF?)',
    );
  });

  test('every scenario in scenarios/ validates and covers all its cells on the default kernel', async () => {
    const loaded = await loadScenarios(REPO_ROOT);
    expect(loaded.map((l) => l.scenario.name)).toContain('sockex1');
    for (const l of loaded) for (const c of l.cells) expect(() => expectationFor(c, '6.12.117')).not.toThrow();
  });

  test('an unknown --scenario name lists the known ones', async () => {
    await expect(loadScenarios(REPO_ROOT, ['sockex2'])).rejects.toThrow(
      /unknown scenario "sockex2" \(did you mean sockex1\? known: .*sockex1/,
    );
  });
});
