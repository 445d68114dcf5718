// capmatrix minimize: the search on models of the kernel's checks (on the real default kernel:
// test/vm/minimize.test.ts).

import { describe, expect, test } from 'vitest';
import { minimalSets } from '../harness/guest/minimal-sets.js';
import type { CellRecord } from '../harness/outcome/guest-records.js';
import { renderMinimize } from '../harness/report/minimize-report.js';
import { DEFAULT_UNIVERSE, parseEmitFlag, settingNotes, tellingLine } from '../harness/run/minimize.js';
import type { FormCheck, MinimizeResult } from '../harness/run/minimize-result.js';

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

  test("with the kernel's checks: the same sets, and the runs it spares are the ones the plain search makes", async () => {
    // XDP as the kernel checks it, each check short-circuiting like bpf_capable() and friends:
    // the run stops at the first check that fails, having denied what it asked for
    const xdpChecks = async (s: string[]) => {
      const denied: string[] = [];
      for (const [cap, fallback] of [
        ['BPF', 'SYS_ADMIN'],
        ['NET_ADMIN', 'SYS_ADMIN'],
        ['PERFMON', 'SYS_ADMIN'],
      ] as const) {
        if (has(s, cap)) continue;
        denied.push(`CAP_${cap}`);
        if (has(s, fallback)) continue;
        denied.push(`CAP_${fallback}`);
        return { ok: false, denied };
      }
      return { ok: true, denied };
    };
    const plain = await minimalSets(DEFAULT_UNIVERSE, async (s) => (await xdpChecks(s)).ok);
    const ran: string[][] = [];
    const checked = await minimalSets(DEFAULT_UNIVERSE, async (s) => {
      ran.push(s);
      return xdpChecks(s);
    });
    expect(checked.minimal).toEqual(plain.minimal);
    expect(checked.violations).toEqual([]);
    expect(checked.skippedByChecks).toBeGreaterThan(0);
    expect(checked.runs + checked.skippedByChecks).toBe(plain.runs);
    expect(plain.skippedByChecks).toBe(0);
    // every set it ran adds, to each failing run below it, a capability that run was denied
    expect(checked.runs).toBe(ran.length);
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

  test('the telling line of a CO-RE failure is libbpf\'s, not the errno or "invalid func"', () => {
    const detail = [
      'load core_missing: Invalid argument | 0: R1=ctx() R10=fp0',
      '0: <invalid CO-RE relocation>',
      'failed to resolve CO-RE relocation <byte_off> [8] struct sk_buff___x.gone (0:0 @ offset 0)',
      'processed 0 insns (limit 1000000)',
    ].join('\n');
    expect(tellingLine(detail)).toMatch(/^failed to resolve CO-RE relocation <byte_off>/);
    expect(tellingLine("load x: Invalid argument | R2 invalid mem access 'scalar'")).toBe(
      "R2 invalid mem access 'scalar'",
    );
  });
});

describe("minimize's note on Debian's perf_event_paranoid=3", () => {
  const run = (paranoid: number | undefined, cap: string, asker: string) =>
    ({
      sysctlNow: paranoid === undefined ? {} : { 'kernel.perf_event_paranoid': paranoid },
      capChecks: [
        {
          cap,
          granted: false,
          ns: 'initial',
          audit: true,
          count: 1,
          stack: ['capable', asker, '__x64_sys_perf_event_open'],
        },
      ],
    }) as unknown as CellRecord;

  test('said when perf_event_open was denied CAP_SYS_ADMIN at 3 (set, or the boot default)', () => {
    expect(settingNotes([run(3, 'CAP_SYS_ADMIN', 'perf_event_open')], {})[0]).toMatch(/at ≤ 2 it asks for CAP_PERFMON/);
    expect(
      settingNotes([run(undefined, 'CAP_SYS_ADMIN', 'perf_event_open')], { 'kernel.perf_event_paranoid': 3 }),
    ).toHaveLength(1);
  });

  test('not said at 2, for another capability, or another asker', () => {
    expect(settingNotes([run(2, 'CAP_SYS_ADMIN', 'perf_event_open')], {})).toEqual([]);
    expect(settingNotes([run(3, 'CAP_PERFMON', 'perf_event_open')], {})).toEqual([]);
    expect(settingNotes([run(3, 'CAP_SYS_ADMIN', 'bpf_prog_load')], {})).toEqual([]);
  });
});

