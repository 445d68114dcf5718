import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { expandScenario } from '../harness/dsl/expand.js';
import type { Scenario } from '../harness/dsl/scenario.js';
import type { KernelInfo } from '../harness/kernels/kernel-info.js';
import { readGuestRecords } from '../harness/outcome/guest-records.js';
import { cellResults, panicExcerpt, verdictOf } from '../harness/outcome/verdict.js';
import { checkPhaseOrder, planBoots } from '../harness/plan/plan.js';
import { exitCodeFor, renderGrid } from '../harness/report/grid.js';
import type { VmRun } from '../harness/vm/run-vm.js';

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

  test('a plan that lowers the sysctl after 1 is refused', () => {
    const bad = { ...boot, cells: [...boot.cells].reverse() };
    expect(() => checkPhaseOrder(bad)).toThrow(
      /cell s\/root\/ubd=2 needs unprivileged_bpf_disabled=2 after 1 was set in this boot/,
    );
  });

  test('expectations are resolved per kernel', () => {
    expect(boot.cells.every((c) => c.kernel === 'debian-6.12')).toBe(true);
    expect(boot.cells.find((c) => c.capsName === 'root')?.expected.outcome).toBe('ok');
  });
});

describe('outcome', () => {
  const [boot] = planBoots(expandScenario(scenario, 'scenarios/s.ts'), [kernel]);
  if (!boot) throw new Error('no boot');
  const vm: VmRun = { argv: [], pgid: 0, exitCode: 255, signal: null, ended: 'exited', wallMs: 1, bootMs: 1 };

  test.each([
    [{ outcome: 'EPERM', stage: 'probe' }, { outcome: 'EPERM', stage: 'probe' }, 'match'],
    [{ outcome: 'EPERM', stage: 'prog_load' }, { outcome: 'EPERM', stage: 'probe' }, 'mismatch'],
    [{ outcome: 'ok', stage: 'run' }, { outcome: 'EPERM', stage: 'probe' }, 'mismatch'],
  ] as const)('verdict of %o against %o is %s', (obs, exp, want) => {
    expect(verdictOf({ ...obs, errno: 1, detail: '' }, exp)).toBe(want);
  });

  test('cells the guest never finished become infra errors that say why; a panic is quoted', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-test-'));
    const file = path.join(dir, 'guest-results.jsonl');
    const [first, second] = boot.cells;
    if (!first || !second) throw new Error('cells');
    writeFileSync(
      file,
      [
        JSON.stringify({ type: 'provenance', release: kernel.release }),
        JSON.stringify({ type: 'cell-start', id: first.id }),
        JSON.stringify({
          type: 'cell',
          id: first.id,
          observed: { outcome: 'EPERM', stage: 'probe', errno: 1, detail: 'd' },
          durationMs: 5,
        }),
        JSON.stringify({ type: 'cell-start', id: second.id }),
        '{"type":"cell","id":"torn', // the VM died mid-write
      ].join('\n'),
    );
    const records = readGuestRecords(file);
    expect(records.garbage).toBe(1);
    const console = 'boot\n[ 9.1] Kernel panic - not syncing: Fatal exception\n[ 9.2] trace';
    expect(panicExcerpt(console)).toContain('Kernel panic');
    const results = cellResults(boot.cells, records, vm, boot.id, console);
    expect(results[0]?.verdict).toBe('match');
    expect(results[1]?.verdict).toBe('infra-error');
    expect(results[1]?.infraError).toMatch(/the VM ended while this cell ran .*Kernel panic/);
    expect(results[2]?.infraError).toMatch(/^not run: the VM ended before this cell/);
    expect(exitCodeFor(results)).toBe(2);
    const grid = renderGrid(results, false);
    expect(grid).toContain('INFRA');
    expect(grid).toMatch(/6 cells: 1 match, 0 mismatch, 5 infra-error/);
  });

  test('a boot whose agent never started explains that', () => {
    const results = cellResults(
      boot.cells,
      readGuestRecords('/nonexistent'),
      { ...vm, ended: 'boot-timeout' },
      'b',
      '',
    );
    expect(results.every((r) => r.infraError?.startsWith('the guest agent never started (VM boot-timeout'))).toBe(true);
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

  test('bootPerCell plans one boot per cell', () => {
    const boots = planBoots(expandScenario(scenario, 'scenarios/s.ts'), [kernel], { bootPerCell: true });
    expect(boots).toHaveLength(6);
    expect(boots.every((b) => b.cells.length === 1)).toBe(true);
  });
});
