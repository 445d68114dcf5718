// Program types of the talk's table (l.474-509) beyond kprobe and tracepoint: tc, cgroup_skb,
// cgroup_sock and lwt (bpf-src/prog_net), sk_skb with its sockmap (bpf-src/prog_sockmap), and the
// BTF-typed tracing programs fentry and tp_btf (bpf-src/prog_btf). Each is one program of one
// object run by the generic object loader: ok = loaded and attached (tc: lo's clsact ingress;
// cgroup: the root cgroup through a link; fentry/tp_btf: libbpf's auto-attach; lwt and sk_skb:
// loaded only, asked for with `loadOnly`: libbpf cannot attach them on its own).
import path from 'node:path';
import { defineScenario, type ExpectRule, type Scenario } from '../harness/dsl/scenario.js';
import { SAMPLES_BUILD_DIR } from '../harness/paths.js';

const axes: Scenario['axes'] = {
  caps: [
    [],
    ['CAP_BPF'],
    ['CAP_NET_ADMIN'],
    ['CAP_BPF', 'CAP_NET_ADMIN'],
    ['CAP_BPF', 'CAP_PERFMON'],
    ['CAP_SYS_ADMIN'],
  ],
  sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2] },
};

const PROBE: ExpectRule = {
  when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [1, 2] }, lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
  outcome: 'EPERM@probe',
  reason:
    "sysctl≠0 without CAP_BPF: bpf_prog_load() (kernel/bpf/syscall.c) returns EPERM, and libbpf's trivial-program probe is the first load to hit it",
};
const NOT_SOCKET_FILTER: ExpectRule = {
  when: { lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
  outcome: 'EPERM@prog_load',
  reason: 'bpf_prog_load(): a type other than SOCKET_FILTER and CGROUP_SKB needs CAP_BPF even at sysctl 0',
};
const NET_ADMIN: ExpectRule = {
  when: { lacks: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'] },
  outcome: 'EPERM@prog_load',
  reason: 'bpf_prog_load(): is_net_admin_prog_type() needs bpf_token_capable(token, CAP_NET_ADMIN) (talk l.474-509)',
};
const PERFMON: ExpectRule = {
  when: { lacks: ['CAP_PERFMON', 'CAP_SYS_ADMIN'] },
  outcome: 'EPERM@prog_load',
  reason: 'bpf_prog_load(): is_perfmon_prog_type() (TRACING) needs bpf_token_capable(token, CAP_PERFMON)',
};
const CGROUP_SKB_ATTACH_BEFORE_69: ExpectRule = {
  until: '6.9',
  when: { lacks: ['CAP_NET_ADMIN'] },
  outcome: 'EPERM@attach',
  reason:
    'measured on Debian 5.10 and 6.1: attaching CGROUP_SKB (which anyone may load) wants CAP_NET_ADMIN itself there, CAP_SYS_ADMIN is refused; bpf_net_capable() (either one) came with the 6.9 token series (6.12 measured ok)',
};
const CGROUP_ATTACH: ExpectRule = {
  when: { lacks: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'] },
  outcome: 'EPERM@attach',
  reason:
    'measured: the program loads, but BPF_LINK_CREATE on the root cgroup is refused without CAP_NET_ADMIN or CAP_SYS_ADMIN (the pair bpf_net_capable() accepts, kernel/bpf/syscall.c)',
};
const ok = (why: string): ExpectRule => ({ outcome: 'ok', reason: why });

const object = (name: string) => path.join(SAMPLES_BUILD_DIR, `${name}.bpf.o`);

const PROGRAMS: { name: string; object: string; program: string; loadOnly?: true; expect: ExpectRule[] }[] = [
  {
    name: 'prog-tc',
    object: 'prog_net',
    program: 'tc_pass',
    expect: [
      PROBE,
      NOT_SOCKET_FILTER,
      NET_ADMIN,
      {
        when: { lacks: ['CAP_NET_ADMIN'] },
        outcome: 'EPERM@attach',
        reason:
          'measured: CAP_SYS_ADMIN loads SCHED_CLS (bpf_token_capable() accepts it for CAP_NET_ADMIN) but the clsact qdisc and filter go through rtnetlink, which checks CAP_NET_ADMIN itself (net/sched/cls_api.c tc_new_tfilter(): netlink_ns_capable(…, CAP_NET_ADMIN)) with no CAP_SYS_ADMIN fallback',
      },
      ok('CAP_BPF+CAP_NET_ADMIN: SCHED_CLS loaded and on lo ingress'),
    ],
  },
  {
    name: 'prog-cgroup_skb',
    object: 'prog_net',
    program: 'cgroup_skb_pass',
    expect: [
      PROBE,
      CGROUP_SKB_ATTACH_BEFORE_69,
      CGROUP_ATTACH,
      ok(
        'is_net_admin_prog_type() leaves CGROUP_SKB out ("always unpriv"): at sysctl 0 anyone loads it; attaching it takes CAP_NET_ADMIN',
      ),
    ],
  },
  {
    name: 'prog-cgroup_sock',
    object: 'prog_net',
    program: 'cgroup_sock_pass',
    expect: [
      PROBE,
      NOT_SOCKET_FILTER,
      NET_ADMIN,
      ok('CAP_BPF+CAP_NET_ADMIN: CGROUP_SOCK loaded and on the root cgroup'),
    ],
  },
  {
    name: 'prog-lwt',
    object: 'prog_net',
    program: 'lwt_in_pass',
    loadOnly: true,
    expect: [PROBE, NOT_SOCKET_FILTER, NET_ADMIN, ok('CAP_BPF+CAP_NET_ADMIN: LWT_IN loaded (routes attach it)')],
  },
  {
    name: 'prog-sk_skb',
    object: 'prog_sockmap',
    program: 'sk_skb_verdict',
    loadOnly: true,
    expect: [
      PROBE,
      {
        until: '6.9',
        when: { lacks: ['CAP_NET_ADMIN'] },
        outcome: 'EPERM@map_create',
        reason:
          'the SOCKMAP wants CAP_NET_ADMIN itself before 6.9 (the map-sockmap scenarios, measured on 5.10 and 6.1)',
      },
      {
        when: { lacks: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'] },
        outcome: 'EPERM@map_create',
        reason:
          "libbpf creates the object's SOCKMAP before it loads the program, and map_create() wants CAP_NET_ADMIN for it (the map-sockmap scenarios)",
      },
      NOT_SOCKET_FILTER,
      ok('CAP_BPF+CAP_NET_ADMIN: the SOCKMAP and SK_SKB loaded'),
    ],
  },
  {
    name: 'prog-fentry',
    object: 'prog_btf',
    program: 'fentry_vfs_unlink',
    expect: [PROBE, NOT_SOCKET_FILTER, PERFMON, ok('CAP_BPF+CAP_PERFMON: fentry on vfs_unlink attached')],
  },
  {
    name: 'prog-tp_btf',
    object: 'prog_btf',
    program: 'tp_btf_sched_switch',
    expect: [PROBE, NOT_SOCKET_FILTER, PERFMON, ok('CAP_BPF+CAP_PERFMON: tp_btf on sched_switch attached')],
  },
];

export default PROGRAMS.map((p) =>
  defineScenario({
    name: p.name,
    object: object(p.object),
    programs: [p.program],
    ...(p.loadOnly ? { loadOnly: [p.program] } : {}),
    description: `${p.program} of bpf-src/${p.object}/${p.object}.bpf.c through the generic object loader`,
    axes,
    expect: p.expect,
  }),
);
