// capmatrix minimize: the search on models of the kernel's checks (on the real default kernel:
// test/vm/minimize.test.ts).
import { describe, expect, test } from 'vitest';
import { minimalSets } from '../harness/guest/minimal-sets.js';
import { DEFAULT_UNIVERSE, tellingLine } from '../harness/run/minimize.js';

type Run = (caps: string[]) => Promise<boolean>;
const has = (s: string[], c: string) => s.includes(`CAP_${c}`);
// bpf_capable() and perfmon_capable() accept CAP_SYS_ADMIN too (include/linux/capability.h)
const bpf = (s: string[]) => has(s, 'BPF') || has(s, 'SYS_ADMIN');
const perfmon = (s: string[]) => has(s, 'PERFMON') || has(s, 'SYS_ADMIN');
const models: [string, Run, string[][]][] = [
  [
    'xdp',
    async (s) => bpf(s) && perfmon(s) && has(s, 'NET_ADMIN'),
    [
      ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'],
      ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'],
    ],
  ],
  ['socket filter at ubd=0', async (s) => has(s, 'NET_RAW'), [['CAP_NET_RAW']]],
  ['nothing works', async () => false, []],
];

describe('the search', () => {
  test.each(models)('%s: all minimal sets, smallest first, far fewer runs than 2^8', async (_name, fn, want) => {
    const ran: string[][] = [];
    const r = await minimalSets(DEFAULT_UNIVERSE, async (caps: string[]) => {
      ran.push(caps);
      return fn(caps);
    });
    expect(r.minimal).toEqual(want);
    expect(r.violations).toEqual([]);
    expect(r.runs).toBe(ran.length);
    expect(r.runs).toBeLessThan(64);
    // nothing ran twice
    expect(new Set(ran.map((c) => c.join('+'))).size).toBe(ran.length);
  });

  test('a capability that turns ok into a failure is reported, not hidden', async () => {
    // NET_RAW alone works; NET_RAW with SYS_RESOURCE does not (a made-up kernel bug)
    const r = await minimalSets(
      DEFAULT_UNIVERSE,
      async (s: string[]) => has(s, 'NET_RAW') && !(s.length === 2 && has(s, 'SYS_RESOURCE')),
    );
    expect(r.minimal).toEqual([['CAP_NET_RAW']]);
    expect(r.violations).toEqual([{ caps: ['CAP_NET_RAW', 'CAP_SYS_RESOURCE'], within: ['CAP_NET_RAW'] }]);
  });

  test("the telling line is the verifier's complaint", () => {
    expect(
      tellingLine(
        'load: Permission denied | \n25: (1f) r1 -= r2\nR1 pointer -= pointer prohibited\nprocessed 26 insns',
      ),
    ).toBe('R1 pointer -= pointer prohibited');
  });
});
