import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { CAPABILITIES } from '../harness/dsl/capabilities.js';
import { expandScenario } from '../harness/dsl/expand.js';
import type { Scenario } from '../harness/dsl/scenario.js';
import type { InfraKind } from '../harness/dsl/vocabulary.js';
import type { KernelInfo } from '../harness/kernels/kernel-info.js';
import { type Attempt, bootAttempts, panicExcerpt, runSettled } from '../harness/outcome/attempts.js';
import { readGuestRecords } from '../harness/outcome/guest-records.js';
import { finalizeCell, verdictOver } from '../harness/outcome/verdict.js';
import { SAMPLES_BUILD_DIR } from '../harness/paths.js';
import { checkPhaseOrder, planBoots, runsOf } from '../harness/plan/plan.js';
import { exitCodeFor, renderGrid } from '../harness/report/grid.js';
import { keysOfBoot } from '../harness/run/boot.js';
import type { VmRun } from '../harness/vm/run-vm.js';
import { cellRecord, guestLines } from './guest-lines.js';

const kernel: KernelInfo = {
  id: 'debian-6.12',
  release: '6.12.117+deb13-amd64',
  version: '6.12.117',
  vmlinuz: '/nonexistent',
  vmlinuzSha256: 'x',
  source: { provider: 'debian', suite: 'trixie', files: [] },
};

const scenario: Scenario = {
  name: 's',
  sample: 'sockex1',
  axes: { caps: [[], 'root'], sysctl: { 'kernel.unprivileged_bpf_disabled': [1, 2, 0] } },
  expect: [
    { when: { caps: 'root' }, outcome: 'ok', reason: 'r' },
    { outcome: 'EPERM@probe', reason: 'r' },
  ],
};

