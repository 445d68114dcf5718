// The BPF token in a rootless container (talk l.1363-1392). The root parent delegates as in
// scenarios/token.ts; the child runs in a container that an unprivileged runtime made (uid 0
// inside = uid 65534 outside, user + mount + pid namespaces), with the runtime's default
// capabilities plus the cell's --cap-add (the caps axis) and a seccomp profile (one scenario
// each, as data: harness/dsl/container.ts). Variant 1 (l.1370): the child unshares a user
// namespace of its own, which the profile must allow. Variant 2 (l.1376): --cap-add
// CAP_SYS_ADMIN,CAP_BPF and the child stays in the container's namespace. Both then load the
// talk's priv_map through libbpf with bpf_token_path (l.1189-1209).
import type { ContainerSpec } from '../harness/dsl/container.js';
import { defineScenario, type ExpectRule, type Scenario } from '../harness/dsl/scenario.js';

const TALK = ['cmds=map_create:prog_load', 'maps=queue', 'progs=socket_filter', 'attachs=any'];
const axes: Scenario['axes'] = {
  caps: [[], ['CAP_SYS_ADMIN'], ['CAP_BPF'], ['CAP_SYS_ADMIN', 'CAP_BPF']],
  sysctl: { 'kernel.unprivileged_bpf_disabled': [2], 'kernel.unprivileged_userns_clone': [1, 0] },
};

const noRootless: ExpectRule = {
  when: { sysctl: { 'kernel.unprivileged_userns_clone': [0] } },
  outcome: 'EPERM@unshare',
  reason:
    "Debian's unprivileged_userns_clone=0 refuses CLONE_NEWUSER without CAP_SYS_ADMIN (kernel/fork.c ksys_unshare, Debian's patch): the rootless runtime cannot make the container at all",
};
const before69: ExpectRule = {
  until: '6.9',
  outcome: 'EPERM@bpffs_create',
  reason: 'before 6.9 bpffs has no FS_USERNS_MOUNT (kernel/bpf/inode.c bpf_fs_type): no token in any user namespace',
};
const loads = (why: string): ExpectRule => ({
  since: '6.9',
  outcome: 'ok',
  reason: `${why}; the parent delegates, and libbpf's probe and the QUEUE map go with the token (kernel/bpf/token.c bpf_token_capable)`,
});

/** `first`: steps that fail before any bpffs is asked for, on every kernel (the socket, the
 * profile's unshare); `expect`: the rest, after the pre-6.9 rule. */
function container(
  name: string,
  description: string,
  variant: 'unshare' | 'capadd',
  spec: ContainerSpec,
  expect: ExpectRule[],
  { first = [], caps = axes.caps }: { first?: ExpectRule[]; caps?: Scenario['axes']['caps'] } = {},
): Scenario {
  return defineScenario({
    name,
    sample: 'token_container',
    description,
    context: 'container',
    container: spec,
    args: [variant, ...TALK],
    axes: { ...axes, caps },
    // where every cell fails before the bpffs, the pre-6.9 rule would never apply
    expect: [noRootless, ...first, ...(expect.length ? [before69, ...expect] : [])],
  });
}

const seccompRefusesUnshare = (profile: string): ExpectRule => ({
  when: { lacks: ['CAP_SYS_ADMIN'] },
  outcome: 'EPERM@unshare',
  reason: `the ${profile} profile answers unshare(2) with EPERM (SECCOMP_RET_ERRNO) before the kernel sees it`,
});

export default [
  container(
    'token_container-unshare-unconfined',
    'variant 1 as the talk ran it: --security-opt seccomp=unconfined, the child unshares',
    'unshare',
    { seccomp: 'unconfined' },
    [loads('with no filter the child creates a user namespace inside the container and holds every capability there')],
  ),
  container(
    'token_container-unshare-talk-filter',
    "variant 1 under token-seccomp's filter (unshare refused)",
    'unshare',
    { seccomp: 'talk-deny-unshare' },
    [],
    {
      first: [
        {
          outcome: 'EPERM@unshare',
          reason:
            'the filter refuses unshare(2) whatever the capabilities: the child never gets its own user namespace',
        },
      ],
    },
  ),
  container(
    'token_container-unshare-runtime-default',
    "variant 1 under the runtime's default profile (moby-shaped): unshare only with CAP_SYS_ADMIN",
    'unshare',
    { seccomp: 'runtime-default' },
    [loads("--cap-add CAP_SYS_ADMIN lifts the profile's unshare rule")],
    {
      first: [
        seccompRefusesUnshare('runtime-default (moby profiles/seccomp/default.json: unshare needs CAP_SYS_ADMIN)'),
      ],
    },
  ),
  container(
    'token_container-capadd',
    "variant 2 as the talk ran it: the runtime's default profile, --cap-add CAP_SYS_ADMIN,CAP_BPF, no unshare",
    'capadd',
    { seccomp: 'runtime-default' },
    [
      {
        since: '6.9',
        when: { lacks: ['CAP_SYS_ADMIN'] },
        outcome: 'EPERM@bpffs_create',
        reason: 'the profile refuses fsopen(2) without CAP_SYS_ADMIN (moby profiles/seccomp/default.json)',
      },
      {
        since: '6.9',
        when: { lacks: ['CAP_BPF'] },
        outcome: 'EPERM@token_create',
        reason:
          "CAP_SYS_ADMIN in the container's namespace creates the bpffs, but BPF_TOKEN_CREATE wants CAP_BPF there (kernel/bpf/token.c bpf_token_create: ns_capable(userns, CAP_BPF))",
      },
      loads("CAP_SYS_ADMIN (bpffs in the container's namespace) and CAP_BPF (the token) inside, talk l.1368"),
    ],
  ),
  container(
    'token_container-capadd-unconfined',
    'variant 2 without any seccomp filter: what the kernel itself asks of the container',
    'capadd',
    { seccomp: 'unconfined' },
    [
      {
        since: '6.9',
        when: { lacks: ['CAP_SYS_ADMIN'] },
        outcome: 'EPERM@bpffs_create',
        reason:
          'fsopen("bpf") wants CAP_SYS_ADMIN in the caller\'s user namespace (fs/fsopen.c fsopen → fs/super.c mount_capable), which the runtime\'s default set lacks',
      },
      {
        since: '6.9',
        when: { lacks: ['CAP_BPF'] },
        outcome: 'EPERM@token_create',
        reason: 'BPF_TOKEN_CREATE wants CAP_BPF in the bpffs user namespace (kernel/bpf/token.c bpf_token_create)',
      },
      loads('CAP_SYS_ADMIN and CAP_BPF inside the container'),
    ],
  ),
  container(
    'token_container-uds-private',
    "variant 1 with the parent's socket 0600 root: the container's uid 65534 may not connect (talk l.1365)",
    'unshare',
    { seccomp: 'unconfined', uds: 'private' },
    [],
    {
      caps: [[], ['CAP_SYS_ADMIN', 'CAP_BPF']],
      first: [
        {
          outcome: 'EACCES@uds_connect',
          reason:
            "connect(2) to a path socket needs write permission on it (net/unix/af_unix.c unix_find_bsd: path_permission MAY_WRITE); the container's capabilities do not count for a file of an unmapped owner (kernel/capability.c capable_wrt_inode_uidgid)",
        },
      ],
    },
  ),
];
