// sockex1: a SOCKET_FILTER on a raw AF_PACKET socket, counting bytes per IP protocol.
// The talk's first demo (ebpf-rootless-talk.txt lines 108-175 and 513-580).
import { defineScenario } from '../harness/dsl/scenario.js';

export default defineScenario({
  name: 'sockex1',
  sample: 'sockex1',
  description: 'SOCKET_FILTER + ARRAY map on a raw packet socket bound to lo; ok = bytes counted for ICMP, TCP and UDP',
  axes: {
    caps: [[], ['CAP_NET_RAW'], ['CAP_BPF'], ['CAP_BPF', 'CAP_NET_RAW'], 'root'],
    sysctl: { 'kernel.unprivileged_bpf_disabled': [0, 2, 1] },
  },
  expect: [
    {
      when: { caps: 'root' },
      outcome: 'ok',
      reason: 'root has every capability (talk l.170: `sudo ./sockex1` works)',
    },
    {
      when: { sysctl: { 'kernel.unprivileged_bpf_disabled': [1, 2] }, lacks: ['CAP_BPF'] },
      outcome: 'EPERM@probe',
      reason:
        "sysctl≠0 without CAP_BPF: bpf_prog_load() returns EPERM (6.12 kernel/bpf/syscall.c:2695-2711); libbpf's trivial-program probe is the first load to hit it (tools/lib/bpf/libbpf.c bpf_object__probe_loading; talk l.564-573)",
    },
    {
      when: { lacks: ['CAP_NET_RAW'] },
      outcome: 'EPERM@raw_socket',
      reason:
        'the program loads, but socket(AF_PACKET, SOCK_RAW) needs CAP_NET_RAW (net/packet/af_packet.c packet_create; talk l.519)',
    },
    {
      outcome: 'ok',
      reason:
        'SOCKET_FILTER and ARRAY need no capability at sysctl 0, CAP_BPF lifts the sysctl gate at 1/2; CAP_NET_RAW opens the raw socket (talk l.513-519, 553-580; kernel/bpf/syscall.c bpf_prog_load, map_create; net/packet/af_packet.c packet_create)',
    },
  ],
});
