// BPF token through libbpf (talk l.1189-1209): the same root parent and uid-65534 child as
// scenarios/token.ts, but the child lets libbpf >= 1.4 find the token and load the talk's
// priv_map object (l.1285-1291: one QUEUE map). What a libbpf loader needs delegated is more
// than what raw bpf(2) needs: libbpf first loads a trivial SOCKET_FILTER program of its own
// (bpf_object__probe_loading in libbpf.c), with the token, before it creates any map.
import { defineScenario, type ExpectRule, type Scenario } from '../harness/dsl/scenario.js';

const TALK = ['cmds=map_create:prog_load', 'maps=queue', 'progs=socket_filter', 'attachs=any'];
const axes: Scenario['axes'] = { caps: ['root'], sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2, 1] } };

const before69: ExpectRule = {
  until: '6.9',
  outcome: 'EPERM@bpffs_create',
  reason:
    'before 6.9 bpffs has no FS_USERNS_MOUNT: fsopen("bpf") in a user namespace is refused (fs/bpf/inode.c bpf_fs_type; docs/seed-claims.md, claim on tokens)',
};
const loads: ExpectRule = {
  since: '6.9',
  outcome: 'ok',
  reason:
    "libbpf's probe and the QUEUE map both go with the token: bpf_token_capable(token, CAP_BPF) holds in the child's user namespace (kernel/bpf/token.c), which also lifts unprivileged_bpf_disabled (kernel/bpf/syscall.c bpf_prog_load, map_create)",
};

function way(name: string, description: string, args: string[], expect: ExpectRule[]): Scenario {
  return defineScenario({ name, sample: 'token_libbpf', description, context: 'userns', args, axes, expect });
}

export default [
  way(
    'token_libbpf-opts',
    "the talk's way: bpf_object_open_opts.bpf_token_path = /proc/self/fd/N of the delegated mount",
    ['opts', ...TALK],
    [before69, loads],
  ),
  way(
    'token_libbpf-env',
    'the same mount named by LIBBPF_BPF_TOKEN_PATH, nothing in the opts',
    ['env', ...TALK],
    [before69, loads],
  ),
  way(
    'token_libbpf-implicit',
    "the mount moved onto /sys/fs/bpf in the child's mount namespace: libbpf's default lookup finds it",
    ['implicit', ...TALK],
    [before69, loads],
  ),
  way(
    'token_libbpf-none',
    "no token: libbpf's default lookup meets the system's /sys/fs/bpf (talk l.187)",
    ['none'],
    [
      {
        when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [0] } },
        outcome: 'EPERM@map_create',
        reason:
          "no token: the probe's SOCKET_FILTER loads unprivileged at unprivileged_bpf_disabled=0, the QUEUE map needs CAP_BPF (kernel/bpf/syscall.c map_create; talk l.583-621)",
      },
      {
        outcome: 'EPERM@probe',
        reason:
          "no token: libbpf's optional /sys/fs/bpf lookup fails, then its trivial SOCKET_FILTER probe is refused by unprivileged_bpf_disabled (talk l.184-192; kernel/bpf/syscall.c bpf_prog_load)",
      },
    ],
  ),
  way(
    'token_libbpf-map-only',
    "the raw loader's minimal delegation (map_create + queue) given to libbpf",
    ['opts', 'cmds=map_create', 'maps=queue'],
    [
      before69,
      {
        since: '6.9',
        when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [0] } },
        outcome: 'ok',
        reason:
          "the token does not cover libbpf's probe (no prog_load delegated), so the kernel ignores it there, but at unprivileged_bpf_disabled=0 a SOCKET_FILTER loads for anyone; the QUEUE map goes with the token",
      },
      {
        since: '6.9',
        outcome: 'EPERM@probe',
        reason:
          "prog_load is not delegated: bpf_prog_load drops the token and applies unprivileged_bpf_disabled, so libbpf's probe fails before its map is created (kernel/bpf/syscall.c bpf_prog_load)",
      },
    ],
  ),
  way(
    'token_libbpf-undelegated',
    'delegate_maps without queue: libbpf probes with the token, then the QUEUE map is not covered',
    ['opts', 'cmds=map_create:prog_load', 'maps=array', 'progs=socket_filter', 'attachs=any'],
    [
      before69,
      {
        since: '6.9',
        outcome: 'EPERM@map_create',
        reason:
          'bpf_token_allow_map_type() fails, map_create ignores the token and QUEUE needs CAP_BPF in the initial namespace (kernel/bpf/syscall.c map_create)',
      },
    ],
  ),
];
