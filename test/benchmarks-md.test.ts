// BENCHMARKS.md as `npm run bench` writes it: the current figures replaced at the top, the dated
// entries appended below, nothing else touched. No bench is run here; the committed file is read.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  CURRENT_END,
  CURRENT_START,
  currentFiguresTable,
  HISTORY_HEADING,
  updateBenchmarks,
} from '../harness/bench/benchmarks-md.js';
import { PACKAGE_ROOT } from '../harness/paths.js';

const figures = (commit: string, wall: string) =>
  currentFiguresTable({ when: '2026-12-05 10:00 UTC', commit, machine: '2 cores', rows: [['wall', wall]] });
const entry = (n: number) => `### entry ${n}\n\nfigures ${n}\n`;

describe('BENCHMARKS.md', () => {
  test('a bench run replaces the current figures and appends its entry; notes and older entries stay', () => {
    const before = updateBenchmarks(undefined, figures('aaa', '1 s'), entry(1));
    const withNote = `${before}\nA note written by hand.\n`;
    const after = updateBenchmarks(withNote, figures('bbb', '2 s'), entry(2));
    expect(after.split(CURRENT_START)).toHaveLength(2);
    expect(after).toContain('| wall | 2 s |');
    expect(after).not.toContain('| wall | 1 s |');
    expect(after.indexOf(CURRENT_END)).toBeLessThan(after.indexOf(HISTORY_HEADING));
    expect(after.indexOf(HISTORY_HEADING)).toBeLessThan(after.indexOf('### entry 1'));
    expect(after.indexOf('### entry 1')).toBeLessThan(after.indexOf('A note written by hand.'));
    expect(after.indexOf('A note written by hand.')).toBeLessThan(after.indexOf('### entry 2'));
    expect(after.endsWith('figures 2\n')).toBe(true);
  });

  test('a file without the table gets it in front of its history, which is kept as it was', () => {
    const old = `# Benchmarks\n\nIntro.\n\n${HISTORY_HEADING}\n\n### 2026-11-30\n\nold figures\n`;
    const after = updateBenchmarks(old, figures('ccc', '3 s'), entry(3));
    expect(after.startsWith('# Benchmarks\n\nIntro.\n\n## Current figures\n\n')).toBe(true);
    expect(after).toContain(`${CURRENT_END}\n\n${HISTORY_HEADING}\n\n### 2026-11-30\n\nold figures\n\n### entry 3`);
  });

  test('the committed file has one current-figures table above its history', () => {
    const text = readFileSync(path.join(PACKAGE_ROOT, 'BENCHMARKS.md'), 'utf8');
    const start = text.indexOf(CURRENT_START);
    expect(start).toBeGreaterThan(0);
    expect(text.indexOf(CURRENT_END)).toBeGreaterThan(start);
    expect(text.indexOf(`\n${HISTORY_HEADING}\n`)).toBeGreaterThan(text.indexOf(CURRENT_END));
    expect(text.split(CURRENT_START)).toHaveLength(2);
  });
});