describe('planner', () => {
  const [boot] = planBoots(expandScenario(scenario, 'scenarios/s.ts'), [kernel]);
  if (!boot) throw new Error('no boot');

  test('one boot per kernel, phases 0 → 2 → 1 whatever the declared order', () => {
    expect(boot.cells.map((c) => c.sysctl['kernel.unprivileged_bpf_disabled'])).toEqual([0, 0, 2, 2, 1, 1]);
    expect(() => checkPhaseOrder(boot)).not.toThrow();
  });

  test('a lockdown level is a boot of its own, with lockdown= on its command line; none shares the boot', () => {
    const locked: Scenario = {
      ...scenario,
      axes: { caps: ['root'], sysctl: {}, lockdown: ['none', 'integrity', 'confidentiality'] },
    };
    const boots = planBoots(expandScenario(locked, 'scenarios/s.ts'), [kernel]);
    expect(boots.map((b) => [b.id, b.kernelArgs, b.cells.map((c) => c.id)])).toEqual([
      ['debian-6.12-boot1', undefined, ['s/root/lockdown=none']],
      ['debian-6.12-lockdown-integrity', ['lockdown=integrity'], ['s/root/lockdown=integrity']],
      ['debian-6.12-lockdown-confidentiality', ['lockdown=confidentiality'], ['s/root/lockdown=confidentiality']],
    ]);
  });

  test('a plan that lowers the sysctl after 1 is refused', () => {
    const bad = { ...boot, cells: [...boot.cells].reverse() };
    expect(() => checkPhaseOrder(bad)).toThrow(
      /cell s\/root\/ubd=2 needs unprivileged_bpf_disabled=2 after 1 was set in this boot/,
    );
  });

  test('fewer boots than VMs: the biggest split, cells dealt to the part with fewest, each keeping the phase order', () => {
    // 100 capability sets (pairs) x 3 phases = 300 cells on one kernel
    const pairs = CAPABILITIES.flatMap((a, i) => CAPABILITIES.slice(i + 1).map((b) => [a, b]));
    const many: Scenario = { ...scenario, axes: { ...scenario.axes, caps: pairs.slice(0, 100) } };
    const cells = expandScenario(many, 'scenarios/s.ts');
    const one = planBoots(cells, [kernel], { vms: 2 });
    expect(one.map((b) => [b.id, b.cells.length])).toEqual([
      ['debian-6.12-boot1', 150],
      ['debian-6.12-boot1-part2', 150],
    ]);
    for (const b of one) expect(() => checkPhaseOrder(b)).not.toThrow();
    expect(new Set(one.flatMap((b) => b.cells))).toEqual(new Set(planBoots(cells, [kernel])[0]?.cells));
    // no part below MIN_CELLS_PER_PART (100): four VMs get three parts of 100
    expect(planBoots(cells, [kernel], { vms: 4 }).map((b) => b.cells.length)).toEqual([100, 100, 100]);
    // two kernels already fill two VMs
    expect(planBoots(cells, [kernel, { ...kernel, id: 'debian-6.1' }], { vms: 2 })).toHaveLength(2);
    // a small plan is not split
    expect(planBoots(expandScenario(scenario, 'scenarios/s.ts'), [kernel], { vms: 2 })).toHaveLength(1);
  });

  test('a split keeps a group-scoped run of cells in one part, and the other cells balance it', () => {
    const pairs = CAPABILITIES.flatMap((a, i) => CAPABILITIES.slice(i + 1).map((b) => [a, b]));
    const single: Scenario = { ...scenario, axes: { ...scenario.axes, caps: pairs.slice(0, 70) } };
    const group: Scenario = {
      ...scenario,
      name: 'g',
      setupScope: 'group',
      setup: [['true']],
      axes: { ...scenario.axes, caps: pairs.slice(0, 5) },
    };
    const cells = [...expandScenario(single, 'scenarios/s.ts'), ...expandScenario(group, 'scenarios/g.ts')];
    const parts = planBoots(cells, [kernel], { vms: 2 });
    expect(parts).toHaveLength(2);
    for (const b of parts) expect(() => checkPhaseOrder(b)).not.toThrow();
    // each phase's 5 group cells stay consecutive, in one part
    for (const phase of [0, 2, 1]) {
      const inPhase = (b: (typeof parts)[number]) =>
        b.cells
          .map((c, i) => ({ c, i }))
          .filter(({ c }) => c.scenario === 'g' && c.sysctl['kernel.unprivileged_bpf_disabled'] === phase);
      const holders = parts.filter((b) => inPhase(b).length);
      expect(holders).toHaveLength(1);
      const at = inPhase(holders[0] as (typeof parts)[number]).map(({ i }) => i);
      expect(at).toEqual(at.map((_, j) => (at[0] ?? 0) + j));
      expect(at).toHaveLength(5);
    }
    const sizes = parts.map((b) => b.cells.length);
    expect(Math.abs((sizes[0] ?? 0) - (sizes[1] ?? 0))).toBeLessThanOrEqual(5);
  });

  test('expectations are resolved per kernel', () => {
    expect(boot.cells.every((c) => c.kernel === 'debian-6.12')).toBe(true);
    expect(boot.cells.find((c) => c.capsName === 'root')?.expected.outcome).toBe('ok');
  });
});

