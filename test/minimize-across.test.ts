// minimize over kernels: per-kernel answers grouped into the kernel ranges where they agree, each
// set and its checked form with their ranges, and `merge` of per-kernel minimize.json files (CI
// jobs). On real kernels in parallel boots: test/vm/own-program.test.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { rangesOf } from '../harness/report/kernel-ranges.js';
import { minimizeAcrossExit, renderMinimizeAcross } from '../harness/report/minimize-across-report.js';
import { isMinimizeFile, mergeMinimizeFiles, minimizeAcross } from '../harness/run/minimize-across.js';
import type { FormCheck } from '../harness/run/minimize-result.js';
import { minimizeResult } from './minimize-results.js';

const OK: FormCheck = { ok: true, outcome: 'ok', detail: '', cell: 'x/ambient:NET_ADMIN+BPF/default' };

/** A kernel's result: its minimal sets, each with the systemd check (its `unit` run) `systemd` gives it. */
const kernel = (id: string, release: string, sets: string[][], systemd?: (caps: string[]) => FormCheck) =>
  minimizeResult(id, release, sets, systemd ?? null);

const K510 = kernel('debian-5.10', '5.10.0-46-amd64', [['CAP_BPF', 'CAP_NET_ADMIN']], () => OK);
const K61 = kernel('debian-6.1', '6.1.0-50-amd64', [['CAP_BPF', 'CAP_NET_ADMIN']], () => OK);
// on 6.12 the SYS_ADMIN set's ambient run fails (a made-up case: the render must show it)
const K612 = kernel('debian-6.12', '6.12.57+deb13-amd64', [['CAP_BPF', 'CAP_NET_ADMIN'], ['CAP_SYS_ADMIN']], (caps) =>
  caps.includes('CAP_SYS_ADMIN')
    ? { ...OK, ok: false, outcome: 'EPERM@prog_load', cell: 'x/ambient:SYS_ADMIN/default' }
    : OK,
);

