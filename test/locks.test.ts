// The locks a cell runs under: a lockdown level (run only when securityfs shows exactly that
// level) and a memlock limit (a cell of its own, rules may test it); on a real kernel:
// test/vm/lockdown.test.ts and the --kernel all baselines.
import { describe, expect, test } from 'vitest';
import { lockdownMismatch, lockdownOf } from '../harness/guest/lockdown.js';

describe('the lockdown check before a cell', () => {
  test("the bracketed level of securityfs's line", () => {
    expect(lockdownOf('none integrity [confidentiality]')).toBe('confidentiality');
    expect(lockdownOf('[none] integrity confidentiality')).toBe('none');
    expect(lockdownOf(null)).toBeNull();
  });

  test('a level that did not take is said; a cell without the axis is not checked', () => {
    const at = (text: string | null) => () => text;
    expect(lockdownMismatch({ lockdown: 'integrity' }, at('none [integrity] confidentiality'))).toBeNull();
    expect(lockdownMismatch({ lockdown: 'integrity' }, at('[none] integrity confidentiality'))).toBe(
      "the kernel's lockdown is none; the cell asks for integrity (lockdown=integrity on its boot's command line)",
    );
    expect(lockdownMismatch({ lockdown: 'none' }, at(null))).toMatch(
      /lockdown is unknown \(\/sys\/kernel\/security\/lockdown: missing\)/,
    );
    expect(lockdownMismatch({}, at(null))).toBeNull();
  });
});

describe('the memlock axis', () => {
  test('each limit a cell of its own, its id and rules saying it', async () => {
    const { expandScenario, expectationFor } = await import('../harness/dsl/expand.js');
    const cells = expandScenario(
      {
        name: 'm',
        sample: 'sockex1',
        axes: { caps: [['CAP_BPF']], sysctl: {}, memlock: ['64k', 'unlimited'] },
        expect: [
          { until: '5.11', when: { memlock: '64k' }, outcome: 'EPERM@map_create', reason: 'charged' },
          { outcome: 'ok', reason: 'memcg' },
        ],
      },
      'scenarios/m.ts',
    );
    expect(cells.map((c) => c.id)).toEqual(['m/BPF/memlock=64k', 'm/BPF/memlock=unlimited']);
    const [low, high] = cells;
    if (!low || !high) throw new Error('no cells');
    expect([expectationFor(low, '5.10.262').outcome, expectationFor(high, '5.10.262').outcome]).toEqual([
      'EPERM',
      'ok',
    ]);
    expect(expectationFor(low, '6.1.176').outcome).toBe('ok');
  });
});
