// A cell that asks for a lockdown level runs only when securityfs shows exactly that level; on a
// real kernel: scenarios/lockdown.ts in the --kernel all baselines.
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