describe('outcome', () => {
  const [boot] = planBoots(expandScenario(scenario, 'scenarios/s.ts'), [kernel]);
  if (!boot) throw new Error('no boot');
  const runs = runsOf(boot.cells);
  const vm: VmRun = { argv: [], pgid: 0, exitCode: 255, signal: null, ended: 'exited', wallMs: 1, bootMs: 1 };
  const attempt = (over: Partial<Attempt>): Attempt => ({
    key: 'k#1',
    kernel: 'debian-6.12',
    cellId: 'c',
    rep: 1,
    boot: 'b1',
    ran: true,
    observed: { outcome: 'EPERM', stage: 'probe', errno: 1, detail: '' },
    durationMs: 1,
    ...over,
  });
  const infra = (kind: InfraKind, ran = true) => attempt({ observed: null, infraKind: kind, ran });
  const EPERM = { outcome: 'EPERM', stage: 'probe' };

  test.each([
    ['one matching outcome', [attempt({})], 'match', undefined],
    [
      'one other outcome',
      [attempt({ observed: { outcome: 'ok', stage: 'run', errno: 0, detail: '' } })],
      'mismatch',
      undefined,
    ],
    ['a timeout, then the same timeout', [infra('cell-timeout'), infra('cell-timeout')], 'infra-error', 'cell-timeout'],
    ['a panic, then a match: the outcome changed', [infra('kernel-panic'), attempt({})], 'flaky', undefined],
    [
      'repeats that disagree',
      [attempt({}), attempt({ rep: 2, observed: { outcome: 'EACCES', stage: 'run', errno: 13, detail: '' } })],
      'flaky',
      undefined,
    ],
    ['a boot timeout (never ran), then a match', [infra('boot-timeout', false), attempt({})], 'match', undefined],
    ['two boot timeouts', [infra('boot-timeout', false), infra('boot-timeout', false)], 'infra-error', 'boot-timeout'],
  ] as const)('%s → %s', (_what, attempts, verdict, kind) => {
    expect(verdictOver([...attempts], EPERM)).toEqual({ verdict, ...(kind ? { infraKind: kind } : {}) });
  });

  test.each([
    [[], 1, false],
    [[attempt({})], 1, true],
    [[infra('agent-crash')], 1, false],
    [[infra('agent-crash')], 0, true],
    [[infra('agent-crash'), infra('agent-crash')], 1, true],
    [[infra('agent-crash'), attempt({})], 1, true],
  ] as const)('settled(%j, retries %d) = %s', (attempts, retries, want) => {
    expect(runSettled([...attempts], retries)).toBe(want);
  });

  test('a boot that panicked: finished cells kept, the running one kernel-panic, the rest not charged', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-test-'));
    const file = path.join(dir, 'guest-results.jsonl');
    const [first, second] = runs;
    if (!first || !second) throw new Error('runs');
    const lines = guestLines('b', [
      { type: 'cell-start', id: first.cell.id, key: first.key, t: 1 },
      {
        ...cellRecord(first.cell.id, first.key),
        observed: { outcome: 'EPERM', stage: 'probe', errno: 1, detail: 'd' },
      },
      { type: 'cell-start', id: second.cell.id, key: second.key, t: 2 },
    ]);
    writeFileSync(file, `${lines.join('')}{"seq":4,"type":"cell","id":"torn`); // the VM died mid-write
    const records = readGuestRecords(file, keysOfBoot({ runs }));
    expect(records.torn).toBe(true);
    expect(records.violations).toEqual([]);
    const console = 'boot\n[ 9.1] Kernel panic - not syncing: Fatal exception\n[ 9.2] trace';
    expect(panicExcerpt(console)).toContain('Kernel panic');
    const attempts = bootAttempts(runs, records, vm, boot.id, console);
    expect(attempts.map((a) => [a.key, a.infraKind ?? 'ok'])).toEqual([
      [first.key, 'ok'],
      [second.key, 'kernel-panic'],
    ]);
    expect(attempts[1]?.infraError).toMatch(/the kernel panicked while this cell ran: .*Kernel panic/);
    // without a panic in the console the agent died
    expect(bootAttempts(runs, records, vm, boot.id, 'clean')[1]?.infraKind).toBe('agent-crash');
    // an interrupted boot charges nobody
    expect(bootAttempts(runs, records, { ...vm, ended: 'interrupted' }, boot.id, console)).toHaveLength(1);
    const results = [
      finalizeCell(first.cell, [attempts[0] as Attempt]),
      finalizeCell(second.cell, [attempts[1] as Attempt]),
    ];
    expect(results.map((r) => r.verdict)).toEqual(['match', 'infra-error']);
    expect(results[1]?.infraKind).toBe('kernel-panic');
    expect(exitCodeFor(results)).toBe(3);
    const grid = renderGrid(results, false);
    expect(grid).toContain('infra-error: kernel-panic');
    expect(grid).toMatch(/2 cells: 1 match, 0 mismatch, 0 flaky, 1 infra-error/);
  });

  test('a boot whose agent never started charges every run with the boot failure', () => {
    const attempts = bootAttempts(
      runs,
      readGuestRecords('/nonexistent', () => true),
      { ...vm, ended: 'boot-timeout' },
      'b',
      '',
    );
    expect(attempts).toHaveLength(runs.length);
    expect(attempts.every((a) => a.infraKind === 'boot-timeout' && !a.ran)).toBe(true);
    expect(attempts[0]?.infraError).toMatch(/^the guest agent never started \(VM boot-timeout/);
  });

  test("a search's records: its numbered runs, and a root run only for a capability search", () => {
    const search = (label: string, dimension: 'caps' | 'delegation') => ({ label, dimension });
    const accepts = keysOfBoot({ runs: [], searches: [search('s1-default', 'caps'), search('s2-x', 'delegation')] });
    expect(['s1-default#1', 's1-default#root', 's2-x#3'].map(accepts)).toEqual([true, true, true]);
    expect(['s2-x#root', 's1-default#', 's3#1', 's1-default#root2'].map(accepts)).toEqual([false, false, false, false]);
  });

  test('a search that checks a form (--emit systemd) may record its ambient runs; no other search may', () => {
    const accepts = keysOfBoot({
      runs: [],
      searches: [
        { label: 's1-default', dimension: 'caps', forms: ['ambient'] },
        { label: 's2-x', dimension: 'caps' },
      ],
    });
    expect(['s1-default#ambient-1', 's1-default#ambient-12', 's1-default#3'].map(accepts)).toEqual([true, true, true]);
    expect(['s2-x#ambient-1', 's1-default#ambient-', 's1-default#ambient-1x'].map(accepts)).toEqual([
      false,
      false,
      false,
    ]);
  });

  test('--repeat puts the runs of a cell next to each other, so the phase order holds', () => {
    const r = runsOf(boot.cells, 2);
    expect(r.map((x) => x.key).slice(0, 2)).toEqual([
      `debian-6.12/${boot.cells[0]?.id}#1`,
      `debian-6.12/${boot.cells[0]?.id}#2`,
    ]);
    expect(() => checkPhaseOrder({ ...boot, cells: r.map((x) => x.cell) })).not.toThrow();
  });
});

