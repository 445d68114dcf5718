// The guest's judge of a container cell: the loader runs as root, and the container it made
// must hold exactly the runtime's default capabilities and the cell's --cap-add.
import { describe, expect, test } from 'vitest';
import { insideCaps } from '../harness/dsl/container.js';
import type { ExecResult } from '../harness/guest/exec-sample.js';
import { judge } from '../harness/guest/judge.js';
import { procStatus } from '../harness/guest/proc.js';
import type { GuestCell } from '../harness/guest/protocol.js';

const inside = insideCaps(['CAP_SYS_ADMIN']);
const cell: GuestCell = {
  id: 'box/add-SYS_ADMIN/default',
  key: 'k/box#1',
  sample: 'token_container',
  binary: '/bin/true',
  mode: 'sample',
  caps: 'root',
  uid: 0,
  inside,
  sysctl: {},
  args: [],
  setup: [],
  teardown: [],
  setupScope: 'cell',
  scenario: 'box',
  timeoutSec: 60,
};
const self = procStatus('self') ?? {};
const ran = (extra: Record<string, unknown>): ExecResult => ({
  status: { ...self, Uid: '0\t0\t0\t0' },
  code: 0,
  signal: null,
  stdout: `CAPMATRIX_RESULT ${JSON.stringify({ outcome: 'ok', stage: 'run', errno: 0, detail: 'd', uid: 0, capEff: self.CapEff, ...extra })}\n`,
  stderr: '',
  timedOut: false,
  leftovers: [],
  execMs: 1,
  startMs: null,
  firstBpfMs: null,
});

describe('judging a container cell', () => {
  test('the capabilities it reports inside are the cell’s: an observation', () => {
    expect(judge(cell, ran({ inside: '00000000a82425fb' }), '')).toHaveProperty('observed.outcome', 'ok');
  });
  test.each([
    ['a set the cell did not ask for', { inside: '00000000a80425fb' }],
    ['no report of what it held', {}],
  ])('%s: caps-not-applied', (_what, extra) => {
    expect(judge(cell, ran(extra), '')).toHaveProperty('infraKind', 'caps-not-applied');
  });
  test('a container that never existed (the runtime failed first) reports an empty set', () => {
    expect(judge(cell, ran({ inside: '' }), '')).toHaveProperty('observed');
  });
});
