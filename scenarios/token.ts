// BPF token (talk l.1104-1300): root (the privileged parent) delegates through a bpffs it
// materializes for a child, uid 65534 without capabilities, inside a new user namespace; the
// child creates a token and loads with it. Delegation sets and contexts are the axes, one
// scenario each (Playwright-projects style). Tokens exist since 6.9 (kernel/bpf/token.c, 6.9).
import { defineScenario, type ExpectRule, type Scenario } from '../harness/dsl/scenario.js';

const DEMO = ['cmds=map_create:prog_load:btf_load', 'maps=queue', 'progs=socket_filter', 'attachs=any'];
const axes: Scenario['axes'] = { caps: ['root'], sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2, 1] } };

const before69: ExpectRule = {
  until: '6.9',
  outcome: 'EPERM@bpffs_create',
  reason:
    'before 6.9 bpffs has no FS_USERNS_MOUNT: fsopen("bpf") in a user namespace is refused (kernel/bpf/token.c bpf_token_capable; kernel/bpf/inode.c bpf_fs_type)',
};

/** `gated`: the outcome differs before 6.9 (no tokens); otherwise the rule holds on every kernel. */
function tokenScenario(
  name: string,
  description: string,
  args: string[],
  since69: Omit<ExpectRule, 'since'>,
  gated = true,
): Scenario {
  return defineScenario({
    name,
    sample: 'token',
    description,
    context: 'userns',
    args,
    axes,
    expect: gated ? [before69, { ...since69, since: '6.9' }] : [since69],
  });
}

export default [
  tokenScenario(
    'token-queue',
    "the talk's delegation; the child creates a QUEUE map with the token, pushes and pops",
    ['queue', 'delegated', ...DEMO],
    {
      outcome: 'ok',
      reason:
        'map_create: the delegated token makes bpf_token_capable(token, CAP_BPF) = ns_capable(child userns) true, which also lifts the unprivileged_bpf_disabled gate (kernel/bpf/token.c bpf_token_capable; talk l.1104-1122)',
    },
  ),
  tokenScenario(
    'token-kprobe',
    'the same delegation; a KPROBE program, which it does not delegate',
    ['kprobe', 'delegated', ...DEMO],
    {
      outcome: 'EPERM@prog_load',
      reason:
        'KPROBE not in delegate_progs: the token is dropped and the init-namespace checks apply; the child has no CAP_BPF there (kernel/bpf/syscall.c bpf_prog_load, kernel/bpf/token.c bpf_token_allow_prog_type)',
    },
  ),
  tokenScenario(
    'token-queue-undelegated',
    'delegate_maps without queue: the QUEUE map is not covered',
    ['queue', 'delegated', 'cmds=map_create:prog_load:btf_load', 'maps=array', 'progs=socket_filter', 'attachs=any'],
    {
      outcome: 'EPERM@map_create',
      reason:
        'bpf_token_allow_map_type() fails, the token is ignored, QUEUE needs CAP_BPF in the initial namespace (6.12 syscall.c map_create)',
    },
  ),
  tokenScenario(
    'token-kprobe-delegated',
    'delegate_progs=kprobe: the program type is delegated too',
    ['kprobe', 'delegated', 'cmds=map_create:prog_load:btf_load', 'maps=queue', 'progs=kprobe', 'attachs=any'],
    {
      outcome: 'ok',
      reason:
        'bpf_token_allow_prog_type(KPROBE, attach any) holds, so CAP_BPF and CAP_PERFMON are checked in the token user namespace (kernel/bpf/token.c bpf_token_allow_prog_type: loads; attaching would still need init-namespace perf rights)',
    },
  ),
  tokenScenario(
    'token-self',
    'rootless-container case: the child, root in its own user namespace, sets delegate_* itself',
    ['queue', 'self', ...DEMO],
    {
      outcome: 'EPERM@bpffs_delegate',
      reason:
        'setting delegate_* options needs CAP_SYS_ADMIN in the initial user namespace (kernel/bpf/inode.c bpf_parse_param: capable(CAP_SYS_ADMIN) in the initial namespace; talk l.1122)',
    },
  ),
  tokenScenario(
    'token-seccomp',
    'container-default case: a seccomp filter refuses unshare(2), so the child never gets its user namespace',
    ['queue', 'seccomp', ...DEMO],
    {
      outcome: 'EPERM@unshare',
      reason: "the seccomp filter answers unshare with EPERM, as Docker's default profile does without CAP_SYS_ADMIN",
    },
    false,
  ),
];