describe('planner: isolation and the naive way', () => {
  test('a scenario that asks for isolation gets its own boot; the rest share one', () => {
    const shared = expandScenario(scenario, 'scenarios/s.ts');
    const alone = expandScenario({ ...scenario, name: 'alone', isolate: true }, 'scenarios/alone.ts');
    const boots = planBoots([...shared, ...alone], [kernel]);
    expect(boots.map((b) => [b.id, b.cells.length])).toEqual([
      ['debian-6.12-boot1', 6],
      ['debian-6.12-alone', 6],
    ]);
  });

  test("each user program gets boots of its own; capmatrix's samples and objects share one", () => {
    const samples = expandScenario(scenario, 'scenarios/s.ts');
    const { sample: _s, ...noSample } = scenario;
    const loader = expandScenario({ ...noSample, name: 'loader', exec: ['./load'] }, 'scenarios/loader.ts');
    const object = expandScenario({ ...noSample, name: 'obj', object: '/home/u/x.bpf.o' }, 'scenarios/obj.ts');
    const ours = expandScenario(
      { ...noSample, name: 'ours', object: path.join(SAMPLES_BUILD_DIR, 'prog_net.bpf.o') },
      'scenarios/ours.ts',
    );
    const hostile = expandScenario({ ...scenario, name: 'evil', sample: 'fault' }, 'scenarios/evil.ts');
    const all = [...samples, ...loader, ...object, ...ours, ...hostile];
    expect(planBoots(all, [kernel]).map((b) => [b.id, b.cells.length])).toEqual([
      ['debian-6.12-boot1', 12],
      ['debian-6.12-loader', 6],
      ['debian-6.12-obj', 6],
      ['debian-6.12-evil', 6],
    ]);
    // vouched for: one boot, as before the boundary
    expect(planBoots(all, [kernel], { shareBoots: true }).map((b) => [b.id, b.cells.length])).toEqual([
      ['debian-6.12-boot1', 30],
    ]);
  });

  test('bootPerCell plans one boot per cell', () => {
    const boots = planBoots(expandScenario(scenario, 'scenarios/s.ts'), [kernel], { bootPerCell: true });
    expect(boots).toHaveLength(6);
    expect(boots.every((b) => b.cells.length === 1)).toBe(true);
  });
});
