// A user's object read on the host before any boot: its programs by libbpf's rule, and a
// `programs`/`loadOnly` name it does not have refused with the names it has (no boot spent).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readBpfObject } from '../harness/dsl/bpf-object.js';
import { ScenarioError } from '../harness/dsl/scenario-error.js';
import { validateScenario } from '../harness/dsl/validate.js';
import { BPF_SRC_DIR, PACKAGE_ROOT, SAMPLES_BUILD_DIR } from '../harness/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-bpf-object-'));
const object = path.join(dir, 'labels.bpf.o');
const arch = os.arch() === 'arm64' ? 'arm64' : 'x86';
const multiarch = execFileSync('cc', ['-print-multiarch'], { encoding: 'utf8' }).trim();
execFileSync('clang', [
  '-g',
  '-O2',
  '-target',
  'bpf',
  `-D__TARGET_ARCH_${arch}`,
  `-I/usr/include/${multiarch}`,
  '-c',
  path.join(PACKAGE_ROOT, 'test', 'fixtures', 'own-labels', 'labels.bpf.c'),
  '-o',
  object,
]);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scenario = (more: object) => ({
  name: 'obj',
  object,
  axes: { caps: [['CAP_BPF']], sysctl: {} },
  expect: [{ outcome: 'ok', reason: 'r' }],
  ...more,
});
const problems = (more: object): string[] => {
  try {
    validateScenario(scenario(more), 'obj.ts', BPF_SRC_DIR, dir);
    return [];
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
};

describe('a BPF object read on the host', () => {
  test('its programs: functions in executable sections other than .text, in file order', () => {
    expect(readBpfObject(object)).toEqual([
      { name: 'plain', section: 'socket' },
      { name: 'core_missing', section: 'socket' },
      { name: 'core_module', section: 'socket' },
      { name: 'bare_uprobe', section: 'uprobe' },
    ]);
  });

  test('a truncated file is said to be one, not thrown', () => {
    const cut = path.join(dir, 'cut.bpf.o');
    writeFileSync(cut, readFileSync(object).subarray(0, 300));
    expect(readBpfObject(cut)).toBe(`${cut} is a truncated or malformed ELF file`);
  });

  test('a program name it does not have: refused before any boot, with a suggestion and the names', () => {
    expect(problems({ programs: ['core_mising'] })).toEqual([
      `programs: ${object} has no program "core_mising" (did you mean core_missing? its programs: plain, core_missing, core_module, bare_uprobe)`,
    ]);
    expect(problems({ programs: ['plain'], loadOnly: ['bare_uprobe'] })).toEqual([
      'loadOnly: "bare_uprobe" is not one of programs (plain)',
    ]);
    expect(problems({ loadOnly: ['nope'] })[0]).toMatch(/^loadOnly: .* has no program "nope" \(its programs: /);
    expect(problems({ programs: ['plain', 'bare_uprobe'], loadOnly: ['bare_uprobe'] })).toEqual([]);
  });

  test("capmatrix's own objects are not needed before its setup builds them", () => {
    const unbuilt = path.join(SAMPLES_BUILD_DIR, 'not-built-yet.bpf.o');
    expect(problems({ object: unbuilt })).toEqual([]);
    expect(problems({ object: path.join(dir, 'not-built-yet.bpf.o') })).toEqual([
      `object: no such file ${path.join(dir, 'not-built-yet.bpf.o')}`,
    ]);
  });
});
