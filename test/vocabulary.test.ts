// One vocabulary: the errno names and stages the samples (C) report are the ones the host and
// the guest agent (TypeScript) know, and every errno a sample can name can be expected.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ERRNO_NAMES, parseExpectation, STAGES, UNKNOWN_ERRNO } from '../harness/dsl/vocabulary.js';

const src = 'bpf-src';
const header = readFileSync(path.join(src, 'common', 'capmatrix_result.h'), 'utf8');
const loaders = readdirSync(src, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'build')
  .flatMap((d) => readdirSync(path.join(src, d.name)).map((f) => path.join(src, d.name, f)))
  .filter((f) => f.endsWith('.c') && !f.endsWith('.bpf.c'));

describe('errno names', () => {
  test('capmatrix_result.h maps exactly the errnos of the vocabulary, each to its own name', () => {
    const cases = [...header.matchAll(/case (E[A-Z0-9]+): return "(E[A-Z0-9]+)";/g)];
    expect(cases.every(([, constant, name]) => constant === name)).toBe(true);
    expect(cases.map(([, name]) => name).sort()).toEqual([...ERRNO_NAMES].sort());
    expect(header).toContain(`default: return "${UNKNOWN_ERRNO}";`);
  });

  test.each(['ENODATA', 'ESRCH', 'EEXIST'])('%s can be expected', (name) => {
    expect(parseExpectation(`${name}@run`)).toEqual({ outcome: name, stage: 'run' });
  });
});

describe('stages', () => {
  const reported = new Set<string>();
  const common = readdirSync(path.join(src, 'common')).map((f) => path.join(src, 'common', f));
  for (const f of [...loaders, ...common.filter((h) => h.endsWith('.h'))]) {
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const call = /(?:cm_result|FAIL)\([^,]+,\s*"(\w+)"/.exec(line);
      if (call?.[1]) reported.add(call[1]);
      // cm_load_failed(err, stage): a stage of its own, or NULL for cm_load_stage's
      if (/\bstage\b\s*=|^\s*return "[a-z_]+";|\bcm_load_failed\(/.test(line))
        for (const m of line.matchAll(/"([a-z_]+)"/g)) if (m[1]) reported.add(m[1]);
    }
  }

  test('the samples report stages, and every one is in the vocabulary', () => {
    expect(reported.size).toBeGreaterThan(15);
    expect([...reported].filter((s) => !(STAGES as readonly string[]).includes(s))).toEqual([]);
  });
});
