// What the capability recorder says (harness/guest/cap-watch.ts) and how reports say it
// (harness/report/kernel-checks.ts), from lines and stacks the recorder gave on real kernels.
import { describe, expect, test } from 'vitest';
import { askedBy, deniedChecks } from '../harness/guest/cap-askers.js';
import { mergeChecks, parseCheck } from '../harness/guest/cap-watch.js';
import type { CapCheck } from '../harness/guest/protocol.js';
import { checkLines, kernelChecksLine } from '../harness/report/kernel-checks.js';

// debian-6.12, xdp_adjust_tail as uid 65534 with CAP_NET_ADMIN+CAP_BPF (EACCES@verifier)
const XDP_612 = [
  'check 39 0 6 57 security_capable ns_capable bpf_token_capable bpf_prog_load __sys_bpf __x64_sys_bpf do_syscall_64',
  'check 38 512 6 58 security_capable ns_capable bpf_token_capable bpf_check bpf_prog_load __sys_bpf __x64_sys_bpf',
  'check 38 512 6 60 security_capable ns_capable bpf_token_capable bpf_check bpf_prog_load __sys_bpf __x64_sys_bpf',
  'check 21 512 6 59 _stext ns_capable bpf_token_capable bpf_check bpf_prog_load __sys_bpf __x64_sys_bpf',
  'check 21 512 6 61 security_capable ns_capable bpf_token_capable bpf_check bpf_prog_load __sys_bpf __x64_sys_bpf',
  'check 12 0 3 103 security_capable ns_capable bpf_token_capable bpf_prog_load __sys_bpf __x64_sys_bpf do_syscall_64',
];
// debian-5.10: bpf_capable() is inlined into its callers there
const PROG_510 = 'check 38 512 4 3 security_capable capable bpf_check bpf_prog_load __do_sys_bpf do_syscall_64';

const parsed = (lines: string[]) =>
  lines.map((l) => {
    const c = parseCheck(l);
    if (!c) throw new Error(l);
    return c;
  });

describe('the recorder lines', () => {
  test('a line: capability by number, the answer, namespace and audit flags, the stack without the LSM dispatch', () => {
    expect(parseCheck('check 38 770 2 5 security_capable ns_capable_noaudit bpf_check')).toEqual({
      cap: 'CAP_PERFMON',
      granted: false,
      ns: 'other',
      audit: false,
      count: 2,
      stack: ['ns_capable_noaudit', 'bpf_check'],
      first: 5,
    });
    expect(parseCheck('exec 1')).toBeNull();
    expect(parseCheck('')).toBeNull();
  });

  test('checks that read the same once symbolised are one, counted together, in the order first made', () => {
    const merged = mergeChecks(parsed(XDP_612));
    expect(merged.map((c) => [c.cap, c.granted, c.count])).toEqual([
      ['CAP_BPF', true, 6],
      ['CAP_PERFMON', false, 12],
      ['CAP_SYS_ADMIN', false, 12],
      ['CAP_NET_ADMIN', true, 3],
    ]);
  });
});

describe('what the reports say', () => {
  const xdp = mergeChecks(parsed(XDP_612));

  test('who asked: past the plumbing, through the capability helper it used', () => {
    expect(xdp.map(askedBy)).toEqual([
      'bpf_prog_load ← bpf_token_capable',
      'bpf_check ← bpf_token_capable',
      'bpf_check ← bpf_token_capable',
      'bpf_prog_load ← bpf_token_capable',
    ]);
    expect(askedBy(mergeChecks(parsed([PROG_510]))[0] as CapCheck)).toBe('bpf_check');
  });

  test('the denied checks by who asked, each capability once', () => {
    expect(deniedChecks(xdp)).toBe('CAP_PERFMON, CAP_SYS_ADMIN (bpf_check ← bpf_token_capable)');
    expect(kernelChecksLine({ capChecks: xdp })).toBe(
      'the kernel denied CAP_PERFMON, CAP_SYS_ADMIN (bpf_check ← bpf_token_capable)',
    );
  });

  test('no denial, no check, not recorded: each said so', () => {
    expect(kernelChecksLine({ capChecks: xdp.filter((c) => c.granted) })).toBe(
      'every capability check the kernel made was granted',
    );
    expect(kernelChecksLine({ capChecks: [] })).toBe('the kernel made no capability check');
    expect(kernelChecksLine({})).toBeNull();
  });

  test('every check a line, with its namespace and audit flag', () => {
    const other = { ...(xdp[0] as CapCheck), ns: 'other' as const, audit: false };
    expect(checkLines([other])).toBe(
      'granted CAP_BPF ×6 bpf_prog_load ← bpf_token_capable [another user namespace] [noaudit]',
    );
  });
});
