// bpf-src/Makefile against bpf-src/'s directories (setup checks it before building anything): a
// directory the Makefile does not build is named, with what to add.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { BPF_SRC_DIR } from '../harness/paths.js';
import { checkSamplesListed, sampleDirs, unbuiltSampleDirs } from '../harness/setup/makefile-samples.js';

const MAKEFILE = readFileSync(path.join(BPF_SRC_DIR, 'Makefile'), 'utf8');

describe('bpf-src/Makefile builds every sample directory', () => {
  test('the committed Makefile and directories agree', () => {
    expect(sampleDirs(BPF_SRC_DIR).map((d) => d.name)).toContain('sockex1');
    expect(checkSamplesListed(BPF_SRC_DIR)).toEqual([]);
  });

  test.each([
    [
      'a sample (loader and BPF side) left out of SAMPLES',
      { name: 'newsample', loader: true, bpf: true },
      'SAMPLES lacks newsample (bpf-src/newsample/ has newsample.c and newsample.bpf.c): add it to SAMPLES',
    ],
    [
      'an object without a loader left out of OBJECTS',
      { name: 'prog_new', loader: false, bpf: true },
      'OBJECTS lacks prog_new (bpf-src/prog_new/ has prog_new.bpf.c and no loader): add it to OBJECTS',
    ],
    [
      'a loader without an object and without a rule',
      { name: 'tool', loader: true, bpf: false },
      'nothing builds tool (bpf-src/tool/ has tool.c): a rule for $(BUILD)/tool and a place in all',
    ],
  ])('%s is named', (_what, dir, problem) => {
    expect(unbuiltSampleDirs(MAKEFILE, [...sampleDirs(BPF_SRC_DIR), dir])).toEqual([problem]);
  });

  test('a line removed from SAMPLES is found in a copy of bpf-src/', () => {
    const copy = path.join(mkdtempSync(path.join(os.tmpdir(), 'capmatrix-makefile-')), 'bpf-src');
    cpSync(BPF_SRC_DIR, copy, {
      recursive: true,
      filter: (f) => path.relative(BPF_SRC_DIR, f).split(path.sep)[0] !== 'build',
    });
    const makefile = path.join(copy, 'Makefile');
    const samples = /^SAMPLES :=.*$/m.exec(MAKEFILE)?.[0] ?? '';
    expect(samples).toContain(' helpers ');
    writeFileSync(makefile, MAKEFILE.replace(samples, samples.replace(' helpers ', ' ')));
    expect(checkSamplesListed(copy)).toEqual([
      'SAMPLES lacks helpers (bpf-src/helpers/ has helpers.c and helpers.bpf.c): add it to SAMPLES',
    ]);
  });

  test('continued lines and += are read; comments are not', () => {
    const mk = 'SAMPLES := a \\\n  b\nSAMPLES += c\n# SAMPLES += d\nall: $(BUILD)/e\n';
    const dir = (name: string) => ({ name, loader: true, bpf: true });
    expect(unbuiltSampleDirs(mk, ['a', 'b', 'c'].map(dir))).toEqual([]);
    expect(unbuiltSampleDirs(mk, [dir('d')])).toHaveLength(1);
    expect(unbuiltSampleDirs(mk, [{ name: 'e', loader: true, bpf: false }])).toEqual([]);
  });
});