describe('--emit: the deployment forms', () => {
  const result = (unit: FormCheck): MinimizeResult => ({
    runDir: '/tmp/x',
    dimension: 'caps',
    kernel: { id: 'debian-6.12', release: '6.12' },
    sample: 'loader',
    universe: ['CAP_BPF', 'CAP_NET_ADMIN'],
    emit: ['setcap', 'systemd'],
    bootSysctls: {},
    searches: [
      {
        kind: 'asked',
        scenario: 's',
        sysctl: {},
        minimal: [
          {
            caps: ['CAP_BPF', 'CAP_NET_ADMIN'],
            shortfalls: [],
            checks: { file: { ok: true, outcome: 'ok', detail: '', cell: 's/NET_ADMIN+BPF/s1' }, unit },
          },
        ],
        violations: [],
        runs: 4,
        skippedByChecks: 0,
        bruteForce: 4,
      },
    ],
    bootMs: null,
    wallMs: 1,
  });

  test('a form that failed in the guest is said with its cell and outcome, and no fragment is shown', () => {
    const failed = renderMinimize(
      result({
        ok: false,
        outcome: 'EPERM@prog_load',
        detail: 'load: Operation not permitted',
        cell: 's/unit:X/s1',
      }),
    );
    expect(failed).toContain(
      'systemd: fails as uid 65534 given the set as ambient capabilities, the bounding set cut to it, no_new_privs: EPERM@prog_load load: Operation not permitted (cell s/unit:X/s1): nothing to paste',
    );
    expect(failed).not.toContain('[Service]');
    const ok = renderMinimize(result({ ok: true, outcome: 'ok', detail: '', cell: 's/unit:X/s1' }));
    expect(ok).toContain('[Service]');
    expect(ok).toContain('AmbientCapabilities=CAP_BPF CAP_NET_ADMIN');
    expect(ok).toContain('CapabilityBoundingSet=CAP_BPF CAP_NET_ADMIN');
    expect(ok).toContain('NoNewPrivileges=yes');
  });

  test('--emit takes the known forms only, naming the allowed ones', () => {
    expect(parseEmitFlag('setcap,systemd,systemd')).toEqual(['setcap', 'systemd']);
    expect(() => parseEmitFlag('systemd,k8s')).toThrow(
      '--emit: unknown form "k8s" (allowed: setcap, systemd, docker, podman, kubernetes, lxd, incus)',
    );
  });
});

describe('--emit on the token route: the delegation as a unit, an LXD and an Incus container ask for it', () => {
  const token: MinimizeResult = {
    runDir: '/tmp/x',
    dimension: 'delegation',
    kernel: { id: 'debian-6.12', release: '6.12' },
    sample: 'token',
    universe: ['cmds=map_create', 'maps=queue', 'attachs=any'],
    emit: ['systemd', 'lxd', 'incus', 'docker'],
    searches: [
      {
        kind: 'asked',
        scenario: 'token-queue',
        sysctl: {},
        minimal: [
          {
            caps: ['cmds=map_create', 'maps=queue', 'attachs=any'],
            shortfalls: [],
            checks: {
              file: { ok: true, outcome: 'ok', detail: '', cell: 'token-queue/cmds=map_create+maps=queue/s1' },
            },
          },
        ],
        violations: [],
        runs: 4,
        skippedByChecks: 0,
        bruteForce: 8,
      },
    ],
    bootMs: null,
    wallMs: 1,
  };

  test("each form's text from the search's own run; a form of the capability route is not given", () => {
    const text = renderMinimize(token);
    expect(text).toContain(
      [
        '       [Service]',
        '       PrivateUsers=yes',
        '       PrivateMounts=yes',
        '       DelegateNamespaces=mnt',
        '       PrivateBPF=yes',
        '       BPFDelegateCommands=BPFMapCreate',
        '       BPFDelegateMaps=BPFMapTypeQueue',
        '       BPFDelegateAttachments=any',
      ].join('\n'),
    );
    expect(text).toContain(
      '       lxc config set <instance> security.delegate_bpf=true\n       lxc config set <instance> security.delegate_bpf.cmd_types=map_create\n       lxc config set <instance> security.delegate_bpf.map_types=queue\n       lxc config set <instance> security.delegate_bpf.attach_types=any',
    );
    expect(text).toContain('       incus config set <instance> security.bpffs.delegate_cmds=map_create');
    expect(text).toMatch(
      /incus, checked \(ok as the search's own run: a bpffs mounted with exactly these delegate options/,
    );
    expect(text).not.toContain('docker');
  });
});

describe('--memlock: each form sets the limit its runs had', () => {
  test('systemd LimitMEMLOCK=, docker --ulimit, a pod only says it cannot', async () => {
    const { emittedForms } = await import('../harness/report/deploy-forms.js');
    const ok = { ok: true, outcome: 'ok', detail: '', cell: 'c' };
    const forms = emittedForms(
      { emit: ['systemd', 'docker', 'kubernetes'], sample: 'x', dimension: 'caps', memlock: '64k' },
      { caps: ['CAP_BPF'], checks: { file: ok, unit: ok, rootful: ok, pod: ok } },
    );
    const text = Object.fromEntries(forms.map((f) => [f.form, f.text ?? '']));
    expect(text.systemd).toContain('LimitMEMLOCK=65536');
    expect(text.docker).toContain('--ulimit memlock=65536:65536');
    expect(text.kubernetes).toContain('# RLIMIT_MEMLOCK: checked at 64k');
    const plain = emittedForms(
      { emit: ['docker'], sample: 'x', dimension: 'caps' },
      { caps: ['CAP_BPF'], checks: { file: ok, rootful: ok } },
    );
    expect(plain[0]?.text).toContain('--ulimit memlock=-1:-1');
  });
});
