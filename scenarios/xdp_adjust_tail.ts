// xdp_adjust_tail: XDP in generic mode on lo answering oversized ICMP echo requests with
// "fragmentation needed" (talk l.670-857). The program computes `data_end - data`, which the
// verifier allows only with CAP_PERFMON. ok = answers came back and packets were rewritten.
import { defineScenario, type Scenario } from '../harness/dsl/scenario.js';

// The loader's own traffic comes from a ping socket; that needs the gid in ping_group_range,
// which is not what this matrix is about, so root opens it for the cell and closes it after.
const pingSocket = {
  setupScope: 'group' as const,
  setup: [['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']],
  teardown: [['sysctl', '-q', '-w', 'net.ipv4.ping_group_range=1 0']],
};
// iproute2 loads through libbpf and wants a mounted bpffs, which virtme-ng does not mount.
const bpffs = {
  setup: [...pingSocket.setup, ['mount', '-t', 'bpf', 'bpf', '/sys/fs/bpf']],
  teardown: [...pingSocket.teardown, ['umount', '/sys/fs/bpf']],
};
const ubdAll: Scenario['axes']['sysctl'] = { 'kernel.unprivileged_bpf_disabled': [0, 2, 1] };

export default [
  defineScenario({
    name: 'xdp_adjust_tail',
    sample: 'xdp_adjust_tail',
    description: 'libbpf load + bpf_xdp_attach (netlink) in generic mode on lo',
    ...pingSocket,
    axes: {
      caps: [
        [],
        ['CAP_NET_RAW'],
        ['CAP_BPF'],
        ['CAP_BPF', 'CAP_NET_ADMIN'],
        ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'],
        ['CAP_BPF', 'CAP_PERFMON'],
        ['CAP_SYS_ADMIN'],
        ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'],
        'root',
      ],
      sysctl: ubdAll,
      // as a systemd service with User= and AmbientCapabilities= would run it: the same answers
      grant: ['file', 'ambient'],
    },
    expect: [
      { when: { caps: 'root' }, outcome: 'ok', reason: 'root (talk l.856: `sudo ip link set … xdpgeneric` works)' },
      {
        when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [1, 2] }, lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
        outcome: 'EPERM@probe',
        reason:
          "sysctl≠0 without CAP_BPF: libbpf's probe load gets EPERM (tools/lib/bpf/libbpf.c bpf_object__probe_loading; kernel/bpf/syscall.c bpf_prog_load)",
      },
      {
        when: { lacks: ['CAP_BPF', 'CAP_SYS_ADMIN'] },
        outcome: 'EPERM@prog_load',
        reason:
          'XDP is not SOCKET_FILTER/CGROUP_SKB: needs CAP_BPF (6.12 syscall.c:2703; no .rodata, so no 6.1 freeze EPERM)',
      },
      {
        when: { lacks: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'] },
        outcome: 'EPERM@prog_load',
        reason: 'is_net_admin_prog_type(XDP): needs CAP_NET_ADMIN (6.12 syscall.c:2586-2615; talk l.478)',
      },
      {
        when: { lacks: ['CAP_PERFMON', 'CAP_SYS_ADMIN'] },
        outcome: 'EACCES@verifier',
        reason:
          'allow_ptr_leaks = bpf_token_capable(CAP_PERFMON): without it "R3 pointer -= pointer prohibited" (talk l.672-715, 736-769)',
      },
      {
        when: { lacks: ['CAP_NET_ADMIN'] },
        outcome: 'EPERM@xdp_attach',
        reason:
          'CAP_SYS_ADMIN loads it, but the netlink RTM_SETLINK attach checks CAP_NET_ADMIN only (net/core/rtnetlink.c rtnetlink_rcv_msg: netlink_net_capable(CAP_NET_ADMIN))',
      },
      { outcome: 'ok', reason: 'CAP_BPF+CAP_NET_ADMIN+CAP_PERFMON (talk l.718-720)' },
    ],
  }),
  defineScenario({
    name: 'xdp_adjust_tail-iproute2-capsh',
    sample: 'xdp_adjust_tail',
    description:
      "the talk's slide l.812-857: root runs `capsh --drop=cap_perfmon,cap_sys_admin -- ip link set dev lo xdpgeneric obj … sec xdp`",
    args: ['iproute2', 'cap_perfmon,cap_sys_admin'],
    ...bpffs,
    axes: { caps: ['root'], sysctl: { 'kernel.unprivileged_bpf_disabled': [2] } },
    expect: [
      {
        outcome: 'EACCES@verifier',
        reason:
          'root without CAP_PERFMON and CAP_SYS_ADMIN has no allow_ptr_leaks: "R3 pointer -= pointer prohibited" (talk l.817-855)',
      },
    ],
  }),
  defineScenario({
    name: 'xdp_adjust_tail-ip-helper',
    sample: 'xdp_adjust_tail',
    description:
      "the loader (uid 65534) runs the same ip command itself, through capsh dropping nothing: a helper it execs holds what the uid was granted as ambient capabilities, and none of the loader's file capabilities",
    args: ['iproute2', ''],
    ...bpffs,
    axes: {
      caps: [['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_PERFMON'], 'root'],
      sysctl: { 'kernel.unprivileged_bpf_disabled': [2] },
      grant: ['file', 'ambient'],
    },
    expect: [
      {
        when: { caps: 'root' },
        outcome: 'ok',
        reason: 'full root: `sudo ip link set dev lo xdpgeneric obj … sec xdp_icmp` works (talk l.856)',
      },
      {
        when: { grant: 'file' },
        outcome: 'EPERM@prog_load',
        reason:
          "file capabilities stay with the file that has them: capsh and ip, exec'd by the loader, have none (security/commoncap.c cap_bprm_creds_from_file: pP' = (pI & fI) | (fP & bset) | pA'), so at unprivileged_bpf_disabled=2 ip's bpf(2) gets EPERM (kernel/bpf/syscall.c)",
      },
      {
        outcome: 'ok',
        reason:
          "ambient capabilities go through an exec of a file without capabilities (security/commoncap.c: pA' = pA, pP' = pE' = pA'): ip holds CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON, as a systemd service's ExecStart= children do with AmbientCapabilities=",
      },
    ],
  }),
  defineScenario({
    name: 'xdp_adjust_tail-iproute2',
    sample: 'xdp_adjust_tail',
    description: 'the same ip command as full root (talk l.856)',
    args: ['iproute2', ''],
    ...bpffs,
    axes: { caps: ['root'], sysctl: { 'kernel.unprivileged_bpf_disabled': [2] } },
    expect: [
      {
        outcome: 'ok',
        reason: 'full root: `sudo ip link set dev lo xdpgeneric obj … sec xdp_icmp` works (talk l.856)',
      },
    ],
  }),
];