describe('one answer over kernels', () => {
  test('kernels that agree and are neighbours form a range; the sets say where each is minimal', () => {
    // given newest first: the ranges follow the releases
    const a = minimizeAcross({ runDir: '/tmp/m', perKernel: [K612, K510, K61], failed: [] });
    expect(a.order).toEqual(['debian-5.10', 'debian-6.1', 'debian-6.12']);
    const [asked] = a.searches;
    expect(asked?.answers.map((x) => [x.range, x.minimalSets])).toEqual([
      ['5.10–6.1', [['CAP_BPF', 'CAP_NET_ADMIN']]],
      ['6.12', [['CAP_BPF', 'CAP_NET_ADMIN'], ['CAP_SYS_ADMIN']]],
    ]);
    expect(asked?.sets.map((s) => [s.caps.join('+'), s.ranges.map((r) => r.range)])).toEqual([
      ['CAP_SYS_ADMIN', ['6.12']],
      ['CAP_BPF+CAP_NET_ADMIN', ['5.10–6.12']],
    ]);
    const text = renderMinimizeAcross(a);
    expect(text).toContain('  5.10–6.1: {BPF, NET_ADMIN}\n  6.12: {BPF, NET_ADMIN}, {SYS_ADMIN}');
    expect(text).toContain('setcap cap_bpf,cap_net_admin+ep ./your-loader    on 5.10–6.12');
    expect(minimizeAcrossExit(a)).toBe(0);
  });

  test("a form's fragment carries the range it ran ok on; a kernel where it failed is named with its cell", () => {
    const a = minimizeAcross({ runDir: '/tmp/m', perKernel: [K510, K612], failed: [] });
    const text = renderMinimizeAcross(a);
    expect(text).toContain(
      'systemd, checked on 5.10–6.12 (ok as uid 65534 given the set as ambient capabilities, the bounding set cut to it, no_new_privs):',
    );
    expect(text).toContain(
      'systemd: fails on every kernel, as uid 65534 given the set as ambient capabilities, the bounding set cut to it, no_new_privs: nothing to paste\n     systemd fails on debian-6.12: EPERM@prog_load (cell x/ambient:SYS_ADMIN/default)',
    );
  });

  test('a kernel that gave no answer breaks a range and is said, in a run and in a merge alike; the exit is an infra error', () => {
    const failed = [{ kernel: 'debian-6.1', error: 'boot timed out', series: '6.1' }];
    const a = minimizeAcross({ runDir: '/tmp/m', perKernel: [K612, K510], failed });
    expect(a.order).toEqual(['debian-5.10', 'debian-6.1', 'debian-6.12']);
    const sets = a.searches[0]?.sets.find((s) => s.caps.length === 2);
    expect(sets?.ranges.map((r) => r.range)).toEqual(['5.10', '6.12']);
    expect(renderMinimizeAcross(a)).toContain('! debian-6.1: no answer (boot timed out)');
    expect(minimizeAcrossExit(a)).toBe(3);
    // every kernel failed: still an answer that says so, not a usage error
    const none = minimizeAcross({ runDir: '/tmp/m', perKernel: [], failed });
    expect(minimizeAcrossExit(none)).toBe(3);
    expect(renderMinimizeAcross(none)).toContain('! debian-6.1: no answer (boot timed out)');
  });

  test('kernels given newest first are still ranged oldest first', () => {
    const a = minimizeAcross({ runDir: '/tmp/m', perKernel: [K612, K510], failed: [] });
    expect(a.searches[0]?.sets.find((s) => s.caps.length === 2)?.ranges.map((r) => r.range)).toEqual(['5.10–6.12']);
  });

  test('a kernel where no subset works is a finding, with what all the candidates got', () => {
    const none = kernel('debian-6.1', '6.1.0-50-amd64', []);
    const a = minimizeAcross({ runDir: '/tmp/m', perKernel: [K510, none], failed: [] });
    expect(renderMinimizeAcross(a)).toContain(
      '6.1: no subset of the candidates works (with all of them: EPERM@prog_load)',
    );
    expect(minimizeAcrossExit(a)).toBe(1);
  });

  test('ranges: only neighbours in the order join', () => {
    const release = new Map([
      ['a', '5.10.0-1-amd64'],
      ['b', '6.1.0-1-amd64'],
      ['c', '6.12.1'],
    ]);
    expect(rangesOf(new Set(['a', 'c']), ['a', 'b', 'c'], release).map((r) => r.range)).toEqual(['5.10', '6.12']);
    expect(rangesOf(new Set(['a', 'b', 'c']), ['a', 'b', 'c'], release)).toEqual([
      { range: '5.10–6.12', kernels: ['a', 'b', 'c'] },
    ]);
  });
});

describe('capmatrix merge of minimize results (a CI job per kernel)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-merge-min-'));
  const write = (name: string, value: unknown) => {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify(value));
    return file;
  };

  test('per-kernel files, and a join of joins, give the same answer', () => {
    const files = [write('a.json', K612), write('b.json', K510)];
    expect(files.every(isMinimizeFile)).toBe(true);
    const joined = mergeMinimizeFiles(files, path.join(dir, 'out'));
    expect(joined.order).toEqual(['debian-5.10', 'debian-6.12']);
    const again = mergeMinimizeFiles([write('j.json', joined), write('c.json', K61)], path.join(dir, 'out2'));
    expect(again.order).toEqual(['debian-5.10', 'debian-6.1', 'debian-6.12']);
    expect(again.searches[0]?.answers.map((x) => x.range)).toEqual(['5.10–6.1', '6.12']);
    expect(isMinimizeFile(write('r.json', { cells: [], searches: [] }))).toBe(false);
  });

  test('another question, the same kernel twice or a broken file: an error naming the file and field', () => {
    const other = { ...K510, universe: ['CAP_BPF'] };
    expect(() => mergeMinimizeFiles([write('k.json', K612), write('o.json', other)], dir)).toThrow(
      /o\.json: another question than .*k\.json's: universe is \["CAP_BPF"\], not /,
    );
    expect(() => mergeMinimizeFiles([write('k1.json', K612), write('k2.json', K612)], dir)).toThrow(
      /k2\.json: kernel debian-6\.12 again \(already in .*k1\.json\)/,
    );
    const broken = { ...K510, searches: [{ kind: 'asked' }] };
    expect(() => mergeMinimizeFiles([write('k.json', K612), write('bad.json', broken)], dir)).toThrow(
      /bad\.json: searches\.0\.scenario: /,
    );
  });
});
