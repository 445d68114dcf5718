// capmatrix minimize on the real default kernel at perf_event_paranoid=2 (four searches at once,
// one boot each); the search itself on models of the kernel's checks: test/minimize.test.ts.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { renderMinimize } from '../../harness/report/minimize-report.js';
import { minimizeJson, runMinimize } from '../../harness/run/minimize.js';
import type { MinimizeResult } from '../../harness/run/minimize-result.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'capmatrix-minimize-'));
const PARANOID_2 = { 'kernel.perf_event_paranoid': 2 } as const;
let xdp: MinimizeResult;
let tracepoint: MinimizeResult;
let sockex1: MinimizeResult;
let token: MinimizeResult;
const sets = (r: MinimizeResult, i = 0) => r.searches[i]?.minimal.map((m) => m.caps) ?? [];

describe('on the real default kernel', () => {
  beforeAll(async () => {
    const quiet = { resultsDir: dir, log: () => {} };
    [xdp, tracepoint, sockex1, token] = await Promise.all([
      runMinimize({
        scenario: 'xdp_adjust_tail',
        sysctl: PARANOID_2,
        otherSettings: false,
        emit: ['systemd'],
        ...quiet,
      }),
      runMinimize({ scenario: 'trace_output-tracepoint', sysctl: PARANOID_2, otherSettings: false, ...quiet }),
      runMinimize({ scenario: 'sockex1', sysctl: { 'kernel.unprivileged_bpf_disabled': 0 }, ...quiet }),
      runMinimize({ scenario: 'token-queue', otherSettings: false, emit: ['systemd', 'lxd', 'incus'], ...quiet }),
    ]);
  }, 1_200_000);

  test('xdp_adjust_tail needs {BPF, NET_ADMIN, PERFMON} (or NET_ADMIN with SYS_ADMIN); without PERFMON the verifier refuses pointer arithmetic', () => {
    expect(sets(xdp)).toContainEqual(['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON']);
    expect(sets(xdp)).toEqual([
      ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'],
      ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'],
    ]);
    const why = xdp.searches[0]?.minimal[1]?.shortfalls.find((f) => f.without === 'CAP_PERFMON');
    expect(why?.outcome).toBe('EACCES@verifier');
    expect(why?.detail).toMatch(/pointer -= pointer prohibited/);
    expect(xdp.searches[0]?.violations).toEqual([]);
    expect(renderMinimize(xdp)).toContain('setcap cap_bpf,cap_net_admin,cap_perfmon+ep ./xdp_adjust_tail');
    // the same sets, with runs spared where a failing run's kernel never denied what a set adds
    expect(xdp.searches[0]?.skippedByChecks).toBeGreaterThan(0);
    expect(renderMinimize(xdp)).toMatch(/the kernel's checks spared \d+ runs?: /);
  });

  test("--emit systemd: each minimal set ran again in the same boot as a locked unit's ambient capabilities, ok, and only then is the unit fragment shown", () => {
    const [first, second] = xdp.searches[0]?.minimal ?? [];
    expect(first?.checks?.unit).toMatchObject({
      ok: true,
      outcome: 'ok',
      cell: expect.stringMatching(/^xdp_adjust_tail\/unit:NET_ADMIN\+SYS_ADMIN\//),
    });
    expect(second?.checks?.unit).toMatchObject({
      ok: true,
      outcome: 'ok',
      cell: expect.stringMatching(/^xdp_adjust_tail\/unit:NET_ADMIN\+PERFMON\+BPF\//),
    });
    const text = renderMinimize(xdp);
    expect(text).toContain(
      '       AmbientCapabilities=CAP_BPF CAP_NET_ADMIN CAP_PERFMON\n       CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN CAP_PERFMON\n       NoNewPrivileges=yes',
    );
    expect(text).toMatch(
      /systemd, checked \(ok as uid 65534 given the set as ambient capabilities, .*; cell xdp_adjust_tail\/unit:/,
    );
    // the search itself ran file capabilities only: its count is unchanged by the checks after it
    expect(minimizeJson(xdp).cells).toBe((xdp.searches[0]?.runs ?? 0) + 2);
  });

  test("the kernel's own checks: the verifier asked for CAP_PERFMON and was denied without it; each capability of the set was asked for", () => {
    const set = xdp.searches[0]?.minimal[1];
    const why = set?.shortfalls.find((f) => f.without === 'CAP_PERFMON');
    expect(why?.denied).toMatch(/^CAP_PERFMON \(bpf_check\b/);
    // in the set's own run each capability was asked for (and granted) by the kernel
    for (const cap of ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'])
      expect(set?.askedFor?.[cap]?.length, cap).toBeGreaterThan(0);
    expect(set?.askedFor?.CAP_PERFMON).toContainEqual(expect.stringMatching(/^bpf_check\b/));
    const text = renderMinimize(xdp);
    expect(text).toMatch(/without CAP_PERFMON: EACCES@verifier .*\n\s+the kernel denied CAP_PERFMON \(bpf_check/);
    expect(text).toMatch(/the kernel asked: CAP_BPF \(/);
    expect(text).not.toContain('the kernel never asked for');
  });

  test('the tracepoint sample needs {BPF, PERFMON, DAC_READ_SEARCH}; the tracefs chmod alternative saves DAC_READ_SEARCH', () => {
    expect(sets(tracepoint)).toContainEqual(['CAP_BPF', 'CAP_DAC_READ_SEARCH', 'CAP_PERFMON']);
    const why = tracepoint.searches[0]?.minimal
      .find((m) => m.caps.includes('CAP_DAC_READ_SEARCH') && m.caps.includes('CAP_BPF'))
      ?.shortfalls.find((f) => f.without === 'CAP_DAC_READ_SEARCH');
    expect(why?.outcome).toBe('EACCES@tracefs_id');
    const chmod = tracepoint.searches.find((s) => s.scenario === 'trace_output-tracepoint-chmod');
    expect(chmod?.kind).toBe('scenario');
    expect(chmod?.minimal.map((m) => m.caps)).toContainEqual(['CAP_BPF', 'CAP_PERFMON']);
  });

  test('sockex1 at unprivileged_bpf_disabled=0 needs CAP_NET_RAW alone; at 2 and 1 it needs CAP_BPF too', () => {
    expect(sets(sockex1)).toEqual([['CAP_NET_RAW']]);
    const at2 = sockex1.searches.find((s) => s.sysctl['kernel.unprivileged_bpf_disabled'] === 2);
    expect(at2?.minimal.map((m) => m.caps)).toContainEqual(['CAP_BPF', 'CAP_NET_RAW']);
    expect(sockex1.searches.map((s) => s.sysctl['kernel.unprivileged_bpf_disabled'])).toEqual([0, 2, 1]);
  });

  test("the token demo's minimal delegation: delegate_cmds=map_create, delegate_maps=queue", () => {
    expect(token.dimension).toBe('delegation');
    expect(sets(token)).toEqual([['cmds=map_create', 'maps=queue']]);
    const why = token.searches[0]?.minimal[0]?.shortfalls;
    expect(why?.map((f) => [f.without, f.outcome])).toEqual([
      ['cmds=map_create', 'EPERM@map_create'],
      ['maps=queue', 'EPERM@map_create'],
    ]);
    expect(renderMinimize(token)).toContain('bpffs delegation: delegate_cmds=map_create,delegate_maps=queue');
    // the token route's forms, from the run of that delegation in this boot
    expect(token.searches[0]?.minimal[0]?.checks?.file).toMatchObject({ ok: true });
    const text = renderMinimize(token);
    expect(text).toContain(
      '       PrivateBPF=yes\n       BPFDelegateCommands=BPFMapCreate\n       BPFDelegateMaps=BPFMapTypeQueue',
    );
    expect(text).toContain('lxc config set <instance> security.delegate_bpf.map_types=queue');
    expect(text).toContain('incus config set <instance> security.bpffs.delegate_maps=queue');
  });

  test('far fewer cells than brute force, each search in one boot', () => {
    for (const r of [xdp, tracepoint, sockex1, token]) {
      const runs = r.searches.reduce((n, s) => n + s.runs, 0);
      const brute = r.searches.reduce((n, s) => n + s.bruteForce, 0);
      const spared = r.searches.reduce((n, s) => n + s.skippedByChecks, 0);
      console.log(
        `${r.searches[0]?.scenario}: ${runs} cells (${runs + spared} without the kernel's checks) for ${r.searches.length} search(es) vs ${brute}; ${(r.wallMs / 1000).toFixed(0)} s`,
      );
      expect(runs).toBeLessThan(brute / 4);
    }
  });
});
