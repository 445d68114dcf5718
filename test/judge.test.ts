// The guest's judge of a finished sample: an observation only when the process ran with exactly
// the cell's uid and capabilities (and, in a container cell, the container held exactly the
// runtime's default capabilities and the cell's --cap-add); otherwise the infra error that says why.
import { describe, expect, test } from 'vitest';
import { insideCaps } from '../harness/dsl/container.js';
import type { ExecResult } from '../harness/guest/exec-sample.js';
import { judge } from '../harness/guest/judge.js';
import { judgeExec } from '../harness/guest/judge-exec.js';
import { procStatus } from '../harness/guest/proc.js';
import type { GuestCell } from '../harness/guest/protocol.js';
import { guestCell } from './guest-cell.js';

const root = guestCell();
const box = guestCell({
  id: 'box/add-SYS_ADMIN/default',
  key: 'k/box#1',
  sample: 'token_container',
  scenario: 'box',
  inside: insideCaps(['CAP_SYS_ADMIN']),
});
const bpfOnly = guestCell({ id: 'sample/BPF/default', caps: ['CAP_BPF'], uid: 65534 });
const self = procStatus('self') ?? {};
/** A sample that ran as root with this process's capabilities and reported `extra` in its line. */
const ran = (extra: Record<string, unknown>, over: Partial<ExecResult> = {}): ExecResult => ({
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
  ...over,
});

describe('judge()', () => {
  test.each<[string, GuestCell, ExecResult, string, unknown]>([
    ['a root cell that reported ok', root, ran({}), 'observed.outcome', 'ok'],
    ['timeout', root, ran({}, { timedOut: true }), 'infraKind', 'cell-timeout'],
    ['no result line', root, ran({}, { stdout: 'nothing to say\n', code: 1 }), 'infraKind', 'no-result'],
    ['never stopped for the check', root, ran({}, { status: null }), 'infraKind', 'caps-not-applied'],
    ['status mismatch: root where the cell asks for uid 65534', bpfOnly, ran({}), 'infraKind', 'caps-not-applied'],
    [
      'container: the capabilities it reports inside are the cell’s',
      box,
      ran({ inside: '00000000a82425fb' }),
      'observed.outcome',
      'ok',
    ],
    [
      'container: a set the cell did not ask for',
      box,
      ran({ inside: '00000000a80425fb' }),
      'infraKind',
      'caps-not-applied',
    ],
    ['container: no report of what it held', box, ran({}), 'infraKind', 'caps-not-applied'],
    [
      'container: never existed (the runtime failed first), an empty set',
      box,
      ran({ inside: '' }),
      'observed.outcome',
      'ok',
    ],
  ])('%s', (_what, cell, result, property, value) => {
    expect(judge(cell, result, '')).toHaveProperty(property, value);
  });

  test('each infra error says why', () => {
    expect(judge(root, ran({}, { timedOut: true }), '')).toHaveProperty(
      'infraError',
      'killed after the 60s cell timeout',
    );
    expect(judge(root, ran({}, { stdout: '', code: 1 }), 'oops')).toHaveProperty(
      'infraError',
      'exited without a CAPMATRIX_RESULT line (exit code 1, signal null); stderr: oops',
    );
    expect(judge(bpfOnly, ran({}), '')).toHaveProperty(
      'infraError',
      expect.stringMatching(
        /^\/proc\/<pid>\/status of the running sample: Uid 0\t0\t0\t0, .*the cell asks for uid 65534/,
      ),
    );
    expect(judge(box, ran({ inside: '00000000a80425fb' }), '')).toHaveProperty(
      'infraError',
      expect.stringMatching(/^the container held CapEff 00000000a80425fb; the cell asks for/),
    );
  });
});

describe('judge(): how the capabilities were granted is what the kernel shows', () => {
  const BPF = '0000008000000000'; // CAP_BPF, bit 39
  const NONE = '0000000000000000';
  const ambientBpf = guestCell({ id: 'sample/ambient:BPF/default', caps: ['CAP_BPF'], uid: 65534, grant: 'ambient' });
  /** A uid-65534 sample that held `sets` at its start and reported CAP_BPF at its end. */
  const held = (sets: { CapInh: string; CapPrm: string; CapAmb: string }): ExecResult =>
    ran(
      { uid: 65534, capEff: BPF },
      {
        status: {
          Uid: '65534\t65534\t65534\t65534',
          Gid: '65534\t65534\t65534\t65534',
          Groups: '',
          CapEff: BPF,
          ...sets,
        },
      },
    );
  const fileCaps = held({ CapInh: NONE, CapPrm: BPF, CapAmb: NONE });
  const ambientCaps = held({ CapInh: BPF, CapPrm: BPF, CapAmb: BPF });

  test.each<[string, GuestCell, ExecResult, string, unknown]>([
    ['file capabilities, as a file grant gives them', bpfOnly, fileCaps, 'observed.outcome', 'ok'],
    ['ambient capabilities, as an ambient grant gives them', ambientBpf, ambientCaps, 'observed.outcome', 'ok'],
    [
      'file capabilities where the cell asks for an ambient grant',
      ambientBpf,
      fileCaps,
      'infraKind',
      'caps-not-applied',
    ],
    ['ambient capabilities where the cell asks for file ones', bpfOnly, ambientCaps, 'infraKind', 'caps-not-applied'],
    [
      'a permitted set wider than the effective one',
      bpfOnly,
      held({ CapInh: NONE, CapPrm: '000000c000000000', CapAmb: NONE }),
      'infraKind',
      'caps-not-applied',
    ],
  ])('%s', (_what, cell, result, property, value) => {
    expect(judge(cell, result, '')).toHaveProperty(property, value);
  });

  test('the mismatch names each set and the grant', () => {
    expect(judge(ambientBpf, fileCaps, '')).toHaveProperty(
      'infraError',
      `/proc/<pid>/status of the running sample: CapPrm ${BPF}, CapInh ${NONE}, CapAmb ${NONE}; the cell (grant ambient) asks for permitted ${BPF}, inheritable and ambient ${BPF}`,
    );
  });
});

