// A rule's reason against the kernel's own checks: flagged where it names none of what the
// kernel denied in a failing cell, quiet where a fallback (CAP_SYS_ADMIN) got past a denial.
import { describe, expect, test } from 'vitest';
import { decisiveDenials } from '../harness/guest/cap-askers.js';
import type { CapCheck } from '../harness/guest/protocol.js';
import { namedCaps, reasonVsKernel } from '../harness/report/reason-checks.js';

const check = (cap: string, granted: boolean, asker: string): CapCheck => ({
  cap,
  granted,
  ns: 'initial',
  audit: true,
  count: 1,
  stack: ['ns_capable', 'bpf_token_capable', asker],
});
const failed = { outcome: 'EPERM', stage: 'prog_load', errno: 1, detail: '' } as const;

describe('rules against the kernel checks', () => {
  test('the capabilities a text names, once each', () => {
    expect(namedCaps('needs CAP_PERFMON (or CAP_SYS_ADMIN); CAP_PERFMON again')).toEqual([
      'CAP_PERFMON',
      'CAP_SYS_ADMIN',
    ]);
  });

  test('a denial its asker got past with CAP_SYS_ADMIN decided nothing', () => {
    const checks = [check('CAP_BPF', false, 'bpf_prog_load'), check('CAP_SYS_ADMIN', true, 'bpf_prog_load')];
    expect(decisiveDenials(checks)).toEqual(new Map());
    const xdp = [
      check('CAP_BPF', true, 'bpf_prog_load'),
      check('CAP_NET_ADMIN', false, 'bpf_prog_load'),
      check('CAP_SYS_ADMIN', false, 'bpf_prog_load'),
    ];
    expect([...decisiveDenials(xdp).keys()]).toEqual(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN']);
  });

  test('a reason naming CAP_PERFMON where the kernel denied CAP_SYS_ADMIN is flagged; naming one of them is not', () => {
    const cell = { observed: failed, capChecks: [check('CAP_SYS_ADMIN', false, 'perf_event_open')] };
    expect(reasonVsKernel('needs CAP_PERFMON', cell)).toBe(
      'names CAP_PERFMON; the kernel denied CAP_SYS_ADMIN (perf_event_open ← bpf_token_capable)',
    );
    expect(reasonVsKernel('needs CAP_SYS_ADMIN (paranoid 3)', cell)).toBeNull();
    expect(reasonVsKernel('a sysctl says no', cell)).toBeNull();
    expect(reasonVsKernel('needs CAP_PERFMON', { ...cell, observed: { ...failed, outcome: 'ok' } })).toBeNull();
    expect(reasonVsKernel('needs CAP_PERFMON', { observed: failed })).toBeNull();
    // an EINVAL is no check's answer, whatever was denied beside it
    expect(reasonVsKernel('needs CAP_PERFMON', { ...cell, observed: { ...failed, outcome: 'EINVAL' } })).toBeNull();
  });
});
