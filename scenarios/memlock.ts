// RLIMIT_MEMLOCK against a 1 MiB map (bpf-src/prog_memlock, through the generic object loader on
// a UDP socket): before memcg accounting of BPF memory (5.11), a map is charged against the uid's
// locked memory, so at 64 KiB a CAP_BPF loader fails unless it may raise the limit
// (CAP_SYS_RESOURCE: libbpf raises it by itself when the kernel lacks the accounting).
import path from 'node:path';
import { defineScenario } from '../harness/dsl/scenario.js';
import { SAMPLES_BUILD_DIR } from '../harness/paths.js';

export default defineScenario({
  name: 'memlock-map',
  description: 'a socket filter with a 1 MiB array map, under each RLIMIT_MEMLOCK',
  object: path.join(SAMPLES_BUILD_DIR, 'prog_memlock.bpf.o'),
  programs: ['big_filter'],
  socket: 'udp',
  axes: {
    caps: [['CAP_BPF'], ['CAP_BPF', 'CAP_SYS_RESOURCE']],
    sysctl: { 'kernel.unprivileged_bpf_disabled': [2] },
    memlock: ['64k', '8m', 'unlimited'],
  },
  expect: [
    {
      until: '5.11',
      when: { memlock: '64k', lacks: ['CAP_SYS_RESOURCE'] },
      outcome: 'EPERM@map_create',
      reason:
        "before 5.11 the map's 1 MiB is charged against RLIMIT_MEMLOCK (bpf_map_charge_memlock), and libbpf cannot raise a 64 KiB hard limit without CAP_SYS_RESOURCE",
    },
    {
      outcome: 'ok',
      reason:
        'the limit holds the map, libbpf raised it (CAP_SYS_RESOURCE, before 5.11), or (5.11 on) BPF memory is charged to the memory cgroup, not RLIMIT_MEMLOCK',
    },
  ],
});