describe("judge(): a deployment form's locks are what the kernel shows", () => {
  const BPF = '0000008000000000';
  const NONE = '0000000000000000';
  const rootful = guestCell({ id: 's/rootful:BPF/default', caps: ['CAP_BPF'], uid: 0, grant: 'rootful' });
  const noSetcap = guestCell({
    id: 's/pod-no-setcap:BPF/default',
    caps: ['CAP_BPF'],
    uid: 65534,
    grant: 'pod-no-setcap',
  });
  /** A sample of uid `uid` that held CapEff `eff` and these locks. */
  const locked = (uid: number, eff: string, locks: Record<string, string>): ExecResult =>
    ran(
      { uid, capEff: eff },
      {
        status: {
          Uid: `${uid}\t${uid}\t${uid}\t${uid}`,
          Gid: `${uid}\t${uid}\t${uid}\t${uid}`,
          Groups: '',
          CapEff: eff,
          CapPrm: eff,
          CapInh: NONE,
          CapAmb: NONE,
          ...locks,
        },
      },
    );

  test.each<[string, GuestCell, ExecResult, string, unknown]>([
    [
      'uid 0 cut to the set under the seccomp filter',
      rootful,
      locked(0, BPF, { CapBnd: BPF, NoNewPrivs: '0', Seccomp: '2' }),
      'observed.outcome',
      'ok',
    ],
    [
      'uid 0 without the seccomp filter',
      rootful,
      locked(0, BPF, { CapBnd: BPF, NoNewPrivs: '0', Seccomp: '0' }),
      'infraKind',
      'caps-not-applied',
    ],
    [
      'uid 0 with the whole bounding set',
      rootful,
      locked(0, BPF, { CapBnd: '000001ffffffffff', NoNewPrivs: '0', Seccomp: '2' }),
      'infraKind',
      'caps-not-applied',
    ],
    [
      "a pod's uid holding nothing, as capabilities.add alone gives it",
      noSetcap,
      locked(65534, NONE, { CapBnd: BPF, NoNewPrivs: '0', Seccomp: '0' }),
      'observed.outcome',
      'ok',
    ],
    [
      "a pod's uid holding the set it should not",
      noSetcap,
      locked(65534, BPF, { CapBnd: BPF, NoNewPrivs: '0', Seccomp: '0' }),
      'infraKind',
      'caps-not-applied',
    ],
    [
      'a file grant under no_new_privs it did not ask for',
      bpfOnly,
      locked(65534, BPF, { NoNewPrivs: '1', Seccomp: '0' }),
      'infraKind',
      'caps-not-applied',
    ],
  ])('%s', (_what, cell, result, property, value) => {
    expect(judge(cell, result, '')).toHaveProperty(property, value);
  });
});

describe('judgeExec(): a loader that failed with no refusal to name', () => {
  const loader = guestCell({ id: 'tool/SYS_ADMIN/default', mode: 'exec' });
  const failed = ran({}, { code: 1, stdout: '', stderr: 'this tool must be run as root\n' });
  const walk = '9 bpf(BPF_BTF_GET_NEXT_ID, {start_id=4}, 12) = -1 ENOENT (No such file or directory)\n';
  const check = (granted: boolean) => ({
    cap: 'CAP_SYS_ADMIN',
    granted,
    ns: 'initial' as const,
    audit: true,
    count: 1,
    stack: ['capable', 'bpf_obj_get_next_id', '__sys_bpf'],
  });

  test('no check said no and nothing was refused: refused@loader, with its own words', () => {
    const j = judgeExec(loader, failed, walk, 'this tool must be run as root', [check(true)]);
    expect(j).toMatchObject({ observed: { outcome: 'refused', stage: 'loader', errno: null } });
    expect('observed' in j && j.observed.detail).toMatch(/refused by itself .*\| this tool must be run as root$/);
  });

  test("a denial the kernel got past (5.10's bpf_capable(): CAP_BPF denied, CAP_SYS_ADMIN granted) said no to nothing", () => {
    const past = [
      { ...check(false), cap: 'CAP_BPF', stack: ['capable', '__do_sys_bpf'] },
      { ...check(true), stack: ['capable', '__do_sys_bpf'] },
    ];
    expect(judgeExec(loader, failed, walk, 'x', past)).toMatchObject({ observed: { outcome: 'refused' } });
  });

  test('a denied check the trace does not show, or no recorder: unexplained, never the loader', () => {
    const denied = judgeExec(loader, failed, walk, 'x', [check(false)]);
    expect(denied).toMatchObject({ observed: { outcome: 'EUNKNOWN', stage: 'run' } });
    expect('observed' in denied && denied.observed.detail).toMatch(
      /the kernel denied CAP_SYS_ADMIN \(bpf_obj_get_next_id\) in a call the trace does not follow/,
    );
    expect(judgeExec(loader, failed, walk, 'x', null)).toMatchObject({ observed: { outcome: 'EUNKNOWN' } });
  });
});
