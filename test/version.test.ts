// Version order is dpkg's: the port in harness/version.ts against its test vectors and against
// dpkg --compare-versions on this machine.
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { compareVersions } from '../harness/version.js';

// [a, b, sign of a - b]: dpkg's own cases (tilde, epochs, revisions, letters) and kernel versions
const VECTORS: [string, string, number][] = [
  ['1.0', '1.0', 0],
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~~', '1.0~', -1],
  ['1.0~', '1.0', -1],
  ['1.0', '1.0a', -1],
  ['1.0a', '1.0+', -1],
  ['1:0.1', '2.0', 1],
  ['0:1.0', '1.0', 0],
  ['1.0-1', '1.0-2', -1],
  ['1.0-1', '1.0', 1],
  ['1.0-0', '1.0', 0],
  ['1.0+b1', '1.0', 1],
  ['6.16.12-1~bpo13+1', '6.16.12-1', -1],
  ['1.41-1~bpo12+1', '1.41', 1],
  ['1.35-1', '1.41', -1],
  ['6.12.117', '6.9', 1],
  ['6.9', '6.12', -1],
  ['7.3~rc7-1~exp1', '7.3.4-1', -1],
  ['6.1.0-50', '6.1.0-9', 1],
  ['007', '7', 0],
];

describe('dpkg version order', () => {
  test.each(VECTORS)('%s vs %s → %i', (a, b, want) => {
    expect(Math.sign(compareVersions(a, b))).toBe(want);
    expect(Math.sign(compareVersions(b, a))).toBe(want === 0 ? 0 : -want);
  });

  test('agrees with dpkg --compare-versions on every pair of the vectors', () => {
    const all = [...new Set(VECTORS.flatMap(([a, b]) => [a, b] as string[]))];
    // one shell runs dpkg for every pair (a node spawn per comparison took 17–45 s under load);
    // the versions are its arguments, never part of the script
    const script = `for a in "$@"; do for b in "$@"; do
      if dpkg --compare-versions "$a" lt "$b"; then echo -1; elif dpkg --compare-versions "$a" eq "$b"; then echo 0; else echo 1; fi
    done; done`;
    const r = spawnSync('bash', ['-c', script, 'dpkg-pairs', ...all], { encoding: 'utf8' });
    const answers = r.stdout.trim().split('\n').map(Number);
    expect(answers.length, r.stderr).toBe(all.length * all.length);
    const wrong: string[] = [];
    for (const [i, a] of all.entries())
      for (const [j, b] of all.entries()) {
        const dpkg = answers[i * all.length + j];
        if (Math.sign(compareVersions(a, b)) !== dpkg) wrong.push(`${a} vs ${b}: dpkg ${dpkg}`);
      }
    expect(wrong).toEqual([]);
  });
});
